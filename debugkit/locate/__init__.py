"""Where the element was: put each chosen element on the screenshot the model saw.

Skyvern stores no element coordinates and, since v1.0.42, draws no boxes on ``screenshot_llm``. This
package places elements on the step's tiles, best source first (exact artifact coordinates, then a
re-render of ``html_scrape`` in headless Chromium, then the screenshot itself (iframes, shadow roots, pages whose
stylesheets the scrape lacks), then Skyvern's own legacy overlay) and draws them::

    from debugkit.locate import locate_step, annotate, crop, describe
    locations = locate_step(step)                  # {element_id: Location}, the chosen elements
    overlay = locate_step(step, include_all=True)  # ... plus every interactable element
    annotate(step, overlay, out_dir)               # PNGs with numbered boxes
    picture = crop(step, locations["AAAR"], element_id="AAAR", action="click")
    print(describe(locations["AAAR"], step))

``Location.to_dict()`` is the ``location`` object of ``--json``. Re-rendering needs Debian's Chromium (driven over
its DevTools pipe, :mod:`debugkit.locate.cdp`), and the screenshot search the optional extra ``debugkit[render]``
(numpy, OpenCV); without them every element that needed them gets ``method=None`` and the reason.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from debugkit.analysis.triage import Triage
    from debugkit.locate.core import (
        StepLocator,
        annotate_step,
        chosen_ids,
        find_step,
        interactable_ids,
        locate_actions,
        locate_step,
        locate_steps,
        page_url_of,
        screenshot_set,
    )
    from debugkit.locate.draw import annotate, crop, describe, overlay_items, render_annotated
    from debugkit.locate.model import (
        EXACT,
        FRAME_EXACT,
        FRAME_SCREEN,
        LEGACY,
        METHODS,
        RENDERED,
        SCREEN,
        CoveredBy,
        Location,
        RenderResult,
    )
    from debugkit.locate.render import Renderer, RenderUnavailable, measure_scrape, shutdown, submit_scrape
    from debugkit.model import RunData, StepData

# The names above, imported when first asked for: ``import debugkit.locate.render`` (the CLI starts Chromium with
# it before anything else is read) then costs the renderer's own imports only, not the placing code's (bs4, the
# analysis: about 0.1 s).
_FROM = {
    "debugkit.locate.core": (
        "StepLocator annotate_step chosen_ids find_step interactable_ids locate_actions locate_step locate_steps "
        "page_url_of screenshot_set"
    ),
    "debugkit.locate.draw": "annotate crop describe overlay_items render_annotated",
    "debugkit.locate.model": (
        "EXACT FRAME_EXACT FRAME_SCREEN LEGACY METHODS RENDERED SCREEN CoveredBy Location RenderResult"
    ),
    "debugkit.locate.render": "Renderer RenderUnavailable measure_scrape shutdown submit_scrape",
}
_LAZY = {name: module for module, names in _FROM.items() for name in names.split()}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "EXACT",
    "FRAME_EXACT",
    "FRAME_SCREEN",
    "LEGACY",
    "METHODS",
    "RENDERED",
    "SCREEN",
    "CoveredBy",
    "Location",
    "RenderResult",
    "RenderUnavailable",
    "Renderer",
    "StepLocator",
    "annotate",
    "annotate_step",
    "chosen_ids",
    "crop",
    "describe",
    "find_step",
    "interactable_ids",
    "locate_triage",
    "locate_actions",
    "locate_step",
    "locate_steps",
    "measure_scrape",
    "overlay_items",
    "page_url_of",
    "render_ahead",
    "render_annotated",
    "screenshot_set",
    "shutdown",
    "submit_scrape",
]


AHEAD = 2  # steps re-rendered ahead of the analysis


def likely_shown(run: RunData) -> list[StepData]:
    """The steps with elements to place that the terminal will most likely show, guessed before the analysis: the
    step of the last action that failed, and the last step whose actions name an element (a silent failure usually
    decides there; a last step that only terminates has nothing to place), at most :data:`AHEAD`."""
    named = [step for step in run.steps if any(a.element_id for a in step.actions)]
    failed = [step for step in named if any(a.status == "failed" for a in step.actions)]
    picked: list[StepData] = []
    for step in failed[-1:] + named[-1:]:
        if all(step is not other for other in picked):
            picked.append(step)
    return picked[:AHEAD]


def render_ahead(steps: list[StepData]) -> None:
    """Hand ``steps``' scrapes to the shared browser now, without waiting: the analysis runs while Chromium renders
    them (on a CPU of its own), and placing those steps later collects the same renders (the browser keeps each
    scrape's render pending, then cached). Screenshots that will be read whatever the render shows (see
    :meth:`StepLocator.prefetch`) start being read by Tesseract too. Steps without a scrape, or whose elements need
    no re-render, cost nothing."""
    from debugkit.locate.core import StepLocator, chosen_ids

    for step in steps:
        locator = StepLocator(step, render=True)
        wanted = chosen_ids(step)
        if any(locator.needs_render(element_id) for element_id in wanted):
            locator.start()
            locator.prefetch(wanted, ahead=True)
            locator.release()


def locate_triage(triage: Triage, *, render: bool = True, decisive_only: bool = False) -> None:
    """Place every action's element of the triaged steps on its screenshots (``triage.locations``).

    ``decisive_only``: just the steps the terminal shows: the decisive action's and the failing action's.
    """
    from debugkit.locate.core import locate_actions, locate_steps

    shown = {id(v.step) for v in (triage.diagnosis.decisive, triage.diagnosis.failing.view) if v is not None}
    views = [v for v in triage.steps if v.actions and not (decisive_only and id(v.step) not in shown)]
    found = locate_steps([view.step for view in views], render=render)  # all steps at once, one browser
    for view, located in zip(views, found, strict=True):
        for index, location in locate_actions(view.step, located, render=render).items():
            triage.locations[(view.step.step_id, index)] = location

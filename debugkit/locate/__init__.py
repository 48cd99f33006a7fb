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

``Location.to_dict()`` is the ``location`` object of ``--json``. Rendering needs the optional extra
``debugkit[render]`` (Playwright) and Chromium at ``/usr/bin/chromium``; without them every element
that needed a re-render gets ``method=None`` and the reason.
"""

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
    "render_annotated",
    "screenshot_set",
    "shutdown",
    "submit_scrape",
]


def locate_triage(triage: Triage, *, render: bool = True, decisive_only: bool = False) -> None:
    """Place every action's element of the triaged steps on its screenshots (``triage.locations``).

    ``decisive_only``: just the steps the terminal shows: the decisive action's and the failing action's.
    """
    shown = {id(v.step) for v in (triage.diagnosis.decisive, triage.diagnosis.failing.view) if v is not None}
    views = [v for v in triage.steps if v.actions and not (decisive_only and id(v.step) not in shown)]
    found = locate_steps([view.step for view in views], render=render)  # all steps at once, one browser
    for view, located in zip(views, found, strict=True):
        for index, location in locate_actions(view.step, located, render=render).items():
            triage.locations[(view.step.step_id, index)] = location

"""Locating whole runs: which steps each command locates, several scrapes rendered at once by one browser, and
several steps placed at once with the same result as one after another."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

try:  # tests/ on sys.path (pytest's default rootdir-less import), or tests/ as a package
    from browser import require_browser
except ImportError:  # pragma: no cover
    from tests.browser import require_browser

from debugkit.load import load_run
from debugkit.locate import Renderer, locate_step, locate_steps
from debugkit.locate.core import StepLocator
from debugkit.locate.render import PAGES
from debugkit.model import StepData
from debugkit.pipeline import prepare, read
from debugkit.sources import open_source

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "fixtures" / "real"
RECORDED = ROOT / "fixtures" / "recorded"


@functools.cache
def _steps(page: str) -> list[StepData]:
    return load_run(open_source(str(RECORDED / page))).steps


def _scrape(page: str) -> tuple[str, tuple[int, int]]:
    step = _steps(page)[0]
    locator = StepLocator(step)
    assert step.html_scrape is not None and locator.viewport is not None
    return step.html_scrape.text, locator.viewport


def test_pages_rendered_at_once_default():
    assert 1 <= PAGES <= 3


@pytest.mark.parametrize("run", ["disabled_button", "overlay_click_js_noop", "llm_truncated_json"])
def test_triage_locates_the_steps_it_shows_and_report_every_step(run: str):
    """The terminal's triage places the decisive and the failing action's steps only; the report every step
    with actions (and every interactable element of it for the overlay)."""
    shown = prepare(read(REAL / run), locate="decisive", render=False).analysis
    views = [view for view in shown.steps if view.actions]
    assert len(views) == 4
    wanted = {v.step.step_id for v in (shown.diagnosis.decisive, shown.diagnosis.failing.view) if v is not None}
    assert wanted and {step_id for step_id, _ in shown.locations} == wanted
    report = prepare(read(REAL / run), locate="report", render=False)
    assert {step_id for step_id, _ in report.analysis.locations} == {v.step.step_id for v in views}
    assert report.overlays is not None and set(report.overlays) == {v.step.step_id for v in views}


def test_several_pages_render_scrapes_at_once_with_the_same_boxes():
    require_browser()
    pages = ["long_form", "modal", "iframe"]
    with Renderer(pages=1) as one:
        alone = [one.measure(html, None, viewport) for html, viewport in map(_scrape, pages)]
    with Renderer(pages=3) as several:
        futures = [several.submit(html, None, viewport) for html, viewport in map(_scrape, pages)]
        together = [future.result() for future in futures]
        assert several._opened == 3  # three pages of the one browser, not one after another
    for first, second in zip(alone, together, strict=True):
        assert first.page_height == second.page_height
        assert {i: e.box for i, e in first.elements.items()} == {i: e.box for i, e in second.elements.items()}


def test_steps_placed_together_as_one_after_another():
    """locate_steps (renders started ahead, two steps placed at once) finds what locate_step finds step by step."""
    require_browser()
    steps = [_steps(page)[0] for page in ("long_form", "iframe", "external_css", "legacy_overlay", "modal")]
    with Renderer(pages=1) as one:
        alone = [locate_step(step, include_all=True, renderer=one) for step in steps]
    with Renderer(pages=3) as several:
        together = locate_steps(steps, include_all=True, renderer=several, workers=2)
    for first, second in zip(alone, together, strict=True):
        assert set(first) == set(second)
        for element_id, location in first.items():
            other = second[element_id]
            assert (location.method, location.tile, location.box) == (other.method, other.tile, other.box), element_id

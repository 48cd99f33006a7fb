"""Locating whole runs: which steps each command locates, several scrapes rendered at once by one browser, and
several steps placed at once with the same result as one after another."""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import pytest

try:  # tests/ on sys.path (pytest's default rootdir-less import), or tests/ as a package
    from browser import require_browser
except ImportError:  # pragma: no cover
    from tests.browser import require_browser

from debugkit.load import load_run
from debugkit.locate import Renderer, likely_shown, locate_step, locate_steps
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


@pytest.mark.parametrize("run", ["login_401", "card_declined_iframe", "disabled_button", "checkout_500", "signup_422"])
def test_the_steps_rendered_ahead_are_the_ones_triage_shows(run: str):
    """Before the analysis, triage guesses which steps it will show (to render them meanwhile): the guess holds every
    step with an element that the terminal then shows, and skips a last step that only terminates."""
    prepared = prepare(read(REAL / run), locate="none", render=False)
    diagnosis = prepared.analysis.diagnosis
    shown = {v.step.step_id for v in (diagnosis.decisive, diagnosis.failing.view) if v is not None and v.step.actions}
    shown = {i for i in shown if any(a.element_id for s in prepared.run.steps if s.step_id == i for a in s.actions)}
    guessed = likely_shown(prepared.run)
    assert shown and shown <= {step.step_id for step in guessed}
    assert len(guessed) <= 2 and all(any(a.element_id for a in step.actions) for step in guessed)


def test_triage_renders_the_likely_steps_while_it_analyses_each_once(monkeypatch: pytest.MonkeyPatch):
    """The decisive step's scrape is handed to Chromium before the analysis starts, rendered once (placing it
    afterwards collects that render), and the places found are those found without rendering ahead."""
    require_browser()
    import debugkit.locate as locate_package
    import debugkit.pipeline as pipeline
    from debugkit.locate import render

    renderer = render.shared_renderer()
    measured: list[str] = []
    measure = render.Renderer._measure

    async def counting(self, html, *args, **kwargs):  # noqa: ANN001, ANN202 - the wrapped method's own signature
        measured.append(html)
        return await measure(self, html, *args, **kwargs)

    at_analysis: list[int] = []
    analyse = pipeline.analyse

    def analysing(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        with renderer._lock:
            at_analysis.append(len(renderer._pending) + len(renderer._cache))
        return analyse(*args, **kwargs)

    monkeypatch.setattr(render.Renderer, "_measure", counting)
    monkeypatch.setattr(pipeline, "analyse", analysing)
    renderer.clear_cache()
    ahead = prepare(read(REAL / "login_401"), locate="decisive")
    decisive = ahead.analysis.diagnosis.decisive
    assert decisive is not None and decisive.step.html_scrape is not None
    assert at_analysis == [1]  # the login step's scrape, started before the analysis
    assert measured == [decisive.step.html_scrape.text]  # rendered once, though started twice

    monkeypatch.setattr(locate_package, "render_ahead", lambda steps: None)
    renderer.clear_cache()
    measured.clear()
    plain = prepare(read(REAL / "login_401"), locate="decisive")
    assert len(measured) == 1
    found = {key: (loc.method, loc.tile, loc.box) for key, loc in ahead.analysis.locations.items()}
    assert found and found == {key: (loc.method, loc.tile, loc.box) for key, loc in plain.analysis.locations.items()}


def test_a_screenshot_read_whatever_the_render_shows_starts_ahead_and_is_read_once(monkeypatch: pytest.MonkeyPatch):
    """A one-screenshot step whose scrape links a stylesheet it lacks will be read by Tesseract whatever its re-render
    shows: rendering it ahead starts that read too, and placing the step then uses it instead of reading again."""
    require_browser()
    from debugkit.locate import onscreen, render, render_ahead

    step = _steps("external_css")[0]
    reads: list[tuple[int, int, int, int]] = []
    preparers: list[threading.Thread] = []
    prepare = onscreen.OnScreen._prepare  # every read makes its picture once

    def counting(self, image, region, *args):  # noqa: ANN001, ANN202 - the wrapped method's own signature
        reads.append(region)
        preparers.append(threading.current_thread())
        return prepare(self, image, region, *args)

    monkeypatch.setattr(onscreen.OnScreen, "_prepare", counting)
    with onscreen._reads_lock:
        onscreen._reads.clear()
    render.shared_renderer().clear_cache()
    render_ahead([step])
    shot = step.screenshots_llm[StepLocator(step).shots[0][0]]
    with onscreen._reads_lock:
        assert len(onscreen._reads) == 1  # the whole screenshot, handed to a reader before any placing
    # its picture made by the thread that asked, before its own work (the analysis): the reader only waits for
    # Tesseract
    assert preparers == [threading.current_thread()]
    located = locate_step(step)
    assert reads == [(0, 0, shot.width, shot.height)]
    assert any(location.method == "screen" for location in located.values())

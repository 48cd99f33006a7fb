"""debugkit.locate: where each chosen element was on the screenshots the model saw.

The first half needs no browser: the tile geometry, the overlap measurement, the legacy-overlay
detector, exact coordinates, the reasons given when nothing works, the HTML preparation. The second
half re-renders the recorded fixtures (``fixtures/recorded/``, written by ``fixtures/recorder/record.py``)
in Debian's Chromium and compares the boxes with the true ones in each ``truth.json``.
"""

from __future__ import annotations

import copy
import functools
import http.server
import io
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageDraw

from debugkit.errors import UsageError

try:  # tests/ on sys.path (pytest's default rootdir-less import), or tests/ as a package
    from browser import require_browser
except ImportError:  # pragma: no cover
    from tests.browser import require_browser

from debugkit.load import load_run
from debugkit.locate import (
    EXACT,
    LEGACY,
    RENDERED,
    SCREEN,
    Location,
    Renderer,
    annotate,
    annotate_step,
    crop,
    describe,
    find_step,
    locate_actions,
    locate_step,
    overlay_items,
)
from debugkit.locate import exact as exact_mod
from debugkit.locate import legacy as legacy_mod
from debugkit.locate import overlap as overlap_mod
from debugkit.locate.render import prepare_html
from debugkit.locate.tiles import TileSet, iou, offsets_from_shifts, place, rule_offsets
from debugkit.model import Action, StepData
from debugkit.sources import open_source

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT / "fixtures" / "recorded"
PAGES = [
    "long_form",
    "disabled_button",
    "iframe",
    "modal",
    "legacy_overlay",
    "tall_page",
    "tall_page_1080",
    "xorigin_iframe",
    "external_css",
]
IOU_OK = 0.7


@functools.cache
def _run(page: str):
    return load_run(open_source(str(RECORDED / page)))


def step_of(page: str) -> StepData:
    """A private copy of the recorded page's step (tests may change it)."""
    return copy.deepcopy(_run(page).steps[0])


def truth_of(page: str) -> dict[str, Any]:
    return json.loads((RECORDED / page / "truth.json").read_text())


def true_box_on(truth: dict[str, Any], element_id: str, tile: int) -> tuple[float, float, float, float]:
    """The element's true box on screenshot ``tile`` (an index into the step's screenshot_llm, clipped to it)."""
    info = truth["elements"][element_id]
    width, height = truth["viewport"]
    x, y, w, h = info["box"]
    indices = truth.get("screenshot_llm") or list(range(len(truth["tile_offsets"])))
    if tile not in indices:
        return (0.0, 0.0, 0.0, 0.0)  # a screenshot of another LLM call: not where the model chose
    if not info["fixed"]:
        y -= truth["tile_offsets"][indices.index(tile)]
    x0, y0 = max(0.0, x), max(0.0, y)
    x1, y1 = min(width, x + w), min(height, y + h)
    return (x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0))


# --- tiles: pure geometry ---------------------------------------------------------------------


def test_rule_offsets_follow_the_documented_scroll():
    assert rule_offsets(800, 800) == [0.0]  # not scrollable: one tile
    assert rule_offsets(500, 800) == [0.0]
    assert rule_offsets(2174, 800) == [0.0, 600.0, 1200.0, 1374.0]  # last one clamped to the bottom
    assert rule_offsets(1420, 800) == [0.0, 600.0]  # the clamped scroll would move 20 px: no tile
    assert rule_offsets(1426, 800) == [0.0, 600.0, 626.0]  # 26 px: one more
    assert len(rule_offsets(100_000, 800)) == 10  # MAX_NUM_SCREENSHOTS
    assert rule_offsets(3000, 1080)[:3] == [0.0, 880.0, 1760.0]  # the 1920x1080 default
    with pytest.raises(ValueError):
        rule_offsets(1000, 0)


@pytest.mark.parametrize("page", PAGES)
def test_rule_offsets_match_the_recorded_scrolling(page):
    truth = truth_of(page)
    assert truth["tile_offsets"] == rule_offsets(truth["page_height"], truth["viewport"][1])


def _tiles(offsets, viewport=(1280, 800)):
    return TileSet(
        indices=list(range(len(offsets))), offsets=list(offsets), viewport=viewport, measured=[True] * len(offsets)
    )


def test_place_picks_the_first_tile_showing_all_of_the_element():
    tiles = _tiles([0, 600, 1200, 1374])
    # In the 200 px overlap of tiles 0 and 1: tile 0 shows all of it.
    placed = place((100, 650, 200, 40), tiles)
    assert (placed.position, placed.box, placed.inside) == (0, (100, 650, 200, 40), True)
    # Straddling tile 0's bottom, fully on tile 1.
    placed = place((100, 780, 200, 40), tiles)
    assert (placed.position, placed.box) == (1, (100, 180, 200, 40))
    # Near the page bottom: only the clamped last tile shows it.
    placed = place((10, 2100, 50, 30), tiles)
    assert (placed.position, placed.box) == (3, (10, 726, 50, 30))
    # Below every tile.
    assert place((10, 2300, 50, 30), tiles) is None


def test_place_partly_visible_element_and_fixed_element():
    tiles = _tiles([0])
    placed = place((0, 780, 100, 40), tiles)  # half below the only tile
    assert placed.position == 0 and placed.box == (0, 780, 100, 20) and not placed.inside
    assert placed.visible == pytest.approx(0.5)
    scrolled = _tiles([0, 600])
    # A fixed element stays at its viewport position: first tile, same box.
    assert place((400, 150, 300, 200), scrolled, fixed=True).box == (400, 150, 300, 200)


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
    assert iou((0, 0, 0, 0), (0, 0, 0, 0)) == 0.0


def test_offsets_from_shifts_falls_back_to_the_rule():
    assert offsets_from_shifts([600.0, 600.0, 174.0], 800, None) == ([0, 600, 1200, 1374], [True] * 4)
    offsets, measured = offsets_from_shifts([None, None], 800, 1700)
    assert offsets == [0, 600, 900] and measured == [True, False, False]  # clamped to 1700 - 800


# --- overlap: scroll offsets from the screenshots ---------------------------------------------


def test_overlap_measures_the_recorded_scroll_steps():
    step = step_of("long_form")
    signatures = [overlap_mod.signature(s.data) for s in step.screenshots_llm]
    count, shifts = overlap_mod.split_first_set(signatures)
    truth = truth_of("long_form")
    assert count == 4
    assert [0.0] + list(__import__("itertools").accumulate(shifts)) == truth["tile_offsets"]


def test_overlap_finds_where_the_next_screenshot_set_starts():
    step = step_of("long_form")
    shots = step.screenshots_llm
    # A second LLM call's set (same page, scrolled from the top again) right after the first.
    signatures = [overlap_mod.signature(s.data) for s in shots + shots[:2]]
    count, _ = overlap_mod.split_first_set(signatures)
    assert count == 4
    # One-tile sets of a page that does not scroll: each set is one tile.
    single = step_of("disabled_button").screenshots_llm[0]
    count, shifts = overlap_mod.split_first_set([overlap_mod.signature(single.data)] * 2)
    assert (count, shifts) == (1, [])


def test_overlap_on_blank_tiles_trusts_the_page_height():
    blank = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(blank, "PNG")
    signature = overlap_mod.signature(blank.getvalue())
    assert overlap_mod.measure_shift(signature, signature).decided is False
    assert overlap_mod.split_first_set([signature] * 3, expected_count=2) == (2, [None])
    assert overlap_mod.split_first_set([signature] * 3, expected_count=None) == (1, [])
    assert overlap_mod.signature(b"not an image") is None


# --- legacy overlay ---------------------------------------------------------------------------


def test_legacy_overlay_found_on_the_recorded_legacy_screenshot():
    step = step_of("legacy_overlay")
    found = legacy_mod.find_boxes(step.screenshots_llm[0].data)
    assert found.present
    groups = [tuple(g["box"]) for g in truth_of("legacy_overlay")["legacy_overlay_groups"]]
    matched = [g for g in groups if any(iou(g, box) > 0.9 for box in found.boxes)]
    assert len(matched) >= len(groups) - 1  # a box around blue link text may be missed
    assert all(any(iou(box, g) > 0.9 for g in groups) for box in found.boxes)  # nothing invented


@pytest.mark.parametrize("page", ["long_form", "disabled_button", "iframe", "modal"])
def test_no_legacy_overlay_on_plain_screenshots(page):
    for shot in step_of(page).screenshots_llm:
        assert legacy_mod.find_boxes(shot.data).boxes == []


def test_legacy_overlay_synthetic_boxes_and_labels():
    image = Image.new("RGB", (600, 400), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    boxes = [(40, 40, 200, 30), (40, 100, 120, 40), (300, 100, 150, 150), (40, 300, 60, 16)]
    for x, y, w, h in boxes:
        draw.rectangle([x, y, x + w - 1, y + h - 1], outline=(0, 0, 255), width=2)
        draw.text((x + 1, y - 6), "AAAB", fill=(20, 20, 20))  # a label over the top edge
    draw.text((320, 300), "blue text is no box", fill=(0, 0, 238))
    found = legacy_mod.find_boxes(image)
    assert sorted(found.boxes) == sorted(boxes)
    assert legacy_mod.match(found.boxes, (42, 102, 116, 36))[0] == (40, 100, 120, 40)
    assert legacy_mod.find_boxes(b"\x89PNG broken").boxes == []


# --- exact coordinates ------------------------------------------------------------------------


def test_box_of_reads_every_bounding_box_shape():
    assert exact_mod.box_of({"rect": {"x": 10, "y": 20, "width": 30, "height": 40}}) == (10, 20, 30, 40)
    assert exact_mod.box_of({"bbox": [1, 2, 3, 4]}) == (1, 2, 3, 4)
    assert exact_mod.box_of({"bounding_box": {"left": 5, "top": 6, "right": 15, "bottom": 26}}) == (5, 6, 10, 20)
    assert exact_mod.box_of({"boundingBox": {"x": 1, "y": 2, "width": 3, "height": 4}}) == (1, 2, 3, 4)
    assert exact_mod.box_of({"x": 1, "y": 2, "width": 3, "height": 4, "scrollY": 100}) == (1, 102, 3, 4)
    assert exact_mod.box_of({"rect": {"x": 1, "y": 2, "width": 3, "height": 4, "scrollX": 7, "scrollY": 9}}) == (
        8,
        11,
        3,
        4,
    )
    for bad in [
        None,
        {},
        {"rect": "x"},
        {"bbox": [1, 2, "a", 4]},
        {"rect": {"x": 1, "y": 2, "width": -3, "height": 4}},
        {"bbox": [1, 2, float("nan"), 4]},
        {"bbox": [1, 2, 0, 0]},
        {"x": True, "y": 2, "width": 3, "height": 4},
    ]:
        assert exact_mod.box_of(bad) is None


def test_computer_use_click_point_is_exact():
    step = step_of("disabled_button")
    action = Action(step_id=step.step_id, index=5, action_type="click", element_id=None)
    action.x, action.y = 640.0, 452.5  # what a CUA click carries (Action has no such fields yet)
    step.actions.append(action)
    located = locate_actions(step, {}, render=False)
    point = located[5]
    assert (point.method, point.tile, point.box, point.confidence) == (EXACT, 0, (640, 452, 0, 0), 1.0)
    assert point.is_point and "click point" in point.reason
    assert exact_mod.point_of({"x": 3, "y": 4}) == (3.0, 4.0)
    assert exact_mod.point_of({"x": -1, "y": 4}) is None
    outside = Action(step_id=step.step_id, index=6, action_type="click")
    outside.x, outside.y = 5000, 10
    step.actions.append(outside)
    assert locate_actions(step, {}, render=False)[6].method is None


def test_element_with_its_own_box_is_exact_without_rendering():
    step = step_of("long_form")
    truth = truth_of("long_form")
    element_id = "AABG"  # the submit button, on the last (clamped) tile
    x, y, w, h = truth["elements"][element_id]["box"]
    step.actions[-1].element_data = {
        "id": element_id,
        "tagName": "button",
        "rect": {"x": x, "y": y, "width": w, "height": h},
    }
    located = locate_step(step, render=False, ids=[element_id])[element_id]
    assert located.method == EXACT and located.confidence == 1.0  # offsets measured from the overlap
    assert located.tile == 3
    assert iou(located.box, true_box_on(truth, element_id, 3)) > 0.95


# --- why nothing could be placed ------------------------------------------------------------


def test_reasons_when_an_element_cannot_be_placed():
    step = step_of("iframe")
    found = locate_step(step, render=False, ids=["BAAC", "CAAC", "AAAK", "xQ7z", "AAAN"])
    assert found["BAAC"].method is None and "inside iframe AAAG" in found["BAAC"].reason
    assert "main frame only" in found["BAAC"].reason
    assert "nested: AAAG > BAAG" in found["CAAC"].reason
    assert found["AAAK"].method is None and "shadow DOM" in found["AAAK"].reason  # without a render: unknown
    assert found["xQ7z"].method is None and "not in this step's scrape" in found["xQ7z"].reason
    assert found["AAAN"].method is None and "switched off" in found["AAAN"].reason
    step.html_scrape = None
    assert "no html_scrape" in locate_step(step, render=False, ids=["AAAN"])["AAAN"].reason
    step = step_of("iframe")
    step.screenshots_llm = []
    assert "no readable screenshot_llm" in locate_step(step, ids=["AAAN"])["AAAN"].reason


def test_no_chromium_gives_a_reason_not_an_error(tmp_path):
    step = step_of("disabled_button")
    with Renderer(executable=str(tmp_path / "no-such-chromium")) as renderer:
        found = locate_step(step, renderer=renderer)
    assert found["AAAM"].method is None
    assert "cannot re-render" in found["AAAM"].reason and "no Chromium" in found["AAAM"].reason


def test_legacy_screenshots_are_named_even_without_a_render(tmp_path):
    step = step_of("legacy_overlay")
    found = locate_step(step, render=False)["AAAM"]
    assert found.method == LEGACY and found.box is None and "Skyvern's own numbered boxes" in found.reason
    assert found.to_dict()["method"] == "legacy"


def test_unreadable_first_screenshot_means_unknown_offsets():
    step = step_of("long_form")
    step.screenshots_llm[0].data = None
    step.screenshots_llm[0].error = "truncated image"
    located = locate_step(step, render=False, ids=["AABG"])["AABG"]
    assert located.method is None and "switched off" in located.reason
    step.actions[-1].element_data = {"id": "AABG", "rect": [260, 2019, 195, 40]}
    located = locate_step(step, render=False, ids=["AABG"])["AABG"]
    assert located.method is None and "first screenshot_llm is unreadable" in located.reason


def test_find_step():
    run = load_run(open_source(str(ROOT / "fixtures" / "real" / "checkout_500")))
    assert find_step(run, "stp_602253551477118194").order == 1
    assert find_step(run, "2.0").order == 2
    assert find_step(run, "2").order == 2
    with pytest.raises(UsageError, match="steps are: 0.0 \\(stp_"):
        find_step(run, "stp_nope")


def test_annotate_step_draws_a_click_point(tmp_path):
    run = copy.deepcopy(_run("disabled_button"))
    step = run.steps[0]
    action = Action(step_id=step.step_id, index=1, action_type="click")
    action.x, action.y = 100, 600
    step.actions.append(action)
    written, locations = annotate_step(run, step.step_id, tmp_path, render=False)
    assert [p.name for p in written] == [f"00_0_{step.step_id}_screenshot_llm_0.png"]
    assert locations["@1"].box == (100, 600, 0, 0)
    original = Image.open(io.BytesIO(step.screenshots_llm[0].data)).convert("RGB")
    drawn = Image.open(written[0]).convert("RGB")
    assert ImageChops.difference(original.crop((80, 580, 120, 620)), drawn.crop((80, 580, 120, 620))).getbbox()


def test_location_json_shape():
    location = Location(RENDERED, 1, (1, 2, 3, 4), 0.876, "re-rendered")
    location.others = [(0, (1, 2, 3, 4))]
    assert location.to_dict() == {
        "method": "rendered",
        "tile": 1,
        "box": [1, 2, 3, 4],
        "confidence": 0.88,
        "reason": "re-rendered",
        "covered_by": None,
        "frame_method": None,
        "checked": False,
    }
    assert Location.unknown("why").to_dict() == {
        "method": None,
        "tile": None,
        "box": None,
        "confidence": None,
        "reason": "why",
        "covered_by": None,
        "frame_method": None,
        "checked": False,
    }
    json.dumps(location.to_dict())


def test_describe_for_the_terminal():
    step = step_of("long_form")
    text = describe(Location(RENDERED, 3, (260, 645, 195, 40), 0.9, "x"), step)
    assert text == (
        "screenshot 4 of 4, x 260-455, y 645-685 of 1280x800 (bottom left) [approximate, re-rendered, confidence 0.90]"
    )
    assert describe(Location.unknown("inside iframe AAAG")) == "location unknown: inside iframe AAAG"
    assert describe(None) == "location unknown"


# --- preparing the scrape for the browser ---------------------------------------------------


def test_prepare_html_injects_base_and_strips_what_would_reach_out():
    html = (
        '<!DOCTYPE html><html><head><meta http-equiv="refresh" content="0;url=http://evil.test/">'
        '<link rel="preconnect" href="http://evil.test"><link rel=dns-prefetch href="//evil.test">'
        "<title>x</title></head><body>hi</body></html>"
    )
    out = prepare_html(html, "https://shop.test/a?b=1&c=2")
    assert out.startswith('<!DOCTYPE html><html><head><base href="https://shop.test/a?b=1&amp;c=2">')
    assert "refresh" not in out and "preconnect" not in out and "dns-prefetch" not in out
    assert "noscript{display:none" in out
    assert "<base" not in prepare_html(html, "javascript:alert(1)")
    assert "<base" not in prepare_html(html, 'https://a.test/"><script>x</script>')
    assert "<base" not in prepare_html(html, None)
    assert prepare_html("<!doctype html><p>x", "http://a.test/").startswith(
        '<!doctype html><base href="http://a.test/">'
    )
    assert prepare_html("<html><body>x", None).startswith("<html><head><style>")


# --- with the browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def renderer():
    require_browser()
    with Renderer() as shared:
        yield shared


@pytest.fixture(scope="module")
def located(renderer):
    """Every recorded page's step located (all interactable elements). Timings belong in bench/locate.py."""
    out = {}
    for page in PAGES:
        step = step_of(page)
        out[page] = (step, locate_step(step, include_all=True, renderer=renderer), None)
    return out


def _score(page: str, found: dict[str, Location]) -> tuple[int, int, list[str]]:
    """(interactable, located with IoU >= 0.7, the misses)."""
    truth = truth_of(page)
    total = good = 0
    misses = []
    for element_id, info in truth["elements"].items():
        if not info["interactable"]:
            continue
        total += 1
        location = found.get(element_id)
        if (
            location is not None
            and location.found
            and iou(location.box, true_box_on(truth, element_id, location.tile)) >= IOU_OK
        ):
            good += 1
        else:
            misses.append(element_id)
    return total, good, misses


# Elements the recorded pages are allowed to miss (none: block-level labels inside iframes are now as wide as
# the iframe's content box).
KNOWN_MISSES: dict[str, set[str]] = {}


def test_boxes_match_the_true_ones_on_every_page(located):
    total = good = 0
    for page in PAGES:
        _, found, _ = located[page]
        page_total, page_good, misses = _score(page, found)
        total += page_total
        good += page_good
        unexpected = set(misses) - KNOWN_MISSES.get(page, set())
        assert len(unexpected) <= max(1, page_total // 20), f"{page}: placed wrongly: {sorted(unexpected)}"
    assert good / total >= 0.95, f"{good}/{total} interactable elements with IoU >= {IOU_OK}"


def test_every_chosen_element_is_placed(located):
    for page in PAGES:
        step, found, _ = located[page]
        truth = truth_of(page)
        for element_id in truth["chosen"]:
            location = found[element_id]
            assert location.method in (RENDERED, LEGACY, SCREEN), (page, element_id, location)
            assert iou(location.box, true_box_on(truth, element_id, location.tile)) >= 0.8, (page, element_id, location)
            assert location.confidence >= 0.5, location


def test_the_action_extraction_calls_tiles_are_used(located):
    # tall_page's step has three LLM calls: a goal check (1 screenshot), extract-actions (7), a completion
    # check (1). The model chose from the second set; the send button is on its last tile.
    step, found, _ = located["tall_page"]
    truth = truth_of("tall_page")
    assert [s.llm_call for s in step.screenshots_llm] == [0, 1, 1, 1, 1, 1, 1, 1, 2]
    assert step.actions_call == 1 and truth["screenshot_llm"] == [1, 2, 3, 4, 5, 6, 7]
    send = found[truth["chosen"][-1]]
    assert send.method == RENDERED and send.tile == 7
    assert iou(send.box, true_box_on(truth, truth["chosen"][-1], 7)) > 0.9


def test_cross_origin_iframe_elements_are_found_inside_the_iframe(located):
    _, found, _ = located["xorigin_iframe"]
    truth = truth_of("xorigin_iframe")
    for element_id in truth["chosen"]:  # card number, expiry, CVC, the Pay button: all B... ids
        location = found[element_id]
        assert element_id.startswith("B") and location.method == SCREEN and location.frame_method == "screen"
        assert "inside iframe AAAH" in location.reason and location.to_dict()["frame_method"] == "screen"
        assert iou(location.box, true_box_on(truth, element_id, location.tile)) >= 0.9


def test_page_without_its_stylesheet_is_read_from_the_screenshot(located):
    _, found, _ = located["external_css"]
    truth = truth_of("external_css")
    for element_id in truth["chosen"]:
        location = found[element_id]
        assert location.method == SCREEN, location
        assert "stylesheet(s) of the page are not in the scrape" in location.reason
        assert iou(location.box, true_box_on(truth, element_id, location.tile)) >= 0.9


def test_an_element_under_a_dialog_is_said_to_be_covered(located):
    step, found, _ = located["modal"]
    subscribe = found["AAAJ"]  # under the fixed backdrop of the privacy dialog
    assert subscribe.covered_by is not None and subscribe.covered_by.fixed and subscribe.covered_by.tag == "div"
    assert "covered by <div>" in subscribe.reason
    assert subscribe.to_dict()["covered_by"] == {"element_id": None, "tag": "div", "text": "", "fixed": True}
    assert found["AAAV"].covered_by is None  # the dialog's own button is on top
    picture = crop(step, subscribe, element_id="AAAJ", action="click")
    assert picture is not None
    assert "covered by <div>" in describe(subscribe, step)


def test_content_built_by_scripts_moves_the_box_to_the_screenshot(located):
    # The shadow-DOM promo widget is empty without scripts, so everything below it renders 52 px too
    # high; the pixel check finds the Pay button where the screenshot shows it.
    _, found, _ = located["iframe"]
    pay = found["AAAN"]
    assert pay.method == RENDERED and "moved +0, +52 px" in pay.reason
    assert iou(pay.box, true_box_on(truth_of("iframe"), "AAAN", pay.tile)) > 0.95


def test_iframe_reason_names_where_the_iframe_is():
    step = step_of("iframe")
    found = locate_step(step, render=False, ids=["BAAC"])["BAAC"]
    assert found.method is None and "inside iframe AAAG" in found.reason


def test_legacy_screenshot_box_is_skyverns_own(located):
    _, found, _ = located["legacy_overlay"]
    chosen = found["AAAM"]
    assert chosen.method == LEGACY and chosen.box == (420, 433, 440, 40)


def test_real_skyvern_screenshot_matches(renderer):
    run = load_run(open_source(str(ROOT / "fixtures" / "real" / "checkout_500")))
    found = locate_step(run.steps[0], renderer=renderer)
    place_order = found["AAAH"]
    assert place_order.method == RENDERED and place_order.box == (40, 236, 112, 35)
    assert "matches the screenshot's pixels" in place_order.reason
    later = locate_step(run.steps[1], renderer=renderer)["AAAE"]  # typed text inside, page state changed
    assert later.box == (40, 150, 177, 21) and later.confidence >= 0.8


def test_annotate_draws_around_the_chosen_element(located, tmp_path):
    step, found, _ = located["long_form"]
    written = annotate(step, found, tmp_path)
    assert len(written) == 4 and all(p.suffix == ".png" for p in written)
    chosen = found["AABG"]
    x, y, w, h = chosen.box
    original = Image.open(io.BytesIO(step.screenshots_llm[chosen.tile].data)).convert("RGB")
    drawn = Image.open(written[chosen.tile]).convert("RGB")
    assert drawn.size == original.size
    ring = (max(0, x - 8), max(0, y - 8), x + w + 8, y + h + 8)
    assert ImageChops.difference(original.crop(ring), drawn.crop(ring)).getbbox() is not None
    far = (1100, 0, 1280, 40)  # nothing drawn in the empty top right corner
    assert ImageChops.difference(original.crop(far), drawn.crop(far)).getbbox() is None
    picture = crop(step, chosen, element_id="AABG", action="click")
    with Image.open(io.BytesIO(picture)) as image:
        assert image.format == "PNG" and image.width <= 640
    assert crop(step, Location.unknown("x")) is None


def test_overlay_items_are_percentages(located):
    step, found, _ = located["disabled_button"]
    items = {i["element_id"]: i for i in overlay_items(step, found)}
    assert items["AAAM"]["chosen"] is True and items["AAAE"]["chosen"] is False
    assert items["AAAM"]["percent"] == [32.812, 54.125, 34.375, 5.0]


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        type(self).hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"body { margin-top: 500px }")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def test_rendering_loads_nothing_and_runs_no_page_script(renderer):
    _CountingHandler.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    html = f"""<!DOCTYPE html><html><head>
      <link rel="stylesheet" href="{base}/style.css"><link rel="preconnect" href="{base}">
      <script src="{base}/app.js"></script>
      <script>document.addEventListener("DOMContentLoaded", () => document.body.innerHTML = "hijacked");</script>
      <meta http-equiv="refresh" content="0;url={base}/away">
      </head><body><noscript><div style="height:300px">enable JavaScript</div></noscript>
      <div unique_id="AAAE">first</div><button unique_id="AAAB">Go</button><img src="relative.png" unique_id="AAAC">
      <iframe src="{base}/frame" unique_id="AAAD"></iframe><object data="{base}/obj"></object>
      <div style="background:url({base}/bg.png)">x</div></body></html>"""
    try:
        result = renderer.measure(html, f"{base}/page", (1280, 800))
        time.sleep(0.3)
    finally:
        server.shutdown()
        server.server_close()
    assert _CountingHandler.hits == []
    urls = [url for _, url in result.blocked]
    assert f"{base}/style.css" in urls and f"{base}/relative.png" in urls  # resolved against <base href>
    assert result.blocked_stylesheets == 1
    assert result.elements["AAAB"].text == "Go"  # the page script did not run
    assert result.elements["AAAE"].box[1] == 8  # noscript hidden, the stylesheet's margin never applied

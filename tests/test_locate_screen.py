"""The pieces of debugkit.locate's screenshot search on synthetic pictures (no browser): Skyvern's id schemes and
the legacy overlay keyed to them, block-level labels' width, a backdrop's veil, the picture OCR reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from debugkit.load import load_run
from debugkit.locate import StepLocator
from debugkit.locate import legacy as legacy_mod
from debugkit.locate.align import align
from debugkit.locate.blocks import column_edges, content_span
from debugkit.locate.ocr import even_widgets
from debugkit.locate.widgets import find_widgets
from debugkit.sources import open_source

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_id_schemes_of_the_spec():
    assert legacy_mod.id_scheme(["0", "1", "12"]) == legacy_mod.NUMERIC
    assert legacy_mod.id_scheme(["AAAB", "AAAC", "BAAB"], main_frame=["AAAB", "AAAC"]) == legacy_mod.FRAME_CODED
    assert legacy_mod.id_scheme(["xQ7z", "b2Kd", "Zp0A", "m9Qe"]) == legacy_mod.RANDOM
    assert legacy_mod.id_scheme([]) is None
    assert legacy_mod.id_scheme(["login-button"]) is None


def test_legacy_overlay_looked_for_by_the_ids():
    """A run with numeric ids (v0.1.4 and earlier) is known to be old: its overlay is looked for with a tolerant
    idea of blue (the generated run's boxes are not CSS blue); frame-coded pages are looked at strictly."""
    old = load_run(open_source(FIXTURES / "runs" / "legacy_numeric_ids")).steps[0]
    locator = StepLocator(old, render=False)
    assert locator.id_scheme() == legacy_mod.NUMERIC and locator.legacy_present()
    assert legacy_mod.find_boxes(old.screenshots_llm[0].data).boxes == []  # strictly: none
    boxes = legacy_mod.find_boxes(old.screenshots_llm[0].data, tolerant=True).boxes
    assert (38, 34, 51, 24) in boxes and (108, 34, 55, 24) in boxes  # two neighbours, not one box across both
    for page in ("legacy_overlay", "modal"):
        step = load_run(open_source(FIXTURES / "recorded" / page)).steps[0]
        locator = StepLocator(step, render=False)
        assert locator.id_scheme() == legacy_mod.FRAME_CODED
        assert locator.legacy_present() is (page == "legacy_overlay")


def test_link_text_inside_a_legacy_box_is_no_box_of_its_own():
    image = Image.new("RGB", (300, 120), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 40, 140, 64), outline=(0, 0, 255), width=2)
    draw.rectangle((180, 40, 260, 64), outline=(0, 0, 255), width=2)
    draw.rectangle((60, 80, 160, 110), outline=(0, 0, 255), width=2)
    for x in range(30, 130, 9):  # blue glyph strokes from top to bottom of the first box
        draw.line((x, 44, x, 60), fill=(0, 0, 238), width=2)
    assert legacy_mod.find_boxes(image).boxes == [(20, 40, 121, 25), (180, 40, 81, 25), (60, 80, 101, 31)]


def _card_page(hidden_right: bool) -> np.ndarray:
    image = Image.new("L", (1280, 500), 245)
    draw = ImageDraw.Draw(image)
    draw.rectangle((200, 100, 1079, 400), fill=255, outline=200)  # a card with a 1 px border
    draw.rectangle((219, 150, 267, 165), fill=30)  # the label's text
    draw.rectangle((219, 175, 596, 210), outline=120)  # its field, below it
    if hidden_right:
        draw.rectangle((330, 60, 950, 450), fill=255, outline=90)  # a dialog over the card's middle
    return np.asarray(image)


def test_block_label_spans_its_containers_content_box():
    for hidden in (False, True):
        edges = column_edges(_card_page(hidden))
        left, right, how = content_span(edges, (219, 150, 49, 16), (0, 0, 1280, 500))
        # the card's inside is 201..1079 and the text sits 19 px in: the content box is 219..1061
        assert (left, right, how) == (219, 1061, "its container's sides"), hidden
    # nothing to go by: the limits, with the text's margin on both sides
    flat = column_edges(np.full((300, 600), 255, np.uint8))
    assert content_span(flat, (40, 100, 50, 16), (10, 20, 500, 200)) == (40, 480, "the width it is in")


def test_backdrop_veil_is_the_same_pixels():
    rng = np.random.default_rng(5)
    page = (rng.random((200, 300)) * 255).astype(np.uint8)
    veiled = (page.astype(np.float32) * 0.45 + 20).astype(np.uint8)
    result = align(Image.fromarray(page), Image.fromarray(veiled), (100, 60, 80, 40), (100, 60))
    assert result.checked and not result.matched and result.dimmed
    other = (rng.random((200, 300)) * 255).astype(np.uint8)
    assert not align(Image.fromarray(page), Image.fromarray(other), (100, 60, 80, 40), (100, 60)).dimmed


def test_ocr_picture_shows_button_text_dark_on_white():
    image = Image.new("RGB", (200, 80), "white")
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((20, 20, 140, 56), radius=8, fill=(230, 110, 20))  # an orange button
    for x in range(50, 110, 6):  # its white "text": strokes
        draw.line((x, 32, x, 44), fill="white", width=2)
    rgb = np.asarray(image)
    widgets = find_widgets(rgb, max_share=0.6)
    grey = even_widgets(np.asarray(image.convert("L")), widgets)
    assert grey[38, 80] < 60  # a stroke of the text: dark
    assert grey[25, 30] > 200 and grey[21, 21] > 200  # the button's fill and its rounded corner: white


def test_iframe_element_with_boxes_carried_is_exact_in_its_frame():
    """Boxes on the element and on its iframe (a patched build): the element's box is relative to its frame."""
    step = load_run(open_source(FIXTURES / "recorded" / "iframe")).steps[0]
    elements = step.elements or {}
    elements["AAAG"].raw["rect"] = {"x": 330, "y": 181, "width": 562, "height": 332}
    elements["BAAC"].raw["rect"] = {"x": 17, "y": 32, "width": 274, "height": 30}
    located = StepLocator(step, render=False).locate("BAAC")
    assert (located.method, located.frame_method, located.box) == ("exact", "exact", (347, 213, 274, 30))
    assert located.to_dict()["frame_method"] == "exact"

"""Skyvern's own overlay on old screenshots (v1.0.41 and earlier): find its boxes.

Up to v1.0.41 the scrape drew, before each ``screenshot_llm``, a **2 px solid blue** border around every
group of overlapping interactable elements, with the id of the group's first element as a label at the
top-left corner (spec 3.1). Later screenshots are plain. The boxes are found heuristically: pure-blue
pixels (the CSS colour ``blue``); vertical lines (small gaps, where a label's glyphs cover the border,
are bridged) that pair up as the left and right edges of one span; a line along the top and the bottom
between them, the right side where the top line ends; a hollow inside (a blue link's text may sit inside, a
blue block or a line across may not). A screenshot with at least :data:`MIN_BOXES` such boxes is taken to
carry the overlay.

The labels are not read (no OCR): a chosen element is matched to the drawn box that fits its
re-rendered box, and that box, drawn by Skyvern from the live page, becomes its location.

Which runs are looked at is keyed to their element ids (:func:`id_scheme`, spec 4.1): numeric ids (v0.1.4
and earlier) and random 4-character ids (v0.1.5 to v0.1.57) come only from versions that all drew the
overlay, so every tile of such a step is examined, with a tolerant idea of "blue". Frame-coded ids (``AAAB``,
since v0.1.58) span both sides of v1.0.42, so such steps are examined strictly (pure blue, on the set's first
tile): an overlay there means v0.1.58 to v1.0.41.
"""

from __future__ import annotations

import bisect
import io
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from PIL import Image, ImageChops

from debugkit.locate.heavy import heavy
from debugkit.locate.model import Box
from debugkit.locate.tiles import iou

MIN_BOXES = 3
NUMERIC, RANDOM, FRAME_CODED = "numeric", "random", "frame-coded"  # Skyvern's element-id schemes (spec 4.1)
LEGACY_IDS = (NUMERIC, RANDOM)  # schemes of versions that all drew the overlay
MAX_BLUE_SHARE = 0.15
MAX_INSIDE = 0.4  # share of a box's inside that may be blue (the text of a blue link)
MIN_SIDE = 12  # px: shortest side of a box
MIN_EDGE = 8  # px: shortest line considered
GAP = 2  # px of a border line that a label's glyphs may hide and still count as one line
_RUN = re.compile(rb"\xff(?:\x00{0,%d}\xff)+" % GAP)


@dataclass
class Overlay:
    """The boxes Skyvern drew on one screenshot."""

    boxes: list[Box]

    @property
    def present(self) -> bool:
        return len(self.boxes) >= MIN_BOXES


def id_scheme(ids: Iterable[str], main_frame: Iterable[str] = ()) -> str | None:
    """Which of Skyvern's element-id schemes (spec 4.1) the step's ids follow; None without ids.

    * :data:`NUMERIC`: ``"0"``, ``"1"``, ... (v0.1.4 and earlier, to May 2024);
    * :data:`RANDOM`: four random characters (v0.1.5 to v0.1.57);
    * :data:`FRAME_CODED`: four characters, the first the frame's symbol (``A`` for the main frame), the rest a
      per-document counter (v0.1.58 and later). ``main_frame``: the ids of main-frame elements, which all start
      with ``A`` in this scheme (one in 62 does by chance in the random one).
    """
    ids = [i for i in ids if i]
    if not ids:
        return None
    if all(i.isdigit() for i in ids):
        return NUMERIC
    if not all(len(i) == 4 for i in ids):
        return None
    main = [i for i in main_frame if len(i) == 4] or ids
    starting_a = sum(1 for i in main if i[0] == "A")
    return FRAME_CODED if starting_a >= 0.9 * len(main) else RANDOM


def blue_mask(image: Image.Image, *, tolerant: bool = False) -> Image.Image:
    """255 where a pixel is (nearly) pure blue, else 0. ``tolerant``: any strongly blue pixel (blue at least 150
    and 90 above red and green), for screenshots known to be old, whose overlay may have been resized or
    re-encoded."""
    red, green, blue = image.convert("RGB").split()
    if tolerant:
        most = ImageChops.lighter(red, green)
        margin = ImageChops.subtract(blue, most).point(lambda v: 255 if v >= 90 else 0)
        return ImageChops.darker(margin, blue.point(lambda v: 255 if v >= 150 else 0))
    low_red = red.point(lambda v: 255 if v <= 60 else 0)
    low_green = green.point(lambda v: 255 if v <= 60 else 0)
    high_blue = blue.point(lambda v: 255 if v >= 190 else 0)
    return ImageChops.darker(ImageChops.darker(low_red, low_green), high_blue)


def _runs(mask: Image.Image) -> list[list[tuple[int, int]]]:
    """Per row of ``mask``, the ``(start_x, end_x)`` (end exclusive) of runs of set pixels >= MIN_EDGE long."""
    width = mask.width
    raw = mask.tobytes()
    return [
        [
            (m.start() - y * width, m.end() - y * width)
            for m in _RUN.finditer(raw, y * width, (y + 1) * width)
            if m.end() - m.start() >= MIN_EDGE
        ]
        for y in range(mask.height)
    ]


@heavy
def find_boxes(data: bytes | Image.Image, *, tolerant: bool = False) -> Overlay:
    """The 2 px blue boxes on a screenshot (never raises; an unreadable image has none). ``tolerant``: see
    :func:`blue_mask`."""
    try:
        if isinstance(data, Image.Image):
            image = data
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(io.BytesIO(data))
                image.load()
        mask = blue_mask(image, tolerant=tolerant)
    except Exception:  # an unreadable image carries no overlay we can see
        return Overlay([])
    width, height = mask.size
    blue = mask.histogram()[255]
    if blue == 0 or blue > MAX_BLUE_SHARE * width * height:
        return Overlay([])  # no blue, or a blue page: thin borders are a small share of the pixels
    transposed = mask.transpose(Image.Transpose.TRANSPOSE)
    raw, raw_t = mask.tobytes(), transposed.tobytes()

    def row_share(y: int, x0: int, x1: int) -> float:
        if not (0 <= y < height) or x1 <= x0:
            return 0.0
        x0, x1 = max(0, x0), min(width, x1)
        return raw[y * width + x0 : y * width + x1].count(255) / max(1, x1 - x0)

    def col_share(x: int, y0: int, y1: int) -> float:
        if not (0 <= x < width) or y1 <= y0:
            return 0.0
        return raw_t[x * height + y0 : x * height + y1].count(255) / max(1, y1 - y0)

    def line(y: int, x0: int, x1: int) -> float:  # a 2 px border: the better of two rows
        return max(row_share(y, x0, x1), row_share(y + 1, x0, x1))

    by_x: dict[int, list[tuple[int, int]]] = {}
    for x, runs in enumerate(_runs(transposed)):
        for top, bottom in runs:
            if bottom - top >= MIN_SIDE and col_share(x, top, bottom) >= 0.7:
                by_x.setdefault(x, []).append((top, bottom))

    def has(x: int, top: int, bottom: int) -> bool:
        return any(abs(t - top) <= 2 and abs(b - bottom) <= 2 for t, b in by_x.get(x, ()))

    boxes: list[Box] = []
    columns = sorted(by_x)
    for left in columns:
        for top, bottom in by_x[left]:
            if has(left - 1, top, bottom):
                continue  # the inner column of a 2 px border; the outer one makes the box
            # The right side is where the top line ends: a blue link's glyph strokes inside look like sides too.
            widest: Box | None = None
            for right in columns[bisect.bisect_left(columns, left + MIN_SIDE - 1) :]:
                if widest is not None and line(top, widest[0] + widest[2], widest[0] + widest[2] + 3) < 0.6:
                    break
                if not has(right, top, bottom):
                    continue
                if has(right + 1, top, bottom):
                    right += 1  # the outer column of a 2 px border
                x0, x1 = left, right + 1
                if min(line(top, x0, x1), line(bottom - 2, x0, x1)) < 0.85:
                    continue  # no top and bottom line between these two: a glyph, or a nested box
                inner = [row_share(y, x0 + 3, x1 - 3) for y in range(top + 3, bottom - 3)]
                if inner and (sum(inner) / len(inner) > MAX_INSIDE or max(inner) >= 0.9):
                    continue  # not hollow: a blue block, or a line across (a glyph's stroke is no line)
                widest = (x0, top, x1 - x0, bottom - top)
            if widest is not None:
                boxes.append(widest)
    return Overlay(sorted(_dedupe(boxes), key=lambda b: (b[1], b[0])))


def _dedupe(boxes: list[Box]) -> list[Box]:
    """One box per drawn border: near-duplicates, and boxes inside another one between its top and bottom lines
    (from a glyph's stroke to the right side), left out."""
    kept: list[Box] = []
    for box in sorted(boxes, key=lambda b: -b[2]):
        x, y, w, h = box
        inside = any(
            abs(y - oy) <= 2 and abs(h - oh) <= 2 and ox <= x and x + w <= ox + ow + 1 for ox, oy, ow, oh in kept
        )
        if not inside and not any(iou(box, other) > 0.9 for other in kept):
            kept.append(box)
    return kept


def match(
    boxes: list[Box], target: tuple[float, float, float, float], min_iou: float = 0.5
) -> tuple[Box, float] | None:
    """The drawn box that best fits ``target`` (tile pixels), with its IoU; None below ``min_iou``."""
    best: tuple[Box, float] | None = None
    for box in boxes:
        score = iou(box, target)
        if score >= min_iou and (best is None or score > best[1]):
            best = (box, score)
    return best

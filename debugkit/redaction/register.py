"""Where a viewport screenshot sits relative to a ``screenshot_llm`` tile: a vertical shift, or not known.

``screenshot_action`` and ``screenshot_final`` are taken at whatever the page's scroll position was, so a
box measured on a tile has to be moved before it can mask them. :func:`register` compares the image with
a tile at every vertical shift that keeps at least half of them overlapping, on images narrowed 8x (rows
kept whole, so any shift can be tried), row by row: a row *disagrees* when its mean grey difference is
above :data:`ROW_DIFFERENCE`, and only rows with detail (edges) in either image count. Typing into a
field, a message that appears or a focus ring change a few rows; a wrong shift changes nearly every row
with detail. A shift is accepted when few rows disagree (:data:`MAX_DISAGREEING`) and every other shift
(a few pixels away or more) does clearly worse (:data:`MIN_CONTRAST`). A blank, repetitive or different
page gives no registration, and the caller leaves the image out. Pure Pillow: greyscale images in, a
shift out.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageChops

NARROW = 8  # columns averaged together; rows are kept whole
NEIGHBOURS = 4  # shifts this close to the best one are not its competitors
ROW_DIFFERENCE = 3.0  # mean grey difference of a reduced row above which the row disagrees
ROW_DETAIL = 1.0  # mean horizontal edge strength of a reduced row that counts as content
MAX_DISAGREEING = 0.4  # share of content rows that may disagree at the accepted shift
MIN_CONTRAST = 0.3  # every other shift must have this larger a share of disagreeing rows
MIN_CONTENT_ROWS = 6
MIN_OVERLAP = 0.5  # of the image height


@dataclass(frozen=True)
class Registration:
    """Image row ``y`` shows tile row ``y + dy``."""

    dy: int
    disagreeing: float  # share of content rows that differ at this shift
    contrast: float  # the next-best shift's share minus this one


def _rows(image: Image.Image) -> Image.Image:
    """A one-pixel-wide image of each row's mean (mode F)."""
    return image.convert("F").resize((1, image.height), Image.Resampling.BOX)


def _above(column: Image.Image, threshold: float) -> Image.Image:
    """255 where a mode-F column is above ``threshold``, else 0 (mode L)."""
    return column.point(lambda v: (v - threshold) * 1024).convert("L").point(lambda v: 255 if v else 0)


def _content(image: Image.Image) -> Image.Image:
    """Per row, 255 where it has detail (edges between horizontal neighbours), else 0 (mode L, one column)."""
    edges = ImageChops.difference(image.crop((0, 0, image.width - 1, image.height)), image.crop((1, 0, *image.size)))
    return _above(_rows(edges), ROW_DETAIL)


def _share(image: Image.Image, tile: Image.Image, dy: int, content: tuple[Image.Image, Image.Image]) -> float | None:
    """The share of content rows that disagree when image row y is put on tile row y + dy."""
    top, bottom = max(0, -dy), min(image.height, tile.height - dy)
    if bottom - top < MIN_OVERLAP * image.height:
        return None
    part = image.crop((0, top, image.width, bottom))
    difference = _rows(ImageChops.difference(part, tile.crop((0, top + dy, tile.width, bottom + dy))))
    disagree = _above(difference, ROW_DIFFERENCE)
    mine, theirs = content
    rows = ImageChops.lighter(mine.crop((0, top, 1, bottom)), theirs.crop((0, top + dy, 1, bottom + dy)))
    counted = rows.histogram()[255]
    if counted < MIN_CONTENT_ROWS:
        return None
    return ImageChops.multiply(rows, disagree).histogram()[255] / counted


def shares(image: Image.Image, tile: Image.Image, shifts: range | None = None) -> dict[int, float]:
    """For each possible shift, the share of content rows that disagree (greyscale images of one size).

    ``shifts``: the shifts that are possible at all (e.g. the page cannot scroll above its top); every
    shift keeping half of the images overlapping by default. Empty when nothing can be compared."""
    if image.size != tile.size or image.mode != "L" or tile.mode != "L" or image.width < 2 * NARROW:
        return {}
    size = (max(2, image.width // NARROW), image.height)
    narrow, narrow_tile = image.resize(size, Image.Resampling.BOX), tile.resize(size, Image.Resampling.BOX)
    content = (_content(narrow), _content(narrow_tile))
    reach = int(image.height * (1 - MIN_OVERLAP))
    found: dict[int, float] = {}
    for dy in shifts if shifts is not None else range(-reach, reach + 1):
        value = _share(narrow, narrow_tile, dy, content)
        if value is not None:
            found[dy] = value
    return found


def matches(found: dict[int, float]) -> list[int]:
    """Every shift where the images agree (few disagreeing rows), one per group of neighbouring shifts."""
    good = sorted((d for d, v in found.items() if v <= MAX_DISAGREEING), key=lambda d: (found[d], abs(d)))
    kept: list[int] = []
    for shift in good:
        if all(abs(shift - other) >= NEIGHBOURS for other in kept):
            kept.append(shift)
    return kept


def register(image: Image.Image, tile: Image.Image, shifts: range | None = None) -> Registration | None:
    """The shift that maps ``image`` onto ``tile`` (both greyscale, the same size), or None.

    ``shifts``: the shifts that are possible at all (e.g. the page cannot scroll above its top); every
    shift keeping half of the images overlapping by default."""
    found = shares(image, tile, shifts)
    if not found:
        return None
    best = min(found, key=lambda d: (found[d], abs(d)))
    others = [v for d, v in found.items() if abs(d - best) >= NEIGHBOURS]
    contrast = (min(others) if others else 1.0) - found[best]
    if found[best] > MAX_DISAGREEING or contrast < MIN_CONTRAST:
        return None
    return Registration(dy=best, disagreeing=round(found[best], 3), contrast=round(contrast, 3))

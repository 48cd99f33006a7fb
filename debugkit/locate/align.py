"""Check a re-rendered box against the screenshot, and move it to where the screenshot shows it.

The re-render of ``html_scrape`` is a picture of the page too. Cut the element (with a little context
around it) out of the re-render and compare it with the tile at the mapped position:

* the pixels agree: the box is confirmed;
* they disagree, but the same pixels appear nearby (content above the element was built by scripts,
  an image did not load, a font differs in height): the box is moved by that offset;
* they disagree and nothing nearby matches: the box stays, with a low confidence.

Pillow, with OpenCV's template matching for the search when it is installed; images in, numbers out. A
template with too little detail (a blank area) confirms nothing.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageChops, ImageStat

from debugkit.locate.heavy import heavy

PAD_X = 8  # context around the element, px
PAD_Y = 20
SEARCH_Y = 200  # how far the box may move, px
SEARCH_X = 24
COARSE = 4
MATCH = 3.0  # mean absolute grey-level difference that counts as the same pixels
MIN_DETAIL = 4.0  # standard deviation a template needs to say anything
MIN_VEIL, MAX_VEIL = 0.15, 0.9  # how much of the page's contrast a backdrop may leave
FAST_CANDIDATES = 5  # best places by squared difference whose mean absolute difference is measured


@dataclass
class Alignment:
    """The outcome of comparing one element's re-render with the tile."""

    checked: bool  # False: the template had too little detail (or fell outside the images)
    score: float | None = None  # mean abs difference at the mapped position (0 = identical)
    dx: int = 0  # the move that makes it match (0, 0 when it matched in place or nowhere)
    dy: int = 0
    moved_score: float | None = None  # the difference after the move
    ring_matched: bool = False  # the surroundings match though the inside differs (typed text, state)
    dimmed: bool = False  # the same pixels, darkened or tinted evenly: seen through a backdrop the re-render lacks

    @property
    def matched(self) -> bool:
        return self.checked and self.score is not None and self.score <= MATCH

    @property
    def moved(self) -> bool:
        return self.dx != 0 or self.dy != 0


def open_grey(data: bytes | None) -> Image.Image | None:
    """Decode an image to greyscale; None when it cannot be decoded."""
    return open_image(data, "L")


def open_image(data: bytes | None, mode: str) -> Image.Image | None:
    """Decode an image into ``mode`` (decompression bombs refused); None when it cannot be decoded."""
    if not data:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                return image.convert(mode)
    except Exception:  # an undecodable image checks nothing
        return None


@heavy
def align(
    render: Image.Image,
    tile: Image.Image,
    render_box: tuple[float, float, float, float],
    tile_origin: tuple[float, float],
    *,
    hints: list[tuple[int, int]] | None = None,
    search: bool = True,
) -> Alignment:
    """Compare ``render_box`` (render-image pixels) with the tile, where it maps to ``tile_origin``.

    ``tile_origin`` is the box's top-left corner in tile pixels. Moves in ``hints`` (found for other
    elements of the page) are tried first; the full search runs only when ``search`` is true.
    """
    x, y, w, h = render_box
    left, top = round(x) - PAD_X, round(y) - PAD_Y
    right, bottom = round(x + w) + PAD_X, round(y + h) + PAD_Y
    left, top = max(0, left), max(0, top)
    right, bottom = min(render.width, right), min(render.height, bottom)
    if right - left < 4 or bottom - top < 4:
        return Alignment(checked=False)
    template = render.crop((left, top, right, bottom))
    if ImageStat.Stat(template).stddev[0] < MIN_DETAIL:
        return Alignment(checked=False)
    # Where the template's top-left corner sits in the tile when the box is where we think.
    base_x = round(tile_origin[0]) - (round(x) - left)
    base_y = round(tile_origin[1]) - (round(y) - top)

    def score(dx: int, dy: int) -> float | None:
        tx, ty = base_x + dx, base_y + dy
        # Compare only the part of the template that falls inside the tile (at least half of it).
        cl, ct = max(0, -tx), max(0, -ty)
        cr, cb = min(template.width, tile.width - tx), min(template.height, tile.height - ty)
        if (cr - cl) * (cb - ct) < 0.5 * template.width * template.height:
            return None
        part = template.crop((cl, ct, cr, cb)) if (cl, ct, cr, cb) != (0, 0, *template.size) else template
        window = tile.crop((tx + cl, ty + ct, tx + cr, ty + cb))
        return ImageStat.Stat(ImageChops.difference(part, window)).mean[0]

    here = score(0, 0)
    if here is None:
        return Alignment(checked=False)
    if here <= MATCH:
        return Alignment(checked=True, score=here)
    ring = _ring_score(template, tile, base_x, base_y, (round(x) - left, round(y) - top, round(w), round(h)))
    if ring is not None and ring <= MATCH:
        return Alignment(checked=True, score=here, ring_matched=True)
    if _dimmed(template, tile, base_x, base_y):
        return Alignment(checked=True, score=here, dimmed=True)
    for dx, dy in hints or []:
        value = score(dx, dy)
        if value is not None and value <= MATCH and value < here / 3:
            return Alignment(checked=True, score=here, dx=dx, dy=dy, moved_score=value)
    if not search:
        return Alignment(checked=True, score=here)
    found = _search_fast(template, tile, base_x, base_y)
    if found is None:
        found = _search_slow(score, here)
    value, dx, dy = found
    if value <= MATCH and value < here / 3:
        return Alignment(checked=True, score=here, dx=dx, dy=dy, moved_score=value)
    return Alignment(checked=True, score=here)


def _search_slow(score: Any, here: float) -> tuple[float, int, int]:
    """The best move by trying every position (coarse, then fine): Pillow only."""
    best: tuple[float, int, int] = (here, 0, 0)
    for dy in range(-SEARCH_Y, SEARCH_Y + 1, COARSE):
        for dx in range(-SEARCH_X, SEARCH_X + 1, COARSE * 2):
            value = score(dx, dy)
            if value is not None and value < best[0] - 1e-9:
                best = (value, dx, dy)
    _, bdx, bdy = best
    for dy in range(bdy - COARSE + 1, bdy + COARSE):
        for dx in range(bdx - COARSE * 2 + 1, bdx + COARSE * 2):
            value = score(dx, dy)
            if value is not None and value < best[0] - 1e-9:
                best = (value, dx, dy)
    return best


def _search_fast(template: Image.Image, tile: Image.Image, base_x: int, base_y: int) -> tuple[float, int, int] | None:
    """The best move within the search window, by OpenCV's template matching (sum of squared differences, one
    pass over every position), then the mean absolute difference of the best few places. None without OpenCV, or
    when the template does not lie inside the tile at its mapped place (the Pillow search handles that)."""
    try:
        import cv2
        import numpy as np
    except ImportError:
        return None
    if base_x < 0 or base_y < 0 or base_x + template.width > tile.width or base_y + template.height > tile.height:
        return None
    left, top = max(0, base_x - SEARCH_X), max(0, base_y - SEARCH_Y)
    right = min(tile.width, base_x + template.width + SEARCH_X)
    bottom = min(tile.height, base_y + template.height + SEARCH_Y)
    window = np.asarray(tile.crop((left, top, right, bottom)), dtype=np.float32)
    pattern = np.asarray(template, dtype=np.float32)
    squared = cv2.matchTemplate(window, pattern, cv2.TM_SQDIFF)
    candidates = np.argsort(squared, axis=None)[:FAST_CANDIDATES]
    best: tuple[float, int, int] | None = None
    rows, cols = squared.shape
    for flat in candidates:
        y, x = divmod(int(flat), cols)
        part = window[y : y + pattern.shape[0], x : x + pattern.shape[1]]
        value = float(np.abs(part - pattern).mean())
        if best is None or value < best[0] - 1e-9:
            best = (value, x + left - base_x, y + top - base_y)
    return best


def _dimmed(template: Image.Image, tile: Image.Image, tx: int, ty: int) -> bool:
    """Whether the tile shows the template's pixels under an even veil: ``tile = a * render + b`` with ``a`` well
    below 1 (a translucent backdrop, as under a dialog; the re-render's full-page picture shows fixed layers only
    at the top of the page), fitted by least squares, leaving no more than :data:`MATCH` grey levels of error."""
    if tx < 0 or ty < 0 or tx + template.width > tile.width or ty + template.height > tile.height:
        return False
    try:
        import numpy as np
    except ImportError:
        return False
    ours = np.asarray(template, dtype=np.float32).ravel()
    theirs = np.asarray(tile.crop((tx, ty, tx + template.width, ty + template.height)), dtype=np.float32).ravel()
    spread = float(ours.var())
    if spread < MIN_DETAIL**2:
        return False
    scale = float(((ours - ours.mean()) * (theirs - theirs.mean())).mean()) / spread
    if not MIN_VEIL <= scale <= MAX_VEIL:
        return False
    shift = float(theirs.mean()) - scale * float(ours.mean())
    return float(np.abs(theirs - (scale * ours + shift)).mean()) <= MATCH


def _ring_score(
    template: Image.Image, tile: Image.Image, tx: int, ty: int, inner: tuple[int, int, int, int]
) -> float | None:
    """The difference around the element only (its inside masked out), when the template lies in the tile."""
    if tx < 0 or ty < 0 or tx + template.width > tile.width or ty + template.height > tile.height:
        return None
    mask = Image.new("L", template.size, 255)
    ix, iy, iw, ih = inner
    if iw > 6 and ih > 6:
        mask.paste(0, (ix + 3, iy + 3, ix + iw - 3, iy + ih - 3))
    if ImageStat.Stat(template, mask).stddev[0] < MIN_DETAIL:
        return None
    window = tile.crop((tx, ty, tx + template.width, ty + template.height))
    return ImageStat.Stat(ImageChops.difference(template, window), mask).mean[0]

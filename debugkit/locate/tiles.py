"""Document coordinates onto ``screenshot_llm`` tiles: pure geometry, no browser, no images.

Skyvern's scrape (spec 3.1) scrolls to the top, takes a viewport screenshot, scrolls by
``innerHeight - 200`` px and repeats until the scroll moves 25 px or less, or 10 tiles were taken. The
last scroll is clamped by the browser to the page bottom (``page_height - innerHeight``). A page that
does not scroll gives one tile. The offsets are not stored; :func:`rule_offsets` recomputes them and
``debugkit.locate.overlap`` measures them from the images where it can.

The viewport is always taken from the tile image's size (real runs used 1280x800, not the 1920x1080
default), never from a constant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from debugkit.locate.model import Box, DocBox

OVERLAP = 200
MIN_MOVE = 25
MAX_TILES = 10


def rule_offsets(page_height: float, viewport_height: int, max_tiles: int = MAX_TILES) -> list[float]:
    """The documented document-y offsets of the tiles of a page ``page_height`` tall."""
    if viewport_height <= 0:
        raise ValueError("viewport height must be positive")
    if page_height <= viewport_height:
        return [0.0]
    step = max(1, viewport_height - OVERLAP)
    limit = page_height - viewport_height
    offsets = [0.0]
    while len(offsets) < max_tiles:
        nxt = min(offsets[-1] + step, limit)
        if nxt - offsets[-1] <= MIN_MOVE:
            break
        offsets.append(float(nxt))
    return offsets


@dataclass
class TileSet:
    """The screenshots of one scrape: which ``screenshots_llm`` entries, and at which document offsets."""

    indices: list[int]  # positions in StepData.screenshots_llm
    offsets: list[float]  # document y of each tile's top
    viewport: tuple[int, int]  # width, height: the tile image size
    measured: list[bool] = field(default_factory=list)  # offset k measured from the images (else the rule)
    rule_count: int | None = None  # tiles the scroll rule gives for the page height, when known

    @property
    def count_agrees(self) -> bool | None:
        """Whether the number of tiles agrees with the page height (None: height unknown)."""
        if self.rule_count is None:
            return None
        return self.rule_count == len(self.indices)

    @property
    def offsets_checked(self) -> bool:
        """Every offset after the first was measured from the images' overlap (or there is one tile)."""
        return len(self.offsets) <= 1 or all(self.measured[1:])


@dataclass
class Placement:
    """A document box placed on one tile."""

    position: int  # index within the tile set
    box: Box  # in tile pixels, clipped to the tile
    visible: float  # share of the element's area inside the tile, 0..1
    inside: bool  # the whole element is inside the tile


def place(doc_box: DocBox, tiles: TileSet, *, fixed: bool = False) -> Placement | None:
    """Put a document box on the tile that shows it best; None when no tile shows any of it.

    A fixed-position element stays at its viewport position on every tile: it is placed on the first.
    Otherwise the tile showing the largest share of the element wins; among tiles showing all of it,
    the first (the one the model saw first).
    """
    x, y, w, h = doc_box
    width, height = tiles.viewport
    if w < 0 or h < 0 or not tiles.offsets:
        return None
    candidates = [0] if fixed else range(len(tiles.offsets))
    best: tuple[float, int] | None = None
    for position in candidates:
        offset = 0.0 if fixed else tiles.offsets[position]
        share = _visible_share(x, y - offset, w, h, width, height)
        if share > 0 and (best is None or share > best[0] + 1e-9):
            best = (share, position)
    if best is None:
        return None
    share, position = best
    offset = 0.0 if fixed else tiles.offsets[position]
    box = clip_box((x, y - offset, w, h), width, height)
    if box is None:
        return None
    return Placement(position=position, box=box, visible=share, inside=share >= 0.999)


def also_on(
    doc_box: DocBox, tiles: TileSet, primary: int, *, fixed: bool = False, min_share: float = 0.5
) -> list[tuple[int, Box]]:
    """The other tiles (as ``screenshots_llm`` indices) showing at least ``min_share`` of the element."""
    x, y, w, h = doc_box
    width, height = tiles.viewport
    out: list[tuple[int, Box]] = []
    for position, offset in enumerate(tiles.offsets):
        if position == primary:
            continue
        top = y if fixed else y - offset
        if _visible_share(x, top, w, h, width, height) < min_share:
            continue
        box = clip_box((x, top, w, h), width, height)
        if box is not None:
            out.append((tiles.indices[position], box))
    return out


def clip_box(box: DocBox, width: int, height: int) -> Box | None:
    """Round a box to whole pixels and clip it to ``width`` x ``height``; None when nothing is left."""
    x, y, w, h = box
    left, top = max(0, round(x)), max(0, round(y))
    right, bottom = min(width, round(x + w)), min(height, round(y + h))
    if right <= left or bottom <= top:
        if w == 0 and h == 0 and 0 <= x <= width and 0 <= y <= height:
            return (round(x), round(y), 0, 0)  # a point
        return None
    return (left, top, right - left, bottom - top)


def _visible_share(x: float, y: float, w: float, h: float, width: int, height: int) -> float:
    """Share of a box (tile coordinates) inside a ``width`` x ``height`` tile; lines and points count whole."""
    if w == 0 and h == 0:
        return 1.0 if 0 <= x < width and 0 <= y < height else 0.0
    ix = max(0.0, min(x + w, width) - max(x, 0.0))
    iy = max(0.0, min(y + h, height) - max(y, 0.0))
    if w == 0:
        return iy / h if 0 <= x <= width else 0.0
    if h == 0:
        return ix / w if 0 <= y <= height else 0.0
    return min(1.0, (ix * iy) / (w * h))


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes (0 for empty boxes)."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def offsets_from_shifts(
    shifts: list[float | None], viewport_height: int, page_height: float | None
) -> tuple[list[float], list[bool]]:
    """Tile offsets from measured scroll steps between consecutive tiles (None: not measured).

    An unmeasured step falls back to the rule: ``innerHeight - 200``, clamped to the page bottom when
    the page height is known.
    """
    offsets = [0.0]
    measured = [True]
    step = viewport_height - OVERLAP
    for shift in shifts:
        if shift is not None:
            offsets.append(offsets[-1] + shift)
            measured.append(True)
            continue
        nxt = offsets[-1] + step
        if page_height is not None and page_height > viewport_height:
            nxt = min(nxt, page_height - viewport_height)
            if nxt - offsets[-1] <= MIN_MOVE:  # the rule says no such tile: keep the scroll step
                nxt = offsets[-1] + step
        offsets.append(nxt)
        measured.append(False)
    return offsets, measured

"""Measure how far the page scrolled between two ``screenshot_llm`` tiles, from the pixels alone.

Consecutive tiles of one scrape overlap (Skyvern scrolls by ``innerHeight - 200``), so the bottom rows of
tile *k* reappear at the top of tile *k+1*, ``shift`` rows higher. Rows are compared by a hash of their
pixels (the right-hand strip, where a scrollbar may sit, is left out). Only rows that occur once in each
image vote: blank lines and repeated borders say nothing about the shift. The same comparison tells
where one screenshot set ends: the first tile of the next LLM call's set starts at the top of the page
again, so it is no continuation of the tile before it.

Nothing here raises on a bad image: it just measures nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from PIL import Image

from debugkit.locate.align import open_image
from debugkit.locate.heavy import heavy
from debugkit.locate.tiles import MIN_MOVE, OVERLAP

SCROLLBAR_STRIP = 24  # px on the right that are not compared
MIN_VOTES = 8  # informative rows that must agree on a shift
MIN_SHARE = 0.3  # ... and the share of the overlap's informative rows they must be


@dataclass
class Signature:
    """Per-row hashes of one image, and which of them are unique in it."""

    width: int
    height: int
    rows: list[int]
    unique: dict[int, int]  # hash -> row, for hashes that occur once


@dataclass
class Shift:
    """The outcome of comparing two tiles."""

    value: float | None  # rows scrolled, when measured
    decided: bool  # False: too few informative rows to tell either way
    votes: int = 0


@heavy
def signature(data: bytes | Image.Image | None) -> Signature | None:
    """Row hashes of an image (bytes, or an already decoded RGB image); None when it cannot be decoded."""
    rgb = data if isinstance(data, Image.Image) else open_image(data, "RGB")  # a damaged image measures nothing
    if rgb is None:
        return None
    width, height = rgb.size
    keep = width - SCROLLBAR_STRIP if width > 4 * SCROLLBAR_STRIP else width
    raw = rgb.crop((0, 0, keep, height)).tobytes()
    stride = keep * 3
    rows = [hash(raw[i * stride : (i + 1) * stride]) for i in range(height)]
    counts = Counter(rows)
    unique = {value: index for index, value in enumerate(rows) if counts[value] == 1}
    return Signature(width=width, height=height, rows=rows, unique=unique)


def measure_shift(a: Signature, b: Signature, expected: float | None = None) -> Shift:
    """How many rows the page moved up from tile ``a`` to tile ``b``.

    Only shifts Skyvern's scrolling can make are considered: more than 25 px and at most
    ``innerHeight - 200`` (a few px of slack). Ties go to the shift closest to ``expected``.
    """
    if (a.width, a.height) != (b.width, b.height):
        return Shift(None, decided=True)
    height = a.height
    low, high = MIN_MOVE + 1, height - OVERLAP + 2
    votes: Counter[int] = Counter()
    for value, row_b in b.unique.items():
        row_a = a.unique.get(value)
        if row_a is not None:
            shift = row_a - row_b
            if low <= shift <= high:
                votes[shift] += 1
    informative = sum(1 for row in b.unique.values() if row < height - low)
    if informative < MIN_VOTES:
        return Shift(None, decided=False)
    if not votes:
        return Shift(None, decided=True)
    target = expected if expected is not None else height - OVERLAP
    best, count = max(votes.items(), key=lambda kv: (kv[1], -abs(kv[0] - target)))
    overlap_rows = sum(1 for row in b.unique.values() if row < height - best)
    if count < MIN_VOTES or count < MIN_SHARE * max(overlap_rows, 1):
        return Shift(None, decided=overlap_rows >= MIN_VOTES, votes=count)
    return Shift(float(best), decided=True, votes=count)


def split_first_set(
    signatures: list[Signature | None], expected_count: int | None = None
) -> tuple[int, list[float | None]]:
    """How many leading tiles belong to the first screenshot set, and the measured step between each.

    A tile continues the set when it overlaps the previous one by a plausible scroll. When the overlap
    cannot be judged (too few informative rows), the tile is kept while the page height's rule
    (``expected_count``) says there are more tiles, else the set ends.
    """
    if not signatures or signatures[0] is None:
        return (1 if signatures else 0), []
    shifts: list[float | None] = []
    count = 1
    for previous, current in zip(signatures, signatures[1:], strict=False):
        if previous is None or current is None:
            break
        shift = measure_shift(previous, current)
        if shift.value is not None:
            shifts.append(shift.value)
        elif not shift.decided and expected_count is not None and count < expected_count:
            shifts.append(None)
        else:
            break
        count += 1
        if count >= 10:
            break
    return count, shifts

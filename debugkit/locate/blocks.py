"""How wide a block-level text element is, from the screenshot: the content box of the block that holds it.

A label styled ``display: block`` (or a flex column item) spans its container's content width, though its text
ends much earlier; its true box is that width, not the width of its words. On a screenshot the container shows as
a box with visible vertical edges (a card on a tinted page, an iframe's border). From the text, look left along its
middle row for the first long vertical edge, note how far up and down that edge runs, then look right for an edge
that runs over the same rows: the container's left and right sides. Padding is taken as equal on both sides (the
text's distance from the left side). A side hidden by an overlay does not run over the same rows, so it is passed
over. Without a container edge on the left, the ``limits`` (the iframe's content box, or the screenshot) are the
container.

Pure numpy on a greyscale image (``uint8``, ``h x w``); nothing here raises.
"""

from __future__ import annotations

from typing import Any

EDGE = 5  # grey levels between neighbouring columns that make an edge (a white card on #f5f5f5 differs by 10)
SPAN_SLACK = 3  # px: how far the two sides' top and bottom may differ
GAP = 2  # px of an edge's run that may be missing (anti-aliasing, a glyph touching it)


def column_edges(grey: Any) -> Any:
    """``edges[y, x]``: pixel ``x`` and ``x + 1`` of row ``y`` differ by more than :data:`EDGE` grey levels."""
    import numpy as np

    right, left = grey[:, 1:], grey[:, :-1]  # unsigned: the larger less the smaller (no signed copies)
    return np.maximum(right, left) - np.minimum(right, left) > EDGE


def _run(column: Any, row: int) -> tuple[int, int]:
    """The rows ``[top, bottom)`` over which ``column`` (booleans) stays set through ``row`` (gaps of GAP bridged)."""
    height = len(column)
    top = row
    missing = 0
    while top > 0 and missing <= GAP:
        missing = 0 if column[top - 1] else missing + 1
        top -= 1
    top += missing
    bottom = row + 1
    missing = 0
    while bottom < height and missing <= GAP:
        missing = 0 if column[bottom] else missing + 1
        bottom += 1
    bottom -= missing
    return top, bottom


def content_span(
    edges: Any, text: tuple[int, int, int, int], limits: tuple[int, int, int, int]
) -> tuple[int, int, str]:
    """``(left, right, how)`` of the content box holding ``text`` (x, y, w, h), within ``limits`` (x, y, w, h).

    ``how``: "its container's sides" when both sides were seen on the screenshot, else "the {frame|page} width"
    (the limits, with the same margin on both sides).
    """
    height, width = edges.shape[0], edges.shape[1] + 1
    x, y, w, h = text
    lx, ly, lw, lh = limits
    left_limit, right_limit = max(0, lx - 2), min(width - 1, lx + lw + 2)
    row = min(max(0, y + h // 2), height - 1)
    shortest = max(3 * h, 40)
    found_left: tuple[int, int, int] | None = None
    for column in range(min(x - 1, width - 2), left_limit - 1, -1):
        if column < 0 or not edges[row, column]:
            continue
        top, bottom = _run(edges[:, column], row)
        if bottom - top >= shortest:
            border = column > 0 and edges[row, column - 1]
            found_left = (column if border else column + 1, top, bottom)
            break
    if found_left is not None:
        left, top, bottom = found_left
        for column in range(x + w, min(right_limit, width - 1)):
            if not edges[row, column]:
                continue
            other_top, other_bottom = _run(edges[:, column], row)
            if abs(other_top - top) <= SPAN_SLACK and abs(other_bottom - bottom) <= SPAN_SLACK:
                # A 1 px border is an edge on both its sides; a plain change of colour is one edge.
                right = column + 2 if column + 1 < width - 1 and edges[row, column + 1] else column + 1
                padding = x - left
                if right - padding > x + w:
                    return x, right - padding, "its container's sides"
                break
    padding = max(0, x - lx)
    right = lx + lw - padding
    return x, max(right, x + w), "the width it is in"

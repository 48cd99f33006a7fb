"""Find the boxes a page draws (input fields, buttons, check boxes, cards) on a screenshot (OpenCV).

A widget is a flat region (no colour edge inside, text aside) with a rectangular outline: the inside of a
bordered field, the fill of a button. Flat regions are the connected components of the pixels that differ
by at most :data:`EDGE` grey levels (any colour channel) from their right and lower neighbours; the
component's box is then grown outwards over its border, as far as the pixels differ from what lies beyond.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from debugkit.locate.heavy import heavy

EDGE = 10  # colour difference (0-255, any channel) that makes an edge
MIN_SIDE = 7  # px: smallest inside of a widget (a 13 px check box has a 9-11 px inside)
MAX_BORDER = 4  # px of border grown over
MIN_FILL = 0.55  # share of its box a flat region must fill


@dataclass
class Widget:
    box: tuple[int, int, int, int]  # x, y, w, h of the outline (border included), image pixels
    inner: tuple[int, int, int, int]  # the flat inside
    colour: tuple[int, int, int]  # the inside's colour

    @property
    def area(self) -> int:
        return self.box[2] * self.box[3]


@heavy
def find_widgets(rgb: Any, max_share: float = 0.5) -> list[Widget]:
    """Widgets on an RGB image (uint8 numpy array ``h x w x 3``), biggest last; regions covering more than
    ``max_share`` of the image (the page background) are left out."""
    import cv2
    import numpy as np

    height, width = rgb.shape[:2]
    if height < 4 or width < 4:
        return []
    rgb = np.ascontiguousarray(rgb)
    dx = _channel_max(cv2.absdiff(rgb[:, 1:], rgb[:, :-1])) > EDGE
    dy = _channel_max(cv2.absdiff(rgb[1:, :], rgb[:-1, :])) > EDGE
    edge = np.zeros((height, width), dtype=bool)
    edge[:, :-1] |= dx
    edge[:, 1:] |= dx
    edge[:-1, :] |= dy
    edge[1:, :] |= dy
    count, labels, stats, _ = cv2.connectedComponentsWithStats((~edge).astype(np.uint8), connectivity=4)
    out = []
    limit = max_share * width * height
    for index in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[index])
        if w < MIN_SIDE or h < MIN_SIDE or w * h > limit or area < MIN_FILL * w * h:
            continue
        if labels[y + h // 2, x + w // 2] == index:
            cy, cx = y + h // 2, x + w // 2
        else:  # a pixel of the region (its middle is text): looked for in its box only
            cy, cx = (int(v) for v in np.argwhere(labels[y : y + h, x : x + w] == index)[0])
            cy, cx = cy + y, cx + x
        colour = tuple(int(v) for v in rgb[cy, cx])
        box = _grow(rgb, (x, y, w, h))
        out.append(Widget(box=box, inner=(x, y, w, h), colour=colour))  # type: ignore[arg-type]
    out.sort(key=lambda widget: widget.area)
    return out


def _channel_max(diff: Any) -> Any:
    """Per pixel, the largest of the three channel differences (OpenCV: several times faster than numpy's max)."""
    import cv2

    red, green, blue = cv2.split(diff)
    return cv2.max(cv2.max(red, green), blue)


def _grow(rgb: Any, inner: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """Grow the flat inside over its border: on each side, along the middle row or column, to the last pixel
    that differs from the one :data:`MAX_BORDER` + 1 px beyond the inside (what lies outside). The first pixel
    outside the flat region may still have the inside's colour (edges mark both sides of a change).

    Pixels are compared as Python ints, a few at a time (a signed copy of the whole picture was 6 MB a tile)."""
    height, width = rgb.shape[:2]
    x, y, w, h = inner
    mid_x, mid_y = x + w // 2, y + h // 2

    def differs(a: tuple[int, int], b: tuple[int, int]) -> bool:
        first, second = rgb[a[1], a[0]].tolist(), rgb[b[1], b[0]].tolist()
        return max(abs(p - q) for p, q in zip(first, second, strict=True)) > EDGE

    def reach(start: int, step: int, limit: int, point: Any) -> int:
        outside = start + step * (MAX_BORDER + 1)
        if not 0 <= outside < limit:
            outside = max(0, min(limit - 1, outside))
        grown = 0
        for k in range(1, MAX_BORDER + 1):
            at = start + step * k
            if not 0 <= at < limit:
                break
            if differs(point(at), point(outside)):
                grown = k
            elif grown:
                break  # past the border: what lies outside
        return grown

    left = reach(x, -1, width, lambda v: (v, mid_y))
    right = reach(x + w - 1, 1, width, lambda v: (v, mid_y))
    top = reach(y, -1, height, lambda v: (mid_x, v))
    bottom = reach(y + h - 1, 1, height, lambda v: (mid_x, v))
    return (x - left, y - top, w + left + right, h + top + bottom)

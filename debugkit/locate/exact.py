"""Coordinates the artifacts carry themselves: exact, when present.

* Computer-use actions (``openai_cua``, ``anthropic_cua``, ``ui_tars``) carry ``x``/``y`` in viewport
  pixels of the single screenshot the model saw (spec 4.2), and no element id.
* Element dicts of stock Skyvern carry no rects (the cleanup even deletes ``rect``), but patched or
  future builds may add one. Read from the raw dicts (``skyvern_element_data`` or a tree node):
  ``rect``, ``bbox``, ``bounding_box``, ``boundingBox`` (a dict or an ``[x, y, w, h]`` list), or
  ``x``/``y``/``width``/``height`` on the element itself. Dicts may use ``left``/``top`` and
  ``right``/``bottom`` instead. When ``scrollX``/``scrollY`` (or ``scroll_x``/``scroll_y``) sit beside
  the rect, they are added: the rect was viewport-relative. Otherwise it is taken as document
  coordinates of the element's own frame.
"""

from __future__ import annotations

import math
from typing import Any

from debugkit.locate.model import DocBox

BOX_KEYS = ("rect", "bbox", "bounding_box", "boundingBox")
_SCROLL_KEYS = (("scrollX", "scrollY"), ("scroll_x", "scroll_y"))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def point_of(action: Any) -> tuple[float, float] | None:
    """A computer-use action's ``(x, y)``: from attributes ``x``/``y`` or a mapping with those keys."""
    if isinstance(action, dict):
        x, y = action.get("x"), action.get("y")
    else:
        x, y = getattr(action, "x", None), getattr(action, "y", None)
        raw = getattr(action, "raw", None)
        if (x is None or y is None) and isinstance(raw, dict):
            x, y = raw.get("x"), raw.get("y")
    x, y = _number(x), _number(y)
    if x is None or y is None or x < 0 or y < 0:
        return None
    return (x, y)


def _box_from_value(value: Any, scroll: tuple[float, float]) -> DocBox | None:
    """``[x, y, w, h]`` or a dict; ``scroll`` is added unless the dict carries its own scroll offsets."""
    if isinstance(value, list | tuple) and len(value) == 4:
        numbers = [_number(v) for v in value]
        if any(n is None for n in numbers):
            return None
        x, y, w, h = (float(n) for n in numbers)  # type: ignore[arg-type]
    elif isinstance(value, dict):
        x = _number(value.get("x", value.get("left")))
        y = _number(value.get("y", value.get("top")))
        w = _number(value.get("width", value.get("w")))
        h = _number(value.get("height", value.get("h")))
        right, bottom = _number(value.get("right")), _number(value.get("bottom"))
        if w is None and x is not None and right is not None:
            w = right - x
        if h is None and y is not None and bottom is not None:
            h = bottom - y
        if x is None or y is None or w is None or h is None:
            return None
        scroll = _scroll(value) or scroll
    else:
        return None
    if w < 0 or h < 0 or (w == 0 and h == 0):
        return None
    return (x + scroll[0], y + scroll[1], w, h)


def _scroll(node: dict[str, Any]) -> tuple[float, float] | None:
    for kx, ky in _SCROLL_KEYS:
        sx, sy = _number(node.get(kx)), _number(node.get(ky))
        if sx is not None or sy is not None:
            return (sx or 0.0, sy or 0.0)
    return None


def box_of(node: Any) -> DocBox | None:
    """The bounding box an element dict carries (document coordinates of its frame), if any."""
    if not isinstance(node, dict):
        return None
    scroll = _scroll(node) or (0.0, 0.0)
    for key in BOX_KEYS:
        if key in node:
            box = _box_from_value(node[key], scroll)
            if box is not None:
                return box
    if all(k in node for k in ("x", "y", "width", "height")):
        return _box_from_value([node[k] for k in ("x", "y", "width", "height")], scroll)
    return None

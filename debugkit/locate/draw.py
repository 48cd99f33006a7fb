"""Pictures of where elements were: numbered boxes on the ``screenshot_llm`` tiles (Pillow).

* Chosen elements (the ones the step's actions name) are drawn thick, in magenta, with a large label
  ``AAAR click``; other elements (the ``include_all`` overlay, like Skyvern's old one) thin, in teal,
  with a small label.
* Exact boxes are solid; approximate (re-rendered) boxes are dashed; boxes taken from Skyvern's own
  legacy overlay are solid and drawn just outside Skyvern's blue border. A computer-use click point is a
  ring with a cross.

Labels are drawn on an opaque tag so they stay readable on any page. Nothing here changes the
screenshots in the run: every function returns new bytes.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from debugkit.locate.model import EXACT, LEGACY, RENDERED, SCREEN, Location
from debugkit.model import StepData

CHOSEN = (230, 0, 126)  # magenta
OTHER = (0, 128, 128)  # teal
WHITE = (255, 255, 255)
_FONTS: dict[int, Any] = {}


def _font(size: int) -> Any:
    if size not in _FONTS:
        try:
            _FONTS[size] = ImageFont.load_default(size=size)
        except Exception:  # Pillow without FreeType: the fixed bitmap font
            _FONTS[size] = ImageFont.load_default()
    return _FONTS[size]


def _open_rgb(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.convert("RGB")


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt.upper() == "WEBP":
        image.save(out, "WEBP", quality=80, method=4)
    else:
        image.save(out, "PNG", optimize=False, compress_level=6)
    return out.getvalue()


def _dashed_rect(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], colour: Any, width: int) -> None:
    x0, y0, x1, y1 = box
    dash, gap = 8, 5
    for start in range(x0, x1 + 1, dash + gap):
        end = min(start + dash, x1)
        draw.line([(start, y0), (end, y0)], fill=colour, width=width)
        draw.line([(start, y1), (end, y1)], fill=colour, width=width)
    for start in range(y0, y1 + 1, dash + gap):
        end = min(start + dash, y1)
        draw.line([(x0, start), (x0, end)], fill=colour, width=width)
        draw.line([(x1, start), (x1, end)], fill=colour, width=width)


Rect = tuple[int, int, int, int]


class _Canvas:
    """A drawing surface that keeps label tags from covering each other."""

    def __init__(self, image: Image.Image) -> None:
        self.image = image
        self.draw = ImageDraw.Draw(image)
        self.tags: list[Rect] = []

    def label(self, text: str, box: Rect, colour: Any, size: int) -> None:
        """A tag with ``text`` at the first free spot around ``box`` (x0, y0, x1, y1)."""
        font = _font(size)
        left, top, right, bottom = self.draw.textbbox((0, 0), text, font=font)
        pad = max(2, size // 5)
        tag_w, tag_h = right - left + 2 * pad, bottom - top + 2 * pad
        x0, y0, x1, y1 = box
        width, height = self.image.size
        spots = [
            (x0, y0 - tag_h),  # above, left
            (x1 - tag_w, y0 - tag_h),  # above, right
            (x0 - tag_w, y0),  # left of the box
            (x1 + 1, y0),  # right of the box
            (x0, y1 + 1),  # below, left
            (x0, y0),  # inside, top left
        ]
        chosen = None
        for sx, sy in spots:
            sx = max(0, min(sx, width - tag_w))
            sy = max(0, min(sy, height - tag_h))
            rect = (sx, sy, sx + tag_w - 1, sy + tag_h - 1)
            if not any(_overlaps(rect, other) for other in self.tags):
                chosen = rect
                break
        if chosen is None:
            sx, sy = max(0, min(spots[0][0], width - tag_w)), max(0, min(spots[0][1], height - tag_h))
            chosen = (sx, sy, sx + tag_w - 1, sy + tag_h - 1)
        self.tags.append(chosen)
        self.draw.rectangle(chosen, fill=colour)
        self.draw.text((chosen[0] + pad - left, chosen[1] + pad - top), text, fill=WHITE, font=font)

    def element(
        self,
        location: Location,
        box: tuple[int, int, int, int],
        text: str,
        *,
        chosen: bool,
        offset: tuple[int, int] = (0, 0),
        scale: float = 1.0,
    ) -> None:
        colour = CHOSEN if chosen else OTHER
        width = 3 if chosen else 1
        x, y, w, h = box
        x0 = round((x - offset[0]) * scale)
        y0 = round((y - offset[1]) * scale)
        x1 = round((x + w - offset[0]) * scale)
        y1 = round((y + h - offset[1]) * scale)
        size = 16 if chosen else 11
        if w == 0 and h == 0:  # a click point
            radius = 12
            ring = (x0 - radius, y0 - radius, x0 + radius, y0 + radius)
            self.draw.ellipse(ring, outline=WHITE, width=5)
            self.draw.ellipse(ring, outline=colour, width=3)
            self.draw.line([(x0 - radius - 4, y0), (x0 + radius + 4, y0)], fill=colour, width=1)
            self.draw.line([(x0, y0 - radius - 4), (x0, y0 + radius + 4)], fill=colour, width=1)
            self.label(text, ring, colour, size)
            return
        grow = width + 2 if location.method == LEGACY else (width // 2 + 1)  # outside the element (and Skyvern's box)
        rect = (x0 - grow, y0 - grow, x1 + grow - 1, y1 + grow - 1)
        if chosen:  # a white halo keeps the box visible on any background
            halo = (rect[0] - 2, rect[1] - 2, rect[2] + 2, rect[3] + 2)
            self.draw.rectangle(halo, outline=WHITE, width=width + 4)
        if location.method in (RENDERED, SCREEN):
            _dashed_rect(self.draw, rect, colour, width)
        else:
            self.draw.rectangle(rect, outline=colour, width=width)
        self.label(text, rect, colour, size)


def _overlaps(a: Rect, b: Rect) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _text(element_id: str, action: str | None) -> str:
    return f"{element_id} {action}" if action else element_id


def _tag_guess(box: tuple[int, int, int, int]) -> Rect:
    """Roughly where a chosen element's tag goes (above its top left), so others keep clear of it."""
    x, y, _w, _h = box
    return (x - 4, y - 26, x + 150, y - 2)


def _chosen_actions(step: StepData) -> dict[str, str]:
    """element id -> the action type(s) that chose it, e.g. ``"click"`` or ``"input_text+click"``."""
    out: dict[str, list[str]] = {}
    for action in step.actions:
        if action.element_id:
            kinds = out.setdefault(action.element_id, [])
            if action.action_type not in kinds:
                kinds.append(action.action_type)
    return {k: "+".join(v) for k, v in out.items()}


def render_annotated(
    step: StepData,
    locations: dict[str, Location],
    index: int,
    *,
    chosen: Iterable[str] | None = None,
    fmt: str = "PNG",
) -> bytes | None:
    """Screenshot ``index`` of ``step.screenshots_llm`` with its elements' boxes drawn; None if unreadable."""
    shot = step.screenshots_llm[index] if 0 <= index < len(step.screenshots_llm) else None
    if shot is None or not shot.data or shot.error:
        return None
    try:
        image = _open_rgb(shot.data)
    except Exception:  # an unreadable screenshot has no picture
        return None
    actions = _chosen_actions(step)
    chosen_set = set(chosen) if chosen is not None else set(actions)
    canvas = _Canvas(image)
    here: list[tuple[str, Location, tuple[int, int, int, int]]] = []
    for element_id, location in locations.items():
        if not location.found:
            continue
        if location.tile == index:
            here.append((element_id, location, location.box))  # type: ignore[arg-type]
        here.extend((element_id, location, box) for tile, box in location.others if tile == index)
    points = {f"@{a.index}": a.action_type for a in step.actions}  # computer-use click points

    def emphasised(element_id: str) -> bool:
        return element_id in chosen_set or element_id in points

    # Chosen ones last (on top, their tags never pushed aside by others); then top to bottom.
    here.sort(key=lambda item: (emphasised(item[0]), item[2][1], item[2][0]))
    reserved = [_tag_guess(box) for element_id, _, box in here if emphasised(element_id)]
    canvas.tags.extend(reserved)  # others keep clear of where the chosen ones' tags will go
    for element_id, location, box in here:
        is_chosen = emphasised(element_id)
        if is_chosen and reserved:
            canvas.tags = canvas.tags[len(reserved) :]
            reserved = []
        if element_id in points:  # a computer-use click point, keyed "@<action index>"
            text = f"{points[element_id]} at {box[0]},{box[1]}"
        else:
            text = _text(element_id, actions.get(element_id) if is_chosen else None)
        canvas.element(location, box, text, chosen=is_chosen)
    return _encode(image, fmt)


def annotate(
    step: StepData,
    locations: dict[str, Location],
    out_dir: Path,
    *,
    chosen: Iterable[str] | None = None,
    tiles: Iterable[int] | None = None,
) -> list[Path]:
    """Write the step's screenshots with numbered boxes as PNGs in ``out_dir``; returns the files written.

    ``tiles`` (indices into ``screenshots_llm``) default to every screenshot a location points at.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = sorted(set(tiles) if tiles is not None else {loc.tile for loc in locations.values() if loc.found})
    written = []
    chosen_list = list(chosen) if chosen is not None else None
    for index in wanted:
        data = render_annotated(step, locations, index, chosen=chosen_list)  # type: ignore[arg-type]
        if data is None:
            continue
        path = out_dir / f"{step.order:02d}_{step.retry_index}_{step.step_id}_screenshot_llm_{index}.png"
        path.write_bytes(data)
        written.append(path)
    return written


def crop(
    step: StepData,
    location: Location,
    *,
    element_id: str | None = None,
    action: str | None = None,
    margin: int = 120,
    max_width: int = 640,
    fmt: str = "PNG",
) -> bytes | None:
    """A picture of the screenshot around one location, the box drawn and labelled; None if not placed."""
    if not location.found or location.tile is None or location.box is None:
        return None
    shot = step.screenshots_llm[location.tile] if 0 <= location.tile < len(step.screenshots_llm) else None
    if shot is None or not shot.data or shot.error:
        return None
    try:
        image = _open_rgb(shot.data)
    except Exception:  # an unreadable screenshot has no picture
        return None
    x, y, w, h = location.box
    left = max(0, x - margin)
    top = max(0, y - margin)
    right = min(image.width, x + w + margin)
    bottom = min(image.height, y + h + margin)
    region = image.crop((left, top, right, bottom))
    scale = min(1.0, max_width / max(1, region.width))
    if scale < 1.0:
        region = region.resize(
            (max(1, round(region.width * scale)), max(1, round(region.height * scale))), Image.LANCZOS
        )
    text = _text(element_id or "element", action)
    if location.covered_by is not None:  # the evidence for a click that something else intercepted
        over = location.covered_by
        text += f" - covered by <{over.tag}>" + (f" {over.element_id}" if over.element_id else "")
    _Canvas(region).element(location, location.box, text, chosen=True, offset=(left, top), scale=scale)
    return _encode(region, fmt)


def describe(location: Location | None, step: StepData | None = None) -> str:
    """One line for the terminal: which screenshot, where on it, and how sure."""
    if location is None:
        return "location unknown"
    if not location.found:
        prefix = "on a screenshot with Skyvern's own labels" if location.method == LEGACY else "location unknown"
        return f"{prefix}: {location.reason}" if location.reason else prefix
    x, y, w, h = location.box  # type: ignore[misc]
    total = len(step.screenshots_llm) if step is not None else None
    shot = step.screenshots_llm[location.tile] if step is not None and location.tile is not None else None
    size = f" of {shot.width}x{shot.height}" if shot is not None and shot.width else ""
    which = f"screenshot {location.tile + 1}" + (f" of {total}" if total else "")  # type: ignore[operator]
    where = f"at {x},{y}" if location.is_point else f"x {x}-{x + w}, y {y}-{y + h}"
    how = {
        EXACT: "exact",
        RENDERED: "approximate, re-rendered",
        SCREEN: "approximate, found on the screenshot",
        LEGACY: "Skyvern's own box",
    }.get(location.method or "", location.method or "")
    if location.frame_method:
        how += ", in an iframe"
    conf = f", confidence {location.confidence:.2f}" if location.confidence is not None else ""
    area = f" ({_area(location, shot.width, shot.height)})" if shot is not None and shot.width and shot.height else ""
    covered = f"; covered by {location.covered_by.describe()}" if location.covered_by is not None else ""
    return f"{which}, {where}{size}{area} [{how}{conf}]{covered}"


def _area(location: Location, width: int, height: int) -> str:
    x, y, w, h = location.box  # type: ignore[misc]
    cx, cy = (x + w / 2) / width, (y + h / 2) / height
    vertical = "top" if cy < 1 / 3 else "bottom" if cy > 2 / 3 else "middle"
    horizontal = "left" if cx < 1 / 3 else "right" if cx > 2 / 3 else "centre"
    return f"{vertical} {horizontal}" if (vertical, horizontal) != ("middle", "centre") else "centre"


def overlay_items(
    step: StepData, locations: dict[str, Location], *, chosen: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Boxes as percentages of their tile, for an HTML overlay drawn over the (scaled) screenshot."""
    chosen_set = set(chosen) if chosen is not None else set(_chosen_actions(step))
    items = []
    for element_id, location in locations.items():
        if not location.found or location.tile is None:
            continue
        shot = step.screenshots_llm[location.tile]
        if not shot.width or not shot.height:
            continue
        x, y, w, h = location.box  # type: ignore[misc]
        items.append(
            {
                "element_id": element_id,
                "tile": location.tile,
                "method": location.method,
                "chosen": element_id in chosen_set,
                "box": [x, y, w, h],
                "percent": [
                    round(100 * x / shot.width, 3),
                    round(100 * y / shot.height, 3),
                    round(100 * w / shot.width, 3),
                    round(100 * h / shot.height, 3),
                ],
            }
        )
    return items

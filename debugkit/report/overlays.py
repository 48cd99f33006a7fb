"""The "element numbers" overlay of the HTML report: every interactable element's box and number drawn over
the screenshots the model saw, like Skyvern's old overlay, the chosen ones emphasised.

The boxes are plain ``<span>`` elements positioned by generated CSS classes (``ox1234`` is
``left: 12.34%``, in steps of 0.01 %): class names and percentages made from numbers only, never from
page text, and added to the report's one hashed style sheet, so no element needs a ``style`` attribute
(the Content-Security-Policy allows none). Which elements: ``overlays[step_id]`` from
:func:`debugkit.locate.report.locate_for_report` (every interactable element), or without it the
step's chosen elements in ``Triage.locations``.
"""

from __future__ import annotations

from typing import Any

from debugkit.analysis.triage import Triage
from debugkit.locate import Location, chosen_ids, overlay_items
from debugkit.locate.report import Overlays
from debugkit.model import StepData
from debugkit.report.images import ImageSet
from debugkit.report.sanitize import Sanitizer

__all__ = ["OVERLAY_LIMIT", "OverlayDrawer"]

OVERLAY_LIMIT = 800  # boxes drawn per step (chosen ones first); a page rarely has more interactable elements


class OverlayDrawer:
    """The overlay of each step (:meth:`step`), and the style rules its boxes use (:meth:`css`)."""

    def __init__(self, t: Triage, overlays: Overlays | None, images: ImageSet, sanitizer: Sanitizer) -> None:
        self.t = t
        self.overlays = overlays
        self.images = images
        self._text = sanitizer.text
        self.rules: dict[str, str] = {}  # class name -> declaration, for the report's style sheet

    def css(self) -> str:
        """The rules of every class the boxes drawn so far use."""
        rules = sorted(self.rules.items(), key=lambda kv: (kv[0][:2], int(kv[0][2:])))
        return "".join(f".ob.{name}{{{declaration}}}" for name, declaration in rules)

    def _overlay_locations(self, step: StepData) -> tuple[dict[str, Location], bool]:
        """The step's overlay (from ``overlays``, else its chosen elements in ``t.locations``); and whether
        it is the full one."""
        if self.overlays is not None and step.step_id in self.overlays:
            return self.overlays[step.step_id], True
        locations: dict[str, Location] = {}
        for action in step.actions:
            location = self.t.locations.get((step.step_id, action.index))
            if location is None:
                continue
            if action.element_id and not location.is_point:
                locations.setdefault(action.element_id, location)
            else:
                locations[f"@{action.index}"] = location
        return locations, False

    def step(self, step: StepData) -> dict[str, Any] | None:
        """Per ``screenshot_llm`` tile, the boxes to draw; None when the step has nothing located."""
        locations, full = self._overlay_locations(step)
        if not locations:
            return None
        chosen = set(chosen_ids(step)) | {k for k in locations if k.startswith("@")}
        points = {f"@{a.index}": a.action_type for a in step.actions}
        kinds: dict[str, list[str]] = {}
        for action in step.actions:
            if action.element_id:
                kinds.setdefault(action.element_id, [])
                if action.action_type not in kinds[action.element_id]:
                    kinds[action.element_id].append(action.action_type)
        items = overlay_items(step, locations, chosen=chosen)
        for element_id, location in locations.items():  # the other tiles that show it (the tiles' overlap)
            if location.found:
                for tile, box in location.others:
                    if 0 <= tile < len(step.screenshots_llm):
                        copy = Location(location.method, tile, box, location.confidence)
                        items.extend(overlay_items(step, {element_id: copy}, chosen=chosen))
        items.sort(key=lambda item: (not item["chosen"], item["box"][1], item["box"][0]))
        items = items[:OVERLAY_LIMIT]
        tiles: dict[int, list[dict[str, Any]]] = {}
        for item in items:
            box = self._overlay_box(step, item, points, kinds)
            if box is not None:
                tiles.setdefault(item["tile"], []).append(box)
        for boxes in tiles.values():
            boxes.reverse()  # chosen ones last: drawn on top
        placed = {item["element_id"] for item in items}
        unplaced = sum(1 for k, loc in locations.items() if not loc.found and not k.startswith("@"))
        chosen_placed = len(placed & chosen)
        summary = f"{len(placed)} element(s) placed ({chosen_placed} chosen)"
        if unplaced:
            summary += f", {unplaced} not placed"
        if not full:
            summary += "; only the chosen elements (the report was made without the full overlay)"
        if not tiles:
            summary = f"no element could be placed on these screenshots ({unplaced} not placed)"
        return {"tiles": tiles, "summary": self._text(summary, 300), "full": full, "any": bool(tiles)}

    def _overlay_box(
        self, step: StepData, item: dict[str, Any], points: dict[str, str], kinds: dict[str, list[str]]
    ) -> dict[str, Any] | None:
        """One box as classes (positions in percent of the shown picture), or None if it is not in it."""
        shot = step.screenshots_llm[item["tile"]]
        image = self.images.get(shot)
        if image.error or not image.width or not image.height or not image.thumb_width:
            return None
        width = image.width
        height = image.height  # a cropped thumbnail shows only the top of the page
        if image.cropped and image.thumb_height:
            height = max(1, round(image.thumb_height * image.width / image.thumb_width))
        x, y, w, h = item["box"]
        if x >= width or y >= height or x + w < 0 or y + h < 0:
            return None
        x0, y0 = max(0.0, x), max(0.0, y)
        x1, y1 = min(float(width), x + w), min(float(height), y + h)
        element_id = item["element_id"]
        point = element_id.startswith("@")
        if point:
            label = f"{points.get(element_id, 'click')} at {x},{y}"
        elif item["chosen"]:
            label = " ".join([element_id, "+".join(kinds.get(element_id, []))]).strip()
        else:
            label = element_id
        classes = [
            "ob",
            self._rule("ox", "left", 100 * x0 / width),
            self._rule("oy", "top", 100 * y0 / height),
            "chosen" if item["chosen"] else "other",
            {"exact": "exact", "rendered": "approx", "legacy": "legacy"}.get(item["method"] or "", "approx"),
        ]
        if point:
            classes.append("pt")
        else:
            classes.append(self._rule("ow", "width", 100 * (x1 - x0) / width))
            classes.append(self._rule("oh", "height", 100 * (y1 - y0) / height))
            if 100 * y0 / height < 4:
                classes.append("lin")  # at the top edge: the label goes inside the box
        return {"classes": " ".join(classes), "label": self._text(label, 120)}

    def _rule(self, prefix: str, prop: str, percent: float) -> str:
        """A class for ``prop: <percent>%`` (0.01 % steps), added to the report's style sheet."""
        hundredths = max(0, min(10000, round(percent * 100)))
        name = f"{prefix}{hundredths}"
        self.rules.setdefault(name, f"{prop}:{hundredths / 100:g}%")
        return name

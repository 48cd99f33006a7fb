"""Screenshots without secrets: an opaque box over every secret field, or the image left out.

Which fields a step's screenshots may show is :mod:`debugkit.redaction.screens`' rule. Each field is
placed with :mod:`debugkit.locate` (the locations the report already computed, else
:func:`debugkit.locate.locate_step`); a field inside an iframe that cannot be placed itself is covered
by its outermost iframe's box. Then, per screenshot:

- a ``screenshot_llm`` tile of the step's first screenshot set gets the field's box on that tile (its
  own tile and the other tiles that show it);
- any other screenshot (``screenshot_action``, ``screenshot_final``, later ``screenshot_llm`` sets: taken
  at whatever the scroll position was) is first registered against the tiles
  (:func:`debugkit.redaction.register.register`); its scroll offset in the page turns each field's
  document box into a box on it. A field that stays put while the page scrolls (``position: fixed``) is
  covered where it sits in the viewport as well.

Fail closed: a screenshot that may show a field is **left out** (``data`` dropped, ``error`` saying why:
the report shows a placeholder, the bundle omits it) when the field cannot be placed with confidence
(:data:`MIN_CONFIDENCE`), when the screenshot cannot be registered, or when it is larger than
:data:`MAX_PIXELS`. Masked screenshots are re-encoded as PNG, so nothing but their pixels remains.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageDraw

from debugkit import allocator
from debugkit.locate import Location, StepLocator, locate_step
from debugkit.model import RunData, Screenshot, StepData
from debugkit.redaction.register import matches, shares
from debugkit.redaction.screens import SecretField, secret_fields

RIVAL_MARGIN = 0.2  # another place that matches within this share of disagreeing rows of the best: ambiguous
MIN_CONFIDENCE = 0.8  # below this a location is a guess (e.g. a re-render not checked against the pixels)
PAD = 4  # pixels added around an exact box
PAD_APPROXIMATE = 8  # ... around a re-rendered (approximate) one
MAX_PIXELS = 40_000_000  # larger images are not decoded for masking, nor copied anywhere
MAX_SPREAD = 6  # px: registrations against different tiles must agree on the scroll offset this well
GROWTH = 400  # px the page may have grown below its last tile by the time a later screenshot is taken
FILL = (0, 0, 0)
LEFT_OUT = "left out"

Box = tuple[int, int, int, int]


@dataclass
class ShotMask:
    """What was done to one screenshot."""

    step_id: str
    artifact_type: str
    name: str
    artifact_id: str | None = None
    fields: list[str] = field(default_factory=list)  # "AAAG (card)" for each field it may show
    boxes: list[Box] = field(default_factory=list)  # filled boxes, in the image's pixels
    left_out: str | None = None  # why the image does not go out

    @property
    def outcome(self) -> str:
        return "left out" if self.left_out else "masked" if self.boxes else "kept"

    def to_dict(self) -> dict[str, Any]:
        return {
            "step_id": self.step_id,
            "artifact_type": self.artifact_type,
            "artifact_id": self.artifact_id,
            "name": self.name,
            "outcome": self.outcome,
            "fields": self.fields,
            "boxes": [list(b) for b in self.boxes],
            "reason": self.left_out,
        }


@dataclass
class MaskReport:
    """Every screenshot that may show a secret field, masked or left out."""

    shots: list[ShotMask] = field(default_factory=list)

    @property
    def masked(self) -> list[ShotMask]:
        return [s for s in self.shots if s.outcome == "masked"]

    @property
    def left_out(self) -> list[ShotMask]:
        return [s for s in self.shots if s.outcome == "left out"]

    def summary(self) -> str | None:
        """One line for the terminal, or None when no screenshot needed a mask."""
        if not self.masked and not self.left_out:
            return None
        text = f"{len(self.masked)} screenshot(s) masked over secret fields"
        if self.left_out:
            text += (
                f"; {len(self.left_out)} left out: a secret field could not be masked with confidence "
                f"({self.left_out[0].left_out})"
            )
        return text


def mask_run(
    run: RunData,
    *,
    steps: Iterable[StepData] | None = None,
    locations: dict[str, dict[str, Location]] | None = None,
    render: bool = True,
) -> MaskReport:
    """Mask (in place) every screenshot of ``steps`` (default: all) that may show a secret field.

    ``locations``: step_id -> {element_id: Location} already computed (the report's overlays); what is
    missing is located here. A screenshot left out keeps ``data=None`` and an ``error`` starting "left out".
    """
    report = MaskReport()
    fields = secret_fields(run)
    for step in run.steps if steps is None else steps:
        wanted = fields.get(step.step_id)
        if wanted:
            report.shots.extend(mask_step(step, wanted, (locations or {}).get(step.step_id), render=render))
            allocator.trim()  # the CLI's process: the step's decoded pictures, freed, go back (15 MB on a long run)
    return report


def mask_step(
    step: StepData, fields: list[SecretField], locations: dict[str, Location] | None = None, *, render: bool = True
) -> list[ShotMask]:
    """Mask (in place) the step's screenshots over ``fields``; what was done to each."""
    shots = _shots(step)
    if not fields or not shots:
        return []
    plan = _StepPlan(step, fields, locations or {}, render)
    results = [plan.plan(shot) for shot in shots]  # every plan first: registration reads the unmasked tiles
    for shot, result in zip(shots, results, strict=True):
        _apply(shot, result)
    return results


def _shots(step: StepData) -> list[Screenshot]:
    shots = [*step.screenshots_llm, *step.screenshots_action]
    if step.screenshot_final is not None:
        shots.append(step.screenshot_final)
    return [s for s in shots if s.data is not None and not s.error]


@dataclass
class _Target:
    """Where one field is: its location on the tiles, or why it cannot be placed."""

    label: str
    location: Location | None = None
    problem: str | None = None
    doc_box: tuple[float, float, float, float] | None = None
    fixed: bool = False


class _StepPlan:
    def __init__(self, step: StepData, fields: list[SecretField], known: dict[str, Location], render: bool) -> None:
        self.step = step
        self.indices, self.offsets = _tiles(step)
        self._grey: dict[int, Image.Image | None] = {}
        self.targets = self._targets(fields, dict(known), render)

    # --- where the fields are ---------------------------------------------------------------------

    def _targets(self, fields: list[SecretField], known: dict[str, Location], render: bool) -> list[_Target]:
        ids = {f.element_id for f in fields if f.element_id} | {f.frame_chain[0] for f in fields if f.frame_chain}
        missing = [i for i in sorted(ids) if i not in known]
        if missing:
            known.update(locate_step(self.step, ids=missing, render=render))
        targets = []
        for item in fields:
            label = f"the {item.kind} field {item.element_id or '(no element)'}"
            if item.element_id is None:
                targets.append(_Target(label, problem=f"a {item.kind} value was typed without an element to mask"))
                continue
            location = known.get(item.element_id)
            how = why = ""
            if not _confident(location) and item.frame_chain:
                frame = known.get(item.frame_chain[0])
                if _confident(frame):
                    location, how = frame, f" (masked with its whole iframe {item.frame_chain[0]})"
                else:
                    why = f"; its iframe {item.frame_chain[0]} neither: {_why(frame)}"
            if not _confident(location):
                problem = f"{label} could not be placed with confidence: {_why(location)}{why}"
                targets.append(_Target(label, location, problem))
                continue
            target = _Target(label + how, location)
            target.doc_box, target.fixed = self._doc_box(location)
            targets.append(target)
        return targets

    def _doc_box(self, location: Location) -> tuple[tuple[float, float, float, float] | None, bool]:
        """The field's box in document pixels (the union over the tiles that show it), and whether it is
        fixed (at the same place in the viewport on tiles taken at different scroll offsets)."""
        placed = [(t, b) for t, b in [(location.tile, location.box), *location.others] if t in self.indices and b]
        if not placed:
            return None, False
        boxes = [(b[0], b[1] + self.offsets[self.indices.index(t)], b[2], b[3]) for t, b in placed]
        fixed = len({round(b[1]) for _, b in placed}) == 1 and len({round(b[1]) for b in boxes}) > 1
        if fixed:
            boxes = boxes[:1]
        left, top = min(b[0] for b in boxes), min(b[1] for b in boxes)
        right, bottom = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
        return (left, top, right - left, bottom - top), fixed

    # --- one screenshot -------------------------------------------------------------------------------

    def plan(self, shot: Screenshot) -> ShotMask:
        step = self.step
        result = ShotMask(step.step_id, shot.artifact_type, shot.name, shot.artifact_id)
        result.fields = [t.label for t in self.targets]
        if (shot.width or 0) * (shot.height or 0) > MAX_PIXELS:
            result.left_out = f"{shot.width}x{shot.height} is over the {MAX_PIXELS // 1_000_000} Mpixel cap"
            return result
        problems = [t.problem for t in self.targets if t.problem]
        if problems:
            result.left_out = problems[0]
            return result
        index = next((i for i, s in enumerate(step.screenshots_llm) if s is shot), None)
        if index is not None and index in self.indices:
            result.boxes = self._tile_boxes(index, shot)
            return result
        scroll = self._scroll(shot)
        if scroll is None:
            result.left_out = (
                f"could not tell where on the page this screenshot was taken, so {self.targets[0].label} "
                "cannot be placed on it"
            )
            return result
        result.boxes = self._boxes_at(scroll, shot)
        return result

    def _tile_boxes(self, index: int, shot: Screenshot) -> list[Box]:
        """On a tile of the first set: each field's document box at the tile's offset (every tile it reaches,
        not only those the location names), or where the location puts it."""
        boxes = []
        offset = self.offsets[self.indices.index(index)]
        for target in self.targets:
            location = target.location
            assert location is not None
            if target.doc_box is not None:
                boxes.extend(self._at(target, offset, shot))
                continue
            placed = [(location.tile, location.box), *location.others]
            boxes.extend(_padded(box, location) for tile, box in placed if tile == index and box is not None)
        return boxes

    def _scroll(self, shot: Screenshot) -> float | None:
        """The document y of the screenshot's top, from how it lines up with the tiles; None unless every
        match of every tile names the same place (a page that repeats itself matches at several: left out)."""
        image = _grey(shot.data)
        if image is None:
            return None
        bottom = self.offsets[-1] + GROWTH if self.offsets else 0.0
        reach = image.height // 2
        agree: list[tuple[float, dict[int, float]]] = []  # per tile: its offset, and its share at each shift
        candidates: list[float] = []
        for position, index in enumerate(self.indices):
            tile = self._tile(index)
            if tile is None or tile.size != image.size:
                continue
            offset = self.offsets[position]  # the screenshot's top lies between the page top and its bottom
            found = shares(image, tile, range(max(-reach, -round(offset)), min(reach, round(bottom - offset)) + 1))
            agree.append((offset, found))
            candidates += [offset + shift for shift in matches(found)]
        # Each tile may match the screenshot where it overlaps (a fixed dialog or banner can keep some tiles
        # from matching at all). The best match must stand alone: any other place that matches nearly as
        # well (a page that repeats itself) makes the scroll unknown.
        if not candidates:
            return None

        def share_at(scroll: float) -> float:
            return min(f.get(round(scroll - offset), 1.0) for offset, f in agree)

        best = min(candidates, key=share_at)
        rivals = [c for c in candidates if abs(c - best) > MAX_SPREAD and share_at(c) < share_at(best) + RIVAL_MARGIN]
        return None if rivals else best

    def _boxes_at(self, scroll: float, shot: Screenshot) -> list[Box]:
        return [box for target in self.targets for box in self._at(target, scroll, shot)]

    def _at(self, target: _Target, scroll: float, shot: Screenshot) -> list[Box]:
        """The field's boxes on a screenshot whose top is at document y ``scroll`` (padded; none if outside)."""
        location = target.location
        assert location is not None and target.doc_box is not None
        x, y, w, h = target.doc_box
        candidates = [(math.floor(x), math.floor(y - scroll), math.ceil(w) + 1, math.ceil(h) + 1)]
        if target.fixed and location.box is not None:
            candidates.append(location.box)
        width, height = shot.width or 0, shot.height or 0
        boxes = []
        for box in candidates:
            padded = _padded(box, location)
            if padded[0] < width and padded[1] < height and padded[0] + padded[2] > 0 and padded[1] + padded[3] > 0:
                boxes.append(padded)
        return boxes

    def _tile(self, index: int) -> Image.Image | None:
        if index not in self._grey:
            shot = self.step.screenshots_llm[index]
            self._grey[index] = _grey(shot.data) if (shot.width or 0) * (shot.height or 0) <= MAX_PIXELS else None
        return self._grey[index]


def _tiles(step: StepData) -> tuple[list[int], list[float]]:
    """The first screenshot set's indices and document offsets (as debugkit.locate measures them)."""
    locator = StepLocator(step, render=False)
    try:
        tiles = locator.tiles()
    except Exception:  # no tiles known: only exact tile locations can be used
        return [], []
    finally:
        locator.release()  # its decoded tiles (a cycle with its OnScreen kept them until the collector ran)
    if tiles is None:
        return [], []
    return list(tiles.indices), [float(o) for o in tiles.offsets]


def _why(location: Location | None) -> str:
    if location is None:
        return "not located"
    if location.found:
        detail = f" ({location.reason})" if location.reason else ""
        return f"placed with confidence {location.confidence or 0:.2f}, below {MIN_CONFIDENCE}{detail}"
    return location.reason or "not located"


def _confident(location: Location | None) -> bool:
    return (
        location is not None
        and location.found
        and location.box is not None
        and not location.is_point
        and (location.confidence or 0) >= MIN_CONFIDENCE
    )


def _padded(box: Box, location: Location) -> Box:
    pad = PAD_APPROXIMATE if location.approximate else PAD
    x, y, w, h = box
    return (x - pad, y - pad, w + 2 * pad, h + 2 * pad)


def _grey(data: bytes | None) -> Image.Image | None:
    image = _open(data)
    return image.convert("L") if image is not None else None


def _open(data: bytes | None) -> Image.Image | None:
    if not data:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                return None
            image.load()
            return image
    except Exception:  # undecodable: nothing to register
        return None


def _apply(shot: Screenshot, result: ShotMask) -> None:
    if result.left_out:
        shot.data = None
        shot.error = f"{LEFT_OUT}: {result.left_out}"
        return
    if not result.boxes:
        return
    image = _open(shot.data)
    if image is None:
        shot.data = None
        shot.error = f"{LEFT_OUT}: the screenshot could not be decoded to mask it"
        result.left_out = "the screenshot could not be decoded to mask it"
        return
    image = image.convert("RGB")
    draw = ImageDraw.Draw(image)
    for x, y, w, h in result.boxes:
        draw.rectangle((x, y, x + w - 1, y + h - 1), fill=FILL)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6)
    shot.data = out.getvalue()
    shot.size_bytes = len(shot.data)

"""The support bundle's members, each redacted the way its content allows, or left out.

- JSON members (the HAR, parsed LLM responses, the element tree) are parsed and redacted as
  structures. A damaged HAR keeps the complete entries before the damage (parsed, then redacted); when
  none can be read it is left out. Any other damaged JSON is left out: what cannot be parsed cannot be
  redacted.
- Text members (prompts) are redacted line by line: the collected values and the shape rules of
  :mod:`debugkit.redaction.scan` (cookies, credentials, tokens, JWTs, card numbers, ``key=value`` secrets).
- Screenshots come from the masked run model (:mod:`debugkit.redaction.masking`), re-encoded as PNG, so
  only their pixels go out; one the masking left out is not in the bundle.
- Nothing bigger than :data:`MAX_MEMBER_BYTES`, and no image over
  :data:`debugkit.redaction.masking.MAX_PIXELS`, is copied, whatever ``--max-size`` allows.

Every member left out is named with the reason (``manifest.json`` lists them).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from PIL import Image

from debugkit import __version__
from debugkit.model import ArtifactRef, ArtifactUnavailable, RawRun, Screenshot, StepData
from debugkit.parsers.har import entry_slices, parse_har
from debugkit.parsers.jsondoc import DamagedArtifact, decode_text, load_json
from debugkit.redaction import Redactor
from debugkit.redaction.masking import LEFT_OUT, MAX_PIXELS

MIB = 1024 * 1024
MAX_MEMBER_BYTES = 32 * MIB  # per member copied into a bundle
SCREENSHOT_KINDS = frozenset({"screenshot_llm", "screenshot_action", "screenshot_final"})
STEP_TYPES = {
    "llm_response_parsed": "actions",
    "visible_elements_tree": "tree",
    "llm_prompt": "prompt",
}


@dataclass
class Member:
    name: str
    data: bytes
    kind: str
    step_id: str | None = None
    artifact_ids: list[str] = field(default_factory=list)
    redaction: str | None = None  # how it was made safe: "structured", "salvaged ...", "line by line", "masked"


@dataclass
class Members:
    """Members built so far, what was left out (and why), and the images the masking produced."""

    items: list[Member] = field(default_factory=list)
    left_out: list[dict[str, Any]] = field(default_factory=list)
    cleared_images: set[str] = field(default_factory=set)

    def leave_out(self, name: str, reason: str, ref: ArtifactRef | Screenshot | None = None) -> None:
        entry: dict[str, Any] = {"name": name, "reason": reason}
        if ref is not None:
            entry["artifact_id"] = ref.artifact_id
            entry["artifact_type"] = ref.artifact_type
        self.left_out.append(entry)


def dump_json(value: Any, *, indent: bool = False) -> bytes:
    """JSON bytes of any parsed document: integers past 64 bits kept, NaN and infinities as null."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else 0)
    except TypeError:  # orjson takes no integer past 64 bits
        return json.dumps(_finite(value), indent=2 if indent else None, ensure_ascii=False, allow_nan=False).encode()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _read(ref: ArtifactRef, members: Members, name: str) -> bytes | None:
    try:
        return ref.read()
    except ArtifactUnavailable as exc:
        members.leave_out(name, exc.reason, ref)
        return None


def _over_cap(members: Members, name: str, data: bytes, ref: ArtifactRef) -> bool:
    if len(data) <= MAX_MEMBER_BYTES:
        return False
    members.leave_out(name, _over_cap_reason(len(data)), ref)
    return True


def _over_cap_reason(size: int) -> str:
    return f"{size / MIB:.1f} MiB is over the {MAX_MEMBER_BYTES // MIB} MiB cap per member"


def har_members(raw: RawRun, redactor: Redactor | None, members: Members) -> None:
    refs = [r for r in raw.artifacts if r.artifact_type == "har"]
    for number, ref in enumerate(refs):
        name = "network.har" if len(refs) == 1 else f"network_{number}.har"
        size = ref.known_size()
        if size is not None and size > MAX_MEMBER_BYTES:  # left out without reading it (a long run's: 60 MB)
            members.leave_out(name, _over_cap_reason(size), ref)
            continue
        data = _read(ref, members, name)
        if data is None or _over_cap(members, name, data, ref):
            continue
        ids = [ref.artifact_id] if ref.artifact_id else []
        if redactor is None:  # --no-redact: as it is
            members.items.append(Member(name, data, "har", ref.step_id, ids))
            continue
        redacted = redacted_har(data, redactor)
        if redacted is not None:
            members.items.append(Member(name, redacted, "har", ref.step_id, ids, "structured"))
            continue
        try:
            doc, how = load_json(data, ref.name), "structured"
        except DamagedArtifact:
            entries = [e.raw for e in parse_har(data, keep_raw=True).entries if e.raw]
            if not entries:
                reason = "not valid JSON and no complete entry could be read: it cannot be redacted"
                members.leave_out(name, reason, ref)
                continue
            creator = {"name": "debugkit", "version": __version__}
            doc = {"log": {"version": "1.2", "creator": creator, "entries": entries}}
            how = f"salvaged: the {len(entries)} complete entries of a damaged HAR; the unreadable rest is left out"
        members.items.append(Member(name, dump_json(redactor.har(doc)), "har", ref.step_id, ids, how))


_ENTRIES_PLACE = "debugkit:entries-go-here"


def redacted_har(data: bytes, redactor: Redactor) -> bytes | None:
    """The HAR redacted as :meth:`Redactor.har` does, but a slice of entries at a time, written as it goes:
    never the whole document as Python objects (several times the file). None when the entries cannot be
    read in slices (a damaged HAR, an unusual layout): the caller redacts the whole document."""
    sliced = entry_slices(data)
    if sliced is None:
        return None
    skeleton, slices = sliced
    skeleton["log"]["entries"] = [_ENTRIES_PLACE]
    around = dump_json(redactor.json(skeleton))  # the pages, the creator, any other field
    place = dump_json([_ENTRIES_PLACE])
    if around.count(place) != 1:
        return None
    head, tail = around.split(place)
    out = io.BytesIO()
    out.write(head + b"[")
    first = True
    try:
        for chunk in slices:
            for entry in chunk:
                if not first:
                    out.write(b",")
                out.write(dump_json(redactor.har_entry(entry)))
                first = False
            del chunk
    except orjson.JSONDecodeError:
        return None
    out.write(b"]" + tail)
    return out.getvalue()


def step_members(raw: RawRun, step: StepData, redactor: Redactor | None, members: Members) -> None:
    """The decisive step's parsed responses, element tree, prompts and screenshots."""
    folder = f"step_{step.order}.{step.retry_index}_{step.step_id}"
    refs = sorted((r for r in raw.artifacts if r.step_id == step.step_id), key=ArtifactRef.sort_key)
    counters: Counter[str] = Counter()
    for ref in refs:
        kind = STEP_TYPES.get(ref.artifact_type)
        if kind is None:
            continue
        number = counters[ref.artifact_type]
        counters[ref.artifact_type] += 1
        if kind == "prompt":
            name = f"{folder}/llm_prompt_{number}.txt"
        elif kind == "tree":
            name = f"{folder}/element_tree.json"
        else:
            name = f"{folder}/llm_response_parsed_{number}.json"
        data = _read(ref, members, name)
        if data is None or _over_cap(members, name, data, ref):
            continue
        ids = [ref.artifact_id] if ref.artifact_id else []
        if kind == "prompt":
            text = decode_text(data)
            if redactor is not None:
                text = "".join(redactor.text(line) for line in text.splitlines(keepends=True))
            how = "line by line" if redactor is not None else None
            members.items.append(Member(name, text.encode(), kind, step.step_id, ids, how))
            continue
        try:
            doc = load_json(data, ref.name)
        except DamagedArtifact:
            if redactor is None:
                members.items.append(Member(name, data, kind, step.step_id, ids))
            else:
                members.leave_out(name, "not valid JSON: it cannot be redacted", ref)
            continue
        body = dump_json(redactor.json(doc) if redactor else doc, indent=True)
        members.items.append(Member(name, body, kind, step.step_id, ids, "structured" if redactor else None))
    screenshot_members(step, folder, members, masked=redactor is not None)


def screenshot_members(step: StepData, folder: str, members: Members, *, masked: bool) -> None:
    shots = [*step.screenshots_llm, *step.screenshots_action]
    if step.screenshot_final is not None:
        shots.append(step.screenshot_final)
    counters: Counter[str] = Counter()
    for shot in shots:
        number = counters[shot.artifact_type]
        counters[shot.artifact_type] += 1
        name = f"{folder}/{shot.artifact_type}_{number}.png"
        if shot.error and shot.error.startswith(LEFT_OUT):
            members.leave_out(name, shot.error.removeprefix(LEFT_OUT + ": "), shot)
            continue
        if shot.data is None or shot.error:
            continue  # unreadable: named among the run's problems
        if (shot.width or 0) * (shot.height or 0) > MAX_PIXELS:
            members.leave_out(name, _pixel_cap(shot), shot)
            continue
        data = reencode_png(shot.data)
        if data is None:
            members.leave_out(name, "the image could not be decoded to copy its pixels", shot)
            continue
        if len(data) > MAX_MEMBER_BYTES:
            members.leave_out(name, f"over the {MAX_MEMBER_BYTES // MIB} MiB cap per member", shot)
            continue
        ids = [shot.artifact_id] if shot.artifact_id else []
        kind = shot.artifact_type if shot.artifact_type in SCREENSHOT_KINDS else "screenshot_final"
        members.items.append(Member(name, data, kind, step.step_id, ids, "masked" if masked else None))
        members.cleared_images.add(_digest(data))


def _pixel_cap(shot: Screenshot) -> str:
    return f"{shot.width}x{shot.height} is over the {MAX_PIXELS // 1_000_000} Mpixel cap"


def reencode_png(data: bytes, factor: float = 1.0) -> bytes | None:
    """The image's pixels as a fresh PNG (no metadata, no trailing bytes), scaled by ``factor``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    return None
                image.load()
                converted = image.convert("RGB")
        if factor != 1.0:
            size = (max(int(converted.width * factor), 1), max(int(converted.height * factor), 1))
            converted = converted.resize(size)
        out = io.BytesIO()
        converted.save(out, format="PNG", compress_level=6)
        return out.getvalue()
    except Exception:  # an undecodable image is not copied
        return None


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

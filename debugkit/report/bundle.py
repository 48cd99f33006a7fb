"""``debugkit bundle``: one ZIP for a support ticket, redacted by default and fail-closed.

Members: ``summary.md``, ``triage.json``, ``report.html``, the redacted HAR, and the decisive
step's screenshots, parsed actions, element tree and prompt; ``manifest.json`` describes them
all. After the members are built, every one is searched for every secret value collected; if
any remains, nothing is written.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from PIL import Image

from debugkit import __version__
from debugkit.analysis.triage import Triage, analyse
from debugkit.errors import DebugkitError
from debugkit.fsutil import write_atomic
from debugkit.model import ArtifactRef, ArtifactUnavailable, RawRun, RunData, StepData
from debugkit.parsers.jsondoc import DamagedArtifact, decode_text, load_json
from debugkit.redaction import RedactionPolicy, Redactor, collect_secrets, redact_run, verify_members
from debugkit.redaction.pipeline import har_bytes, known_api_keys
from debugkit.report.html import locate_for_report, render_html
from debugkit.report.json_report import triage_document
from debugkit.report.summary import summary_markdown

DEFAULT_MAX_SIZE = 20 * 1000 * 1000  # a common ticket attachment cap
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same source gives the same bytes
# Lower rank = more important; members are dropped from the highest rank down to fit the cap.
RANK = {"summary": 0, "triage": 0, "report": 1, "actions": 2, "har": 3, "tree": 4, "screenshot_llm": 5,
        "screenshot_action": 6, "prompt": 7}


class BundleRefused(DebugkitError):
    """The fail-closed check found a secret: nothing was written."""

    exit_code = 4


@dataclass
class Member:
    name: str
    data: bytes
    kind: str
    step_id: str | None = None
    artifact_ids: list[str] = field(default_factory=list)

    @property
    def rank(self) -> int:
        return RANK.get(self.kind, 9)


@dataclass
class BundleResult:
    path: Path
    members: list[Member]
    dropped: list[dict[str, Any]]
    counts: dict[str, int]
    size: int


def build_bundle(
    raw: RawRun,
    run: RunData,
    output: Path,
    *,
    redact: bool = True,
    max_size: int = DEFAULT_MAX_SIZE,
    policy: RedactionPolicy | None = None,
    api_keys: list[str | None] | None = None,
    salt: bytes | None = None,
    render: bool = True,
) -> BundleResult:
    """Build, check and write the bundle; raises BundleRefused when a secret would leak."""
    if redact:
        shown, redactor, secrets = redact_run(raw, run, policy=policy, api_keys=api_keys or [], salt=salt)
    else:
        shown, redactor = run, None
        secrets = collect_secrets(run, har_bytes(raw), known_api_keys(api_keys or []))
    triage = analyse(shown)
    overlays = locate_for_report(triage, render=render)
    step = _decisive_step(triage)
    members = [
        Member("summary.md", summary_markdown(triage).encode(), "summary"),
        Member("triage.json", orjson.dumps(triage_document(triage), option=orjson.OPT_INDENT_2), "triage"),
        Member("report.html", render_html(triage, redact=redact, overlays=overlays).encode(), "report"),
        *_har_members(raw, redactor),
        *(_step_members(raw, step, redactor) if step else []),
    ]
    dropped = _fit(members, max_size)
    counts = dict(redactor.counts) if redactor else {}
    manifest = _manifest(raw, shown, members, dropped, counts, redact, redactor, max_size)
    every = [*members, Member("manifest.json", manifest, "manifest")]
    if redact:
        leaks = verify_members({m.name: m.data for m in every}, secrets)
        if leaks:
            listed = "; ".join(str(leak) for leak in leaks[:5])
            raise BundleRefused(f"refusing to write {output}: the redaction check failed: {listed}")
    data = _zip(every)
    write_atomic(output, data)
    return BundleResult(path=output, members=every, dropped=dropped, counts=counts, size=len(data))


def _decisive_step(t: Triage) -> StepData | None:
    view = t.diagnosis.decisive or t.diagnosis.failing.view
    if view is not None:
        return view.step
    with_actions = [s.step for s in t.corr.steps if s.actions]
    return with_actions[-1] if with_actions else None


def _read(ref: ArtifactRef) -> bytes | None:
    try:
        return ref.read()
    except ArtifactUnavailable:
        return None  # the triage already names it


def _har_members(raw: RawRun, redactor: Redactor | None) -> list[Member]:
    members = []
    refs = [r for r in raw.artifacts if r.artifact_type == "har"]
    for number, ref in enumerate(refs):
        data = _read(ref)
        if data is None:
            continue
        try:
            doc = load_json(data, ref.name)
        except DamagedArtifact:
            text = decode_text(data)  # a damaged HAR still goes in, as redacted text
            body = (redactor.text(text) if redactor else text).encode()
        else:
            body = orjson.dumps(redactor.har(doc) if redactor else doc)
        name = "network.har" if len(refs) == 1 else f"network_{number}.har"
        members.append(Member(name, body, "har", ref.step_id, [ref.artifact_id] if ref.artifact_id else []))
    return members


def _step_members(raw: RawRun, step: StepData, redactor: Redactor | None) -> list[Member]:
    folder = f"step_{step.order}.{step.retry_index}_{step.step_id}"
    refs = sorted((r for r in raw.artifacts if r.step_id == step.step_id), key=ArtifactRef.sort_key)
    counters: Counter[str] = Counter()
    members = []
    for ref in refs:
        kind = {
            "screenshot_llm": "screenshot_llm",
            "screenshot_action": "screenshot_action",
            "llm_response_parsed": "actions",
            "visible_elements_tree": "tree",
            "llm_prompt": "prompt",
        }.get(ref.artifact_type)
        if kind is None:
            continue
        data = _read(ref)
        if data is None:
            continue
        number = counters[ref.artifact_type]
        counters[ref.artifact_type] += 1
        if kind.startswith("screenshot"):
            name, body = f"{ref.artifact_type}_{number}.png", data
        elif kind == "prompt":
            text = decode_text(data)
            name, body = f"llm_prompt_{number}.txt", (redactor.text(text) if redactor else text).encode()
        else:
            try:
                doc = load_json(data, ref.name)
            except DamagedArtifact:
                continue
            body = orjson.dumps(redactor.json(doc) if redactor else doc, option=orjson.OPT_INDENT_2)
            name = "element_tree.json" if kind == "tree" else f"llm_response_parsed_{number}.json"
        ids = [ref.artifact_id] if ref.artifact_id else []
        members.append(Member(f"{folder}/{name}", body, kind, step.step_id, ids))
    return members


def _fit(members: list[Member], max_size: int) -> list[dict[str, Any]]:
    """Scale screenshots down, then drop the least important members, until the ZIP fits."""
    dropped: list[dict[str, Any]] = []
    budget = max_size - 64 * 1024  # room for the manifest and the ZIP's own headers
    for factor in (0.5, 0.25):
        if _size(members) <= budget:
            return dropped
        for member in members:
            if member.kind.startswith("screenshot"):
                member.data = _scaled_png(member.data, factor)
    for member in sorted(members, key=lambda m: (-m.rank, -len(m.data))):
        if _size(members) <= budget:
            break
        if member.rank == 0:
            continue
        members.remove(member)
        dropped.append({"name": member.name, "bytes": len(member.data), "reason": f"over --max-size {max_size}"})
    return dropped


def _size(members: list[Member]) -> int:
    return len(_zip(members))


def _scaled_png(data: bytes, factor: float) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            width, height = max(int(image.width * factor), 1), max(int(image.height * factor), 1)
            out = io.BytesIO()
            image.convert("RGB").resize((width, height)).save(out, format="PNG", optimize=True)
            return out.getvalue()
    except Exception:  # a corrupt screenshot stays as it is (the triage names it)
        return data


def _manifest(
    raw: RawRun,
    run: RunData,
    members: list[Member],
    dropped: list[dict[str, Any]],
    counts: dict[str, int],
    redact: bool,
    redactor: Redactor | None,
    max_size: int,
) -> bytes:
    doc = {
        "schema": "debugkit.bundle/1",
        "tool": {"name": "debugkit", "version": __version__},
        "created_at": datetime.now(UTC).isoformat(),
        "run_id": run.run_id,
        "run_status": run.status,
        "source_kind": raw.kind,
        "steps": [{"step_id": s.step_id, "order": s.order, "retry_index": s.retry_index} for s in run.steps],
        "redaction": {
            "enabled": redact,
            "policy": redactor.policy.describe() if redactor else None,
            "placeholder": "[REDACTED:<first 8 hex of sha256(salt + value)>], salt unique to this bundle",
            "counts": dict(sorted(counts.items())),
            "not_covered": "pixels of screenshots are not searched or redacted",
        },
        "max_size": max_size,
        "members": [
            {
                "name": m.name,
                "kind": m.kind,
                "bytes": len(m.data),
                "sha256": hashlib.sha256(m.data).hexdigest(),
                "step_id": m.step_id,
                "artifact_ids": m.artifact_ids,
            }
            for m in members
        ],
        "dropped": dropped,
        "unavailable_artifacts": [p.to_dict() for p in run.problems],
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2)


def _zip(members: list[Member]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for member in sorted(members, key=lambda m: m.name):
            info = zipfile.ZipInfo(member.name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED if member.name.endswith(".png") else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.data)
    return out.getvalue()

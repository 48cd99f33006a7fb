"""``debugkit bundle``: one ZIP for a support ticket, redacted by default and fail-closed.

Members: ``summary.md``, ``triage.json``, ``report.html``, the redacted HAR, and the decisive
step's screenshots, parsed actions, element tree and prompt; ``manifest.json`` describes them
all. Screenshots are masked over secret fields first (:mod:`debugkit.redaction.masking`); how each
member is made safe, and what is left out, is :mod:`debugkit.report.bundle_members`'. After the members
are built, every one is searched for every secret value collected and for secret shapes, and every
image must be one the masking produced; if anything remains, nothing is written.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from debugkit import __version__, allocator
from debugkit.analysis.triage import Triage
from debugkit.errors import BundleRefused
from debugkit.model import RawRun, RunData, StepData
from debugkit.outputs import write_output
from debugkit.pipeline import Read, prepare
from debugkit.redaction import RedactionPolicy, Redactor, verify_members
from debugkit.redaction.masking import MaskReport, mask_run
from debugkit.report.bundle_members import Member, Members, har_members, reencode_png, step_members
from debugkit.report.html import render_html
from debugkit.report.json_report import triage_document
from debugkit.report.summary import summary_markdown

DEFAULT_MAX_SIZE = 20 * 1000 * 1000  # a common ticket attachment cap
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same source gives the same bytes
# Lower rank = more important; members are dropped from the highest rank down to fit the cap.
RANK = {"summary": 0, "triage": 0, "report": 1, "actions": 2, "har": 3, "tree": 4, "screenshot_llm": 5,
        "screenshot_action": 6, "screenshot_final": 6, "prompt": 7}
NOT_COVERED = (
    "secrets drawn on screenshots outside the secret fields (e.g. a page that prints a card number in "
    "its text) are not recognised in pixels; the local fetch cache (debugkit fetch, triage RUN_ID) is "
    "never redacted"
)


def _rank(member: Member) -> int:
    return RANK.get(member.kind, 9)


@dataclass
class BundleResult:
    path: Path
    members: list[Member]
    dropped: list[dict[str, Any]]
    counts: dict[str, int]
    size: int
    left_out: list[dict[str, Any]]
    masks: MaskReport | None = None


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
    """Build, check and write the bundle; raises BundleRefused when a secret would leak.

    ``run`` is the run as read (not redacted): the bundle goes through the pipeline itself
    (:func:`debugkit.pipeline.prepare`), with placeholders salted for this bundle alone."""
    prepared = prepare(
        Read(raw, run), redact=redact, api_keys=api_keys or [], policy=policy, salt=salt, locate="report",
        render=render, keep_redactor=True,
    )
    shown, redactor, secrets, triage = prepared.run, prepared.redactor, prepared.secrets, prepared.analysis
    overlays = prepared.overlays
    masks = mask_run(shown, locations=overlays, render=render) if redact else None
    step = _decisive_step(triage)
    built = Members()
    har_members(raw, redactor, built)
    if step is not None:
        step_members(raw, step, redactor, built)
    members = [
        Member("summary.md", summary_markdown(triage).encode(), "summary"),
        Member("triage.json", orjson.dumps(triage_document(triage), option=orjson.OPT_INDENT_2), "triage"),
        Member("report.html", render_html(triage, redact=redact, overlays=overlays).encode(), "report"),
        *built.items,
    ]
    dropped = _fit(members, max_size, built.cleared_images)
    counts = dict(redactor.counts) if redactor else {}
    manifest = _manifest(raw, shown, members, dropped, counts, redact, redactor, max_size, built, masks)
    every = [*members, Member("manifest.json", manifest, "manifest")]
    # The members are made: the analysis, the redacted run and the redactor (its automaton) go before the check's
    # own peak, and in the CLI's process what they held goes back to the system.
    del prepared, shown, triage, overlays, redactor, step
    allocator.trim()
    if redact:
        leaks = verify_members({m.name: m.data for m in every}, secrets, built.cleared_images)
        if leaks:
            listed = "; ".join(str(leak) for leak in leaks[:5])
            raise BundleRefused(f"refusing to write {output}: the redaction check failed: {listed}")
    data = _zip(every)
    write_output(output, data)
    return BundleResult(
        path=output, members=every, dropped=dropped, counts=counts, size=len(data), left_out=built.left_out,
        masks=masks,
    )


def _decisive_step(t: Triage) -> StepData | None:
    view = t.diagnosis.decisive or t.diagnosis.failing.view
    if view is not None:
        return view.step
    with_actions = [s.step for s in t.corr.steps if s.actions]
    return with_actions[-1] if with_actions else None


def _fit(members: list[Member], max_size: int, cleared: set[str]) -> list[dict[str, Any]]:
    """Scale screenshots down, then drop the least important members, until the ZIP fits."""
    dropped: list[dict[str, Any]] = []
    budget = max_size - 64 * 1024  # room for the manifest and the ZIP's own headers
    for factor in (0.5, 0.25):
        if _size(members) <= budget:
            return dropped
        for member in members:
            if member.kind.startswith("screenshot"):
                scaled = reencode_png(member.data, factor)
                if scaled is not None:
                    member.data = scaled
                    cleared.add(hashlib.sha256(scaled).hexdigest())
    for member in sorted(members, key=lambda m: (-_rank(m), -len(m.data))):
        if _size(members) <= budget:
            break
        if _rank(member) == 0:
            continue
        members.remove(member)
        dropped.append({"name": member.name, "bytes": len(member.data), "reason": f"over --max-size {max_size}"})
    return dropped


def _size(members: list[Member]) -> int:
    return len(_zip(members))


def _manifest(
    raw: RawRun,
    run: RunData,
    members: list[Member],
    dropped: list[dict[str, Any]],
    counts: dict[str, int],
    redact: bool,
    redactor: Redactor | None,
    max_size: int,
    built: Members,
    masks: MaskReport | None,
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
            "screenshots": {
                "masked": len(masks.masked) if masks else 0,
                "left_out": len(masks.left_out) if masks else 0,
            },
            "not_covered": NOT_COVERED if redact else "nothing is redacted (--no-redact)",
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
                "redaction": m.redaction,
            }
            for m in members
        ],
        "dropped": dropped,
        "left_out": built.left_out,
        "screenshots": [shot.to_dict() for shot in masks.shots] if masks else [],
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

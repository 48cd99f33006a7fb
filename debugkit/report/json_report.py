"""The machine-readable contract: ``debugkit triage SOURCE --json`` (schema ``debugkit.triage/1``).

The README documents every key. Keys are only ever added within a schema version.
"""

from __future__ import annotations

from typing import Any

from debugkit import __version__
from debugkit.analysis.correlate import ActionView, StepView
from debugkit.analysis.triage import Triage
from debugkit.model import ConsoleLine, NetworkEntry, Screenshot
from debugkit.redaction.policy import TYPING_ACTIONS, is_secret_field, shown_typed, typed_kind
from debugkit.timeutil import iso

SCHEMA = "debugkit.triage/1"
LISTED_FAILURES = 10  # failed requests (and console errors and warnings) a step or an action lists, without --full
LISTED_RUN_FAILURES = 50  # failed requests network_failures lists, without --full
MISSING_KINDS = frozenset({"missing", "archived"})


def triage_document(t: Triage, *, full: bool = False) -> dict[str, Any]:
    """The ``debugkit.triage/1`` document.

    Bounded by default, so that a long run's document stays well under a megabyte: each step and
    action lists at most ``LISTED_FAILURES`` of its failed requests and its console errors and
    warnings, and the run at most ``LISTED_RUN_FAILURES`` failed requests (those the verdict cites
    first, then the ones that are not noise), with counts of everything (``network_counts``,
    ``console_counts``, ``network_failures_count``), and elements' locations only on the steps of the
    decisive and the failing action (every step when there is neither); ``full=True`` (``--full``) lists
    every request, console line and location, which on a long run is megabytes.
    """
    run = t.run
    verdict = t.diagnosis.verdict
    shown = _Shown(full, _cited(verdict))
    if not full and t.focus is None:  # elements are placed on the decisive and the failing action's steps
        views = (t.diagnosis.decisive, t.diagnosis.failing.view)
        shown.located = frozenset(v.step.step_id for v in views if v is not None) or None  # neither: every step
    failing = t.diagnosis.failing
    focus_ids = {s.step.step_id for s in t.steps}
    failed = [
        entry
        for entry in run.network
        if entry.failed and (t.focus is None or _step_id_of(t, entry) in focus_ids)
    ]
    network_failures = [_network_failure(t, entry) for entry in shown.pick(failed, LISTED_RUN_FAILURES)]
    return {
        "schema": SCHEMA,
        "tool": {"name": "debugkit", "version": __version__},
        "source": {"path": run.source, "kind": run.source_kind},
        "focus": {"step_id": t.focus.step.step_id} if t.focus else None,
        "run": {
            "run_id": run.run_id,
            "run_type": run.run_type,
            "status": run.status,
            "failure_reason": run.failure_reason,
            "skyvern_failure_categories": [
                _skyvern_category(c) for c in run.skyvern_categories
            ],
            "skyvern_errors": [_skyvern_error(e) for e in run.errors],
            "created_at": iso(run.created_at),
            "started_at": iso(run.started_at),
            "finished_at": iso(run.finished_at),
            "step_count": run.step_count,
            "results_known": run.steps_from_api,
        },
        "verdict": {
            "cause": verdict.cause,
            "category": verdict.category,
            "confidence": round(verdict.confidence, 2),
            "summary": verdict.summary,
            "rule": verdict.rule,
            "chain": [{"kind": e.kind, "ref": e.ref, "detail": e.detail} for e in verdict.chain],
            "evidence": [{"kind": e.kind, "ref": e.ref, "detail": e.detail} for e in verdict.evidence],
            "missing_evidence": verdict.missing_evidence,
        },
        "decisive_action": _decisive(t),
        "silent_failures": [
            {"step_id": h.view.step.step_id, "action_index": h.view.action.index, "kind": h.kind, "detail": h.detail}
            for h in silent_failures(t)
        ],
        "failing_action": _failing(failing.view) if failing.view else None,
        "failing_action_reason": failing.reason,
        "full": full,
        "steps": [_step(s, t, shown) for s in t.steps],
        "network_failures": network_failures,
        "network_failures_count": len(failed),
        "missing_artifacts": [
            {"step_id": p.step_id, "artifact_type": p.artifact_type, "reason": p.detail}
            for p in run.problems
            if p.kind in MISSING_KINDS
        ],
        "problems": [p.to_dict() for p in run.problems if p.kind not in MISSING_KINDS],
    }


def _skyvern_category(row: dict[str, Any]) -> dict[str, Any]:
    """What Skyvern said, as it said it: any category string, never checked against a list."""
    return {
        "category": row.get("category"),
        "confidence": row.get("confidence_float"),
        "reasoning": row.get("reasoning"),
        "reason_code": row.get("reason_code"),
        "evidence_source": row.get("evidence_source"),
    }


def _skyvern_error(row: dict[str, Any]) -> dict[str, Any]:
    """An entry of the run's ``errors``: Skyvern's own codes and workflow authors' codes alike."""
    return {"error_code": row.get("error_code"), "error_type": row.get("error_type"), "reasoning": row.get("reasoning")}


def _decisive(t: Triage) -> dict[str, Any] | None:
    view = t.diagnosis.decisive or t.diagnosis.failing.view
    if view is None:
        return None
    return {
        "step_id": view.step.step_id,
        "action_index": view.action.index,
        "action_type": view.action.action_type,
        "element_id": view.action.element_id,
    }


def silent_failures(t: Triage):
    """Actions that reported success but did not do their job (a fallback after a failure; no change)."""
    return [h for h in t.facts.hidden if t.focus is None or h.view.step is t.focus.step]


def _failing(view: ActionView) -> dict[str, Any]:
    result = view.action.result
    return {
        "step_id": view.step.step_id,
        "action_index": view.action.index,
        "action_type": view.action.action_type,
        "element_id": view.action.element_id,
        "exception_type": result.exception_type if result else None,
        "exception_message": result.exception_message if result else None,
    }


def _cited(verdict: Any) -> frozenset[int]:
    """HAR indexes the verdict's chain and evidence cite (``har:<index>``)."""
    cited = set()
    for item in [*verdict.chain, *verdict.evidence]:
        ref = item.ref or ""
        if ref.startswith("har:") and ref[4:].isdigit():
            cited.add(int(ref[4:]))
    return frozenset(cited)


class _Shown:
    """Which requests and console lines a step or action lists: all with --full, else what matters, bounded."""

    def __init__(self, full: bool, cited: frozenset[int] = frozenset()) -> None:
        self.full = full
        self.cited = cited
        self.located: frozenset[str] | None = None  # steps whose actions give their location; None: every step

    def pick(self, failed: list[NetworkEntry], limit: int) -> list[NetworkEntry]:
        """Every one with --full; else at most ``limit``: cited first, then not noise, then noise; in HAR order."""
        if self.full or len(failed) <= limit:
            return failed
        ranked = sorted(failed, key=lambda e: (e.index not in self.cited, e.noise))[:limit]
        keep = {id(e) for e in ranked}
        return [e for e in failed if id(e) in keep]

    def network(self, entries: list[NetworkEntry]) -> list[dict[str, Any]]:
        if self.full:
            return [_entry(e) for e in entries]
        return [_entry(e) for e in self.pick([e for e in entries if e.failed], LISTED_FAILURES)]

    def console(self, lines: list[ConsoleLine]) -> list[dict[str, Any]]:
        if self.full:
            return [_console(c) for c in lines]
        problems = [c for c in lines if c.level in ("error", "warning", "warn")]
        errors_first = sorted(problems, key=lambda c: c.level != "error")[:LISTED_FAILURES]
        keep = {id(c) for c in errors_first}
        return [_console(c) for c in problems if id(c) in keep]


def _network_counts(entries: list[NetworkEntry]) -> dict[str, int]:
    failed = sum(1 for e in entries if e.failed and not e.noise)
    noise = sum(1 for e in entries if e.noise)
    return {"requests": len(entries), "failed": failed, "noise": noise}


def _console_counts(lines: list[ConsoleLine]) -> dict[str, int]:
    return {
        "lines": len(lines),
        "errors": sum(1 for c in lines if c.level == "error"),
        "warnings": sum(1 for c in lines if c.level in ("warning", "warn")),
    }


def _step(view: StepView, t: Triage, shown: _Shown) -> dict[str, Any]:
    step = view.step
    return {
        "step_id": step.step_id,
        "task_id": step.task_id,
        "order": step.order,
        "retry_index": step.retry_index,
        "status": step.status,
        "url": step.website_url,
        "created_at": iso(step.created_at),
        "modified_at": iso(step.modified_at),
        "step_exception": step.step_exception,
        "screenshots": [_shot(s) for s in step.screenshots_llm + step.screenshots_action],
        "actions": [_action(a, t, shown) for a in view.actions],
        "network": shown.network(view.network),
        "network_counts": _network_counts(view.network),
        "console": shown.console(view.console),
        "console_counts": _console_counts(view.console),
    }


def _action(view: ActionView, t: Triage, shown: _Shown) -> dict[str, Any]:
    action = view.action
    result = action.result
    located = shown.located is None or view.step.step_id in shown.located
    location = t.locations.get((view.step.step_id, action.index)) if located else None
    element = _element(view, t.show_secrets)
    if element is not None:
        element["location"] = location.to_dict() if location is not None else None
    return {
        "index": action.index,
        "action_type": action.action_type,
        "element_id": action.element_id,
        "status": action.status,
        "outcome": view.outcome,
        "reasoning": action.reasoning,
        "confidence": action.confidence,
        "text": typed_text(view, t.show_secrets),
        "started_at": iso(action.started_at),
        "finished_at": iso(action.finished_at),
        "element": element,
        # a computer-use click point when the action targets no element; else inside "element"
        "location": location.to_dict() if location is not None and element is None else None,
        "result": None
        if result is None
        else {
            "success": result.success,
            "exception_type": result.exception_type,
            "exception_message": result.exception_message,
            "stop_execution_on_failure": result.stop_execution_on_failure,
        },
        "network": shown.network(view.network),
        "network_counts": _network_counts(view.network),
        "console": shown.console(view.console),
        "console_counts": _console_counts(view.console),
    }


def typed_text(view: ActionView, show_secrets: bool = False) -> str | None:
    """The typed text, masked (length only) in a secret field unless secrets are to be shown
    (:mod:`debugkit.redaction.policy` decides what is secret and how it is shown)."""
    text = view.action.text
    if text is None or view.action.action_type not in TYPING_ACTIONS:
        return None
    join = view.element
    kind = typed_kind(view.action.action_type, join.element if join else None, join.label if join else None)
    return shown_typed(text, secret=kind is not None, show_secrets=show_secrets, length=view.action.text_length)


def _element(view: ActionView, show_secrets: bool = False) -> dict[str, Any] | None:
    join = view.element
    if join is None:
        return None
    element = join.element
    html = join.html
    return {
        "found": join.found,
        "source": join.source,
        "tag": element.tag if element else None,
        "text": element.text if element else None,
        "label": join.label,
        "frame": element.frame if element else None,
        "frame_chain": element.frame_chain if element else [],
        "interactable": element.interactable if element else None,
        "disabled": bool(element.attributes.get("disabled")) if element else None,
        "attributes": _attributes(view, show_secrets) if element else {},
        "xpath": element.xpath if element else None,
        "html": html.outer_html if html else None,
        "present_after_action": html.present_after_action if html else None,
        "note": join.note,
    }


_SHOWN_ATTRIBUTES = ("type", "name", "id", "placeholder", "href", "role", "aria-label", "disabled", "readonly", "value")


def _attributes(view: ActionView, show_secrets: bool = False) -> dict[str, Any]:
    element = view.element.element if view.element else None
    if element is None:
        return {}
    shown = {k: element.attributes[k] for k in _SHOWN_ATTRIBUTES if k in element.attributes}
    value = shown.get("value")
    if not show_secrets and isinstance(value, str) and value and is_secret_field(element, view.element.label):
        shown["value"] = shown_typed(value, secret=True)
    return shown


def _entry(entry: NetworkEntry) -> dict[str, Any]:
    return {
        "har_index": entry.index,
        "url": entry.url,
        "method": entry.method,
        "status": entry.status,
        "failed": entry.failed,
        "error": entry.error,
        "pending": entry.pending,
        "noise": entry.noise,
        "noise_reason": entry.noise_reason,
        "started_at": iso(entry.started_at),
        "time_ms": entry.time_ms,
    }


def _network_failure(t: Triage, entry: NetworkEntry) -> dict[str, Any]:
    owner = t.corr.action_of(entry)
    return {
        "har_index": entry.index,
        "url": entry.url,
        "method": entry.method,
        "status": entry.status,
        "error": entry.error,
        "noise": entry.noise,
        "noise_reason": entry.noise_reason,
        "started_at": iso(entry.started_at),
        "step_id": _step_id_of(t, entry),
        "action_index": owner.action.index if owner else None,
    }


def _step_id_of(t: Triage, entry: NetworkEntry) -> str | None:
    owner = t.corr.action_of(entry)
    if owner:
        return owner.step.step_id
    step = t.corr.step_of(entry)
    return step.step.step_id if step else None


def _console(line: ConsoleLine) -> dict[str, Any]:
    return {"line": line.line_no, "timestamp": iso(line.timestamp), "level": line.level, "message": line.message}


def _shot(shot: Screenshot) -> dict[str, Any]:
    return {
        "artifact_type": shot.artifact_type,
        "artifact_id": shot.artifact_id,
        "name": shot.name,
        "index": shot.index,
        "width": shot.width,
        "height": shot.height,
        "bytes": shot.size_bytes,
        "error": shot.error,
    }

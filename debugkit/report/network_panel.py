"""The HTML report's network panel: every request of the run, as compressed data the page renders on demand.

A long run has tens of thousands of requests. As table rows they were most of the report (18 MB for
30,000 requests, 19 s before Chromium's load event). Here they are one JSON document
(:data:`FORMAT`), gzip-compressed and base64-encoded in a hidden block (:mod:`debugkit.report.embedded`,
about 40 bytes a request), which the page script decompresses once and shows as a virtualised table:
only the rows in view exist in the page, whatever the count. The action cards keep listing their own
failed and attributed requests as HTML, so the story reads without the panel.

Every string in the document passed the report's :class:`~debugkit.report.sanitize.Sanitizer` (controls
made visible, secrets masked, signed queries removed) exactly as a table cell did; the script puts them in
the page as text (``textContent``), never as markup.

The document::

    {"format": "debugkit.network/1",
     "origin": epoch ms the "+12.3 s" times count from (null when unknown),
     "count", "failed",
     "methods": [...], "types": [...],          # strings the rows refer to by position
     "targets": [[anchor id, label], ...],      # the actions (or steps) requests belong to
     "rows": [[har index, method #, url, outcome, flags, duration, start epoch ms | null,
               target # | -1, type # | -1], ...]}   # flags: 1 failed, 2 noise, 4 pending, 8 page, 16 evidence

When the report is focused on one step (``--step``), only that step's requests are in it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from debugkit.analysis.correlate import ActionView
from debugkit.analysis.triage import Triage
from debugkit.model import NetworkEntry
from debugkit.report import embedded
from debugkit.report.sanitize import Sanitizer, anchor_id

__all__ = ["FORMAT", "NetworkPanel", "format_ms"]

FORMAT = "debugkit.network/1"
FAILED, NOISE, PENDING, DOCUMENT, EVIDENCE = 1, 2, 4, 8, 16


class NetworkPanel:
    """Requests as the report shows them: one line in an action card, or a row of the panel's data."""

    def __init__(self, t: Triage, sanitizer: Sanitizer, origin: datetime | None, evidence_refs: set[str]) -> None:
        self.t = t
        self.text = sanitizer.text
        self.url = sanitizer.url
        self.origin = origin
        self.evidence_refs = evidence_refs
        self.anchors: set[str] = set()  # "har-<index>" of every request in the data (the page reveals them)
        self._outcomes: dict[tuple[str | None, int | None, bool], str] = {}

    def outcome(self, entry: NetworkEntry) -> str:
        """What became of the request: its status, its failure text, or that it never got an answer."""
        key = (entry.error, entry.status, entry.pending)
        known = self._outcomes.get(key)
        if known is None:
            known = self._outcomes[key] = self._outcome(entry)
        return known

    def _outcome(self, entry: NetworkEntry) -> str:
        if entry.pending:
            return "pending (never answered)"
        if entry.error and (entry.status is None or not entry.error.startswith("HTTP")):
            return self.text(entry.error, 300) or ""
        if entry.status is not None:
            return self.text(entry.error, 300) or "" if entry.error else str(entry.status)
        return "no status"

    def card_request(self, entry: NetworkEntry) -> dict[str, Any]:
        """One request in an action card's list."""
        return {
            "href": f"har-{entry.index}",
            "index": entry.index,
            "method": self.text(entry.method, 20),
            "url": self.url(entry.url, 400),
            "outcome": self.outcome(entry),
            "failed": entry.failed,
            "noise": entry.noise,
            "duration": format_ms(entry.time_ms),
        }

    def build(self) -> dict[str, Any]:
        """The panel for the template: the encoded document, and the counts shown around it."""
        t = self.t
        shown_steps = {id(v.step) for v in t.steps}
        methods: dict[str, int] = {}
        types: dict[str, int] = {}
        targets: dict[str, int] = {}
        target_rows: list[list[str]] = []
        rows: list[list[Any]] = []
        failed = 0
        for entry in t.run.network:
            owner = t.corr.action_of(entry)
            step_view = t.corr.step_of(entry)
            step = owner.step if owner else (step_view.step if step_view else None)
            if t.focus is not None and (step is None or id(step) not in shown_steps):
                continue
            target = -1
            anchor = _target_anchor(owner, step_view)
            if anchor is not None:
                target = targets.get(anchor, -1)
                if target < 0:
                    target = targets[anchor] = len(target_rows)
                    target_rows.append([anchor, self.text(_target_label(owner, step_view), 200) or ""])
            method = self.text(entry.method, 20) or ""
            kind = self.text(entry.resource_type, 40) if entry.resource_type else None
            flags = (
                (FAILED if entry.failed else 0)
                | (NOISE if entry.noise else 0)
                | (PENDING if entry.pending else 0)
                | (DOCUMENT if entry.is_document else 0)
                | (EVIDENCE if f"har:{entry.index}" in self.evidence_refs else 0)
            )
            failed += entry.failed
            self.anchors.add(f"har-{entry.index}")
            rows.append(
                [
                    entry.index,
                    methods.setdefault(method, len(methods)),
                    self.url(entry.url) or "",
                    self.outcome(entry),
                    flags,
                    format_ms(entry.time_ms),
                    _epoch_ms(entry.started_at),
                    target,
                    -1 if kind is None else types.setdefault(kind, len(types)),
                ]
            )
        document = {
            "format": FORMAT,
            "origin": _epoch_ms(self.origin),
            "count": len(rows),
            "failed": failed,
            "methods": list(methods),
            "types": list(types),
            "targets": target_rows,
            "rows": rows,
        }
        return {"data": embedded.encode(document) if rows else "", "count": len(rows), "failed": failed}


def _target_anchor(owner: ActionView | None, step_view: Any) -> str | None:
    if owner is not None:
        return anchor_id("a", owner.step.step_id, owner.action.index)
    if step_view is not None:
        return anchor_id("s", step_view.step.step_id)
    return None


def _target_label(owner: ActionView | None, step_view: Any) -> str:
    if owner is not None:
        return f"{owner.step.label} #{owner.action.index} {owner.action.action_type}"
    return f"step {step_view.step.label}"


def _epoch_ms(value: datetime | None) -> float | None:
    return None if value is None else round(value.timestamp() * 1000, 3)


def format_ms(ms: float | None) -> str:
    if ms is None:
        return ""
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    return f"{ms:.0f} ms"

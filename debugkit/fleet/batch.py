"""Triage many runs, several at once, into one row each.

A listed run goes through the same cache as ``debugkit triage RUN_ID`` (a finished run fetched
completely before is not fetched again), then through the same pipeline: read, redact, analyse.
Elements are not located on the screenshots (no Chromium). Runs share one
:class:`~debugkit.api.client.SkyvernClient` (one connection pool, its 429 and retry handling).

A run that cannot be fetched, read or analysed becomes a row with ``error`` (one line, never the
API key) and cause ``unknown``; the others go on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from debugkit.analysis.causes import category_of
from debugkit.analysis.triage import Triage
from debugkit.api.cache import fetch_into_cache
from debugkit.api.client import SkyvernClient
from debugkit.errors import DebugkitError, UsageError
from debugkit.fleet.listing import RunSummary, check_run_id
from debugkit.fleet.signature import signature_of
from debugkit.pipeline import prepare, read
from debugkit.report.json_report import triage_document
from debugkit.text import clip
from debugkit.timeutil import iso

ERROR_LIMIT = 300
# Why a run has no verdict; the signature of its cluster is "not triaged: <stage>".
FETCH_FAILED = "fetch failed"
UNREADABLE = "unreadable"
ANALYSIS_FAILED = "analysis failed"


@dataclass
class FleetRow:
    """One run of the fleet: its verdict in a line, or why it has none (``error``)."""

    run_id: str
    status: str | None = None
    run_type: str | None = None
    created_at: datetime | None = None
    cause: str = "unknown"
    summary: str | None = None
    rule: str | None = None
    confidence: float | None = None
    signature: str = ""
    failing_action: dict[str, Any] | None = None
    failure_reason: str | None = None
    skyvern_categories: list[str] = field(default_factory=list)
    workflow_permanent_id: str | None = None
    error: str | None = None
    source: str | None = None  # the run folder triaged (the cache copy), or the path given
    report: str | None = None  # the run's HTML report, when --reports wrote one

    @property
    def category(self) -> str | None:
        return category_of(self.cause)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "run_type": self.run_type,
            "created_at": iso(self.created_at),
            "cause": self.cause,
            "category": self.category,
            "summary": self.summary,
            "failing_action": self.failing_action,
            "error": self.error,
            "signature": self.signature,
            "rule": self.rule,
            "confidence": self.confidence,
            "failure_reason": self.failure_reason,
            "skyvern_categories": self.skyvern_categories,
            "workflow_permanent_id": self.workflow_permanent_id,
            "source": self.source,
            "report": self.report,
        }


@dataclass(frozen=True)
class BatchOptions:
    cache_root: Path | None = None  # where listed runs are fetched to (api.cache layout)
    refresh: bool = False  # fetch listed runs again even when the cache holds a complete copy
    reports_dir: Path | None = None  # write each triaged run's HTML report here
    api_keys: tuple[str, ...] = ()  # redacted wherever they appear; never in an error line
    concurrency: int = 8
    wait_seconds: float = 0.0  # for a run that just ended, wait this long for its HAR and console log


Done = Callable[[FleetRow], None]


def triage_listed(
    client: SkyvernClient, runs: Sequence[RunSummary], options: BatchOptions, on_done: Done | None = None
) -> list[FleetRow]:
    """Fetch (only what the cache lacks) and triage every listed run; rows in the listing's order."""
    keys = (*options.api_keys, *([client.config.api_key] if client.config.api_key else []))
    options = BatchOptions(
        options.cache_root, options.refresh, options.reports_dir, keys, options.concurrency, options.wait_seconds
    )
    return _each(runs, lambda run: _listed(client, run, options), options.concurrency, on_done)


def triage_paths(paths: Sequence[Path], options: BatchOptions, on_done: Done | None = None) -> list[FleetRow]:
    """Triage run folders, storage trees and archives on disk; rows in the order of ``paths``."""
    return _each(paths, lambda path: _triaged(path, options), options.concurrency, on_done)


def _each(items: Sequence[Any], work: Callable[[Any], FleetRow], concurrency: int, on_done: Done | None):
    def one(item: Any) -> FleetRow:
        row = work(item)
        if on_done is not None:
            on_done(row)
        return row

    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="debugkit-runs")
    try:
        rows = list(pool.map(one, items))
    except BaseException:  # Ctrl-C: no run starts after this; those under way finish their request
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return rows


def _listed(client: SkyvernClient, run: RunSummary, options: BatchOptions) -> FleetRow:
    problem = check_run_id(run)
    if problem is not None:
        return _failed(run.run_id, FETCH_FAILED, problem, options, listed=run)
    assert options.cache_root is not None
    try:
        folder, _ = fetch_into_cache(
            client, run.run_id, options.cache_root, refresh=options.refresh, wait_seconds=options.wait_seconds
        )
    except Exception as exc:  # any one run's failure is its row, not the fleet's end
        return _failed(run.run_id, FETCH_FAILED, exc, options, listed=run)
    return _triaged(folder, options, listed=run)


def _triaged(source: Path, options: BatchOptions, listed: RunSummary | None = None) -> FleetRow:
    name = listed.run_id if listed is not None else str(source)
    try:
        loaded = read(source)
    except Exception as exc:
        return _failed(name, UNREADABLE, exc, options, listed=listed, source=source)
    run = loaded.run
    try:
        t = prepare(loaded, api_keys=options.api_keys).analysis  # redacted; elements not located (no Chromium)
        row = _row(t, listed, source)
        workflow = (loaded.raw.run or {}).get("run_request")
        if row.workflow_permanent_id is None and isinstance(workflow, dict):
            row.workflow_permanent_id = _text(workflow.get("workflow_id"))
    except Exception as exc:
        return _failed(run.run_id or name, ANALYSIS_FAILED, exc, options, listed=listed, source=source)
    if options.reports_dir is not None:
        row.report = str(_write_report(t, options.reports_dir))
    return row


def _row(t: Triage, listed: RunSummary | None, source: Path) -> FleetRow:
    run = t.run
    verdict = t.diagnosis.verdict
    doc = triage_document(t)
    return FleetRow(
        run_id=run.run_id or (listed.run_id if listed else str(source)),
        status=run.status or (listed.status if listed else None),
        run_type=run.run_type or (listed.run_type if listed else None),
        created_at=run.created_at or (listed.created_at if listed else None),
        cause=verdict.cause,
        summary=verdict.summary,
        rule=verdict.rule,
        confidence=round(verdict.confidence, 2),
        signature=signature_of(t),
        failing_action=doc["failing_action"],
        failure_reason=run.failure_reason,
        skyvern_categories=_categories(run.skyvern_categories),
        workflow_permanent_id=listed.workflow_permanent_id if listed else None,
        source=str(source),
    )


def _failed(
    run_id: str,
    stage: str,
    problem: BaseException | str,
    options: BatchOptions,
    *,
    listed: RunSummary | None = None,
    source: Path | None = None,
) -> FleetRow:
    return FleetRow(
        run_id=run_id,
        status=listed.status if listed else None,
        run_type=listed.run_type if listed else None,
        created_at=listed.created_at if listed else None,
        signature=f"not triaged: {stage}",
        workflow_permanent_id=listed.workflow_permanent_id if listed else None,
        error=f"{stage}: {error_line(problem, options.api_keys)}",
        source=str(source) if source is not None else None,
    )


def error_line(problem: BaseException | str, api_keys: Sequence[str]) -> str:
    """One line: the error's own message (a bug's with its type), never an API key."""
    if isinstance(problem, DebugkitError | str):
        text = str(problem)
    else:
        text = f"{type(problem).__name__}: {problem}" if str(problem) else type(problem).__name__
    for key in api_keys:
        if key:
            text = text.replace(key, "[REDACTED]")
    return clip(text, ERROR_LIMIT)


def _write_report(t: Triage, folder: Path) -> Path:
    from debugkit.report.html import default_filename, write_html

    path = folder / default_filename(t)
    try:
        write_html(t, path, redact=True)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def _categories(rows: list[dict[str, Any]]) -> list[str]:
    found = (row.get("category") for row in rows if isinstance(row, dict))
    return list(dict.fromkeys(c for c in found if isinstance(c, str) and c))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def relative_to(path: str, folder: Path) -> str:
    """``path`` relative to ``folder`` (for links from a page written there), with ``/`` separators."""
    return Path(os.path.relpath(path, folder)).as_posix()

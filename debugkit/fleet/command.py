"""``debugkit runs``: list (or find on disk), triage, group, report. The CLI maps its options here.

Exit codes (as elsewhere): 0 when the runs were listed, whatever became of each run (a run that
could not be triaged is a row with its error); 2 for bad usage, a refused API key or an unknown
PATH; 3 when the API could not be reached (or kept failing) for the listing itself.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from debugkit.api.cache import cache_root
from debugkit.api.client import SkyvernClient
from debugkit.errors import UsageError
from debugkit.fleet.batch import BatchOptions, FleetRow, triage_listed, triage_paths
from debugkit.fleet.discover import discover_runs
from debugkit.fleet.listing import DEFAULT_SINCE, DEFAULT_STATUSES, ListQuery, list_runs, parse_since
from debugkit.fleet.report import Fleet, render_terminal, write_jsonl

MAX_LIMIT = 10_000
PIPE_WIDTH = 200


@dataclass(frozen=True)
class RunsOptions:
    path: Path | None = None  # offline: a folder of runs; None: the API
    statuses: tuple[str, ...] | None = None  # None: the default (API) or any (offline)
    since: str | None = None  # None: the default (API: 24h) or none (offline)
    limit: int = 200
    workflow: str | None = None
    json: bool = False
    jsonl: Path | None = None
    html: Path | None = None
    reports: Path | None = None
    quiet: bool = False
    cache_dir: str | None = None
    refresh: bool = False
    concurrency: int = 8
    wait_seconds: float = 0.0  # --wait: runs that ended moments ago get their HAR and console log

    def query(self, now: datetime | None = None) -> ListQuery:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise UsageError(f"--limit must be between 1 and {MAX_LIMIT}")
        offline = self.path is not None
        statuses = self.statuses if self.statuses is not None else (None if offline else DEFAULT_STATUSES)
        since_text = self.since if self.since is not None else (None if offline else DEFAULT_SINCE)
        since = parse_since(since_text, now) if since_text else None
        return ListQuery(statuses=statuses, since=since, limit=self.limit, workflow=self.workflow)


def run(options: RunsOptions, client: Callable[[], SkyvernClient]) -> int:
    query = options.query()
    reports = _reports_dir(options.reports)
    watching = not (options.quiet or options.json) and sys.stderr.isatty()
    if options.path is not None:
        fleet = _offline(options, query, reports, watching)
    else:
        fleet = _online(options, query, reports, watching, client)
    _emit(fleet, options)
    return 0


def _online(
    options: RunsOptions, query: ListQuery, reports: Path | None, watching: bool, client: Callable[[], SkyvernClient]
) -> Fleet:
    with client() as api:
        listing = list_runs(api, query)
        batch = BatchOptions(
            cache_root=cache_root(options.cache_dir), refresh=options.refresh, reports_dir=reports,
            concurrency=api.config.concurrency, wait_seconds=options.wait_seconds,
        )
        with RunsProgress(watching, len(listing.runs)) as progress:
            rows = triage_listed(api, listing.runs, batch, on_done=progress.advance)
        return Fleet(rows=rows, query=query, source={"kind": "api", "base_url": api.config.base_url}, listing=listing)


def _offline(options: RunsOptions, query: ListQuery, reports: Path | None, watching: bool) -> Fleet:
    assert options.path is not None
    paths = discover_runs(options.path)
    batch = BatchOptions(reports_dir=reports, concurrency=options.concurrency)
    with RunsProgress(watching, len(paths)) as progress:
        rows = triage_paths(paths, batch, on_done=progress.advance)
    rows = [row for row in rows if _matches(row, query)]
    rows.sort(key=lambda row: (row.created_at is None, -(row.created_at.timestamp() if row.created_at else 0)))
    return Fleet(rows=rows[: query.limit], query=query, source={"kind": "path", "path": str(options.path)})


def _matches(row: FleetRow, query: ListQuery) -> bool:
    """Offline filters: an unreadable run is kept (its status and time are unknown)."""
    if row.error is not None:
        return True
    if query.statuses and row.status not in query.statuses:
        return False
    if query.workflow and row.workflow_permanent_id != query.workflow:
        return False
    return query.since is None or row.created_at is None or row.created_at >= query.since


def _emit(fleet: Fleet, options: RunsOptions) -> None:
    if options.jsonl is not None:
        write_jsonl(fleet.rows, options.jsonl)
    if options.html is not None:
        from debugkit.fleet.html import write_overview

        write_overview(fleet, options.html)
    if options.json:
        sys.stdout.write(json.dumps(fleet.document(), indent=2, ensure_ascii=False) + "\n")
        return
    width = None if sys.stdout.isatty() else PIPE_WIDTH  # a pipe or a file gets whole lines
    render_terminal(fleet, Console(highlight=False, soft_wrap=False, width=width))
    if not options.quiet:
        for label, path in (("runs", options.jsonl), ("overview", options.html), ("reports", options.reports)):
            if path is not None:
                sys.stderr.write(f"wrote {label}: {path}\n")


def _reports_dir(path: Path | None) -> Path | None:
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {path}: {exc.strerror or exc}") from None
    return path


class RunsProgress:
    """One progress bar on stderr for the whole fleet, only when someone is watching."""

    def __init__(self, enabled: bool, total: int) -> None:
        self._progress = (
            Progress(
                TextColumn("triaging"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("runs"),
                TextColumn("{task.fields[failed]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            if enabled and total
            else None
        )
        self._total = total
        self._failed = 0
        self._task = None

    def __enter__(self) -> RunsProgress:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task("runs", total=self._total, failed="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def advance(self, row: FleetRow) -> None:
        if self._progress is None or self._task is None:
            return
        self._failed += row.error is not None
        self._progress.update(self._task, advance=1, failed=f"({self._failed} not triaged)" if self._failed else "")

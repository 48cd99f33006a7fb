"""Which runs to triage: ``GET /v1/runs`` paged newest first until ``--since`` or ``--limit``.

Skyvern's run list (``GET /v1/runs?page=&page_size=&status=&run_type=&search_key=``) answers a
plain JSON list, newest ``created_at`` first, with offset paging (``page`` 1..100, ``page_size``
1..100) and no total. ``status`` and ``run_type`` repeat for several values (a comma list is
refused). Items carry ``run_id``, ``task_run_type``, ``status``, ``created_at`` (naive UTC),
``workflow_permanent_id`` and ``title``.

Paging: one page size for the whole listing (the server's offset is ``(page - 1) * page_size``,
so the size cannot change between pages), ``min(100, limit + 1)``: the listing asks for one row
more than it keeps, so a full page or a row beyond the limit says that more runs exist. It stops
at the first page whose oldest run is older than ``since``, at a short page, or once it holds
more than ``limit`` runs. A run seen twice (new runs push older ones onto the next page) is kept
once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from debugkit.api.cache import looks_like_run_id
from debugkit.api.client import ApiError, NotFound, SkyvernClient
from debugkit.constants import FAILED_STATUSES
from debugkit.errors import UsageError
from debugkit.timeutil import parse_time

RUN_STATUSES = ("created", "queued", "running", "failed", "terminated", "canceled", "timed_out", "completed", "paused")
DEFAULT_STATUSES = FAILED_STATUSES
DEFAULT_SINCE = "24h"
DEFAULT_LIMIT = 200
MAX_PAGE = 100  # the API refuses page > 100
MAX_PAGE_SIZE = 100
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class RunSummary:
    """One item of the run list, as far as fleet triage needs it."""

    run_id: str
    status: str | None
    run_type: str | None
    created_at: datetime | None  # aware UTC
    workflow_permanent_id: str | None = None
    title: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> RunSummary | None:
        run_id = item.get("run_id") or item.get("workflow_run_id") or item.get("task_id")
        if not isinstance(run_id, str) or not run_id:
            return None
        return cls(
            run_id=run_id,
            status=_text(item.get("status")),
            run_type=_text(item.get("task_run_type") or item.get("run_type")),
            created_at=parse_time(item.get("created_at")),
            workflow_permanent_id=_text(item.get("workflow_permanent_id")),
            title=_text(item.get("title")),
        )


@dataclass(frozen=True)
class ListQuery:
    statuses: tuple[str, ...] | None = DEFAULT_STATUSES  # None: any status
    since: datetime | None = None  # aware UTC; None: no time limit
    limit: int = DEFAULT_LIMIT
    workflow: str | None = None  # a workflow_permanent_id (wpid_...)


@dataclass
class Listing:
    runs: list[RunSummary] = field(default_factory=list)
    pages: int = 0  # list requests that answered
    more: bool = False  # runs beyond --limit (or beyond the API's last page) exist
    stopped: str = "end"  # end (a short page) | since | limit | page_cap

    def note(self) -> str | None:
        """One line for the user when the listing did not reach everything that matched."""
        if self.stopped == "limit":
            return f"--limit {len(self.runs)} reached: older matching runs were not triaged"
        if self.stopped == "page_cap":
            return f"the run list stops at page {MAX_PAGE}: older matching runs were not triaged"
        return None


def list_runs(client: SkyvernClient, query: ListQuery) -> Listing:
    """The runs matching ``query``, newest first, at most ``query.limit``."""
    size = min(MAX_PAGE_SIZE, query.limit + 1)
    params: dict[str, Any] = {"page_size": size}
    if query.statuses:
        params["status"] = list(query.statuses)
    if query.workflow:
        params["run_type"] = ["workflow_run"]
        params["search_key"] = query.workflow  # matches the workflow_permanent_id; kept only when equal
    listing = Listing()
    seen: set[str] = set()
    for page in range(1, MAX_PAGE + 1):
        items = _page(client, {**params, "page": page})
        listing.pages += 1
        oldest: datetime | None = None
        for item in items:
            run = RunSummary.from_item(item) if isinstance(item, dict) else None
            if run is None or run.run_id in seen:
                continue
            seen.add(run.run_id)
            if run.created_at is not None:
                oldest = run.created_at if oldest is None else min(oldest, run.created_at)
            if _wanted(run, query):
                listing.runs.append(run)
        if len(listing.runs) > query.limit:
            del listing.runs[query.limit :]
            listing.more, listing.stopped = True, "limit"
            return listing
        if query.since is not None and oldest is not None and oldest < query.since:
            listing.stopped = "since"
            return listing
        if len(items) < size:
            return listing
    listing.more, listing.stopped = True, "page_cap"
    return listing


def _page(client: SkyvernClient, params: dict[str, Any]) -> list[Any]:
    try:
        items = client.get_json("/v1/runs", params, what="the run list")
    except NotFound as exc:
        hint = "this server does not list runs (GET /v1/runs); triage runs one by one with `debugkit triage RUN_ID`"
        raise ApiError(f"{exc}: {hint}") from None
    if not isinstance(items, list):
        raise ApiError("the run list: the server's answer is not a list")
    return items


def _wanted(run: RunSummary, query: ListQuery) -> bool:
    """The server filters already; these checks keep the listing honest with any server."""
    if query.statuses and run.status not in query.statuses:
        return False
    if query.workflow and run.workflow_permanent_id != query.workflow:
        return False
    return query.since is None or run.created_at is None or run.created_at >= query.since


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``24h``, ``90m``, ``7d``, ``2w``, ``30s``, or an ISO date/time (naive: UTC) -> aware UTC."""
    now = now or datetime.now(UTC)
    match = _SPAN.match(text)
    if match:
        seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
        if seconds <= 0:
            raise UsageError(f"--since {text}: the span must be above 0")
        return now - timedelta(seconds=seconds)
    when = parse_time(text)
    if when is None:
        expected = "a span such as 24h, 90m, 7d, or an ISO date/time such as 2026-05-01"
        raise UsageError(f"--since {text!r}: expected {expected}")
    return when


def parse_statuses(text: str) -> tuple[str, ...]:
    """``failed,terminated`` -> ("failed", "terminated"); every name checked against Skyvern's statuses."""
    names = tuple(dict.fromkeys(s.strip().lower() for s in text.split(",") if s.strip()))
    unknown = [s for s in names if s not in RUN_STATUSES]
    if unknown or not names:
        raise UsageError(f"--status {text!r}: expected a comma-separated list of {', '.join(RUN_STATUSES)}")
    return names


def check_run_id(run: RunSummary) -> str | None:
    """Why a listed id cannot be fetched (it would not make a safe URL path), or None."""
    return None if looks_like_run_id(run.run_id) else f"not a run id Skyvern serves: {run.run_id[:80]!r}"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None

"""The fleet's outputs: the ``debugkit.fleet/1`` document, JSONL rows, the terminal table.

The README documents every key. Keys are only ever added within a schema version.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from debugkit import __version__
from debugkit.analysis.causes import meaning_of
from debugkit.errors import UsageError
from debugkit.fleet.batch import FleetRow
from debugkit.fleet.clusters import OK_CAUSES, Cluster, cluster_rows
from debugkit.fleet.listing import Listing, ListQuery
from debugkit.timeutil import iso

SCHEMA = "debugkit.fleet/1"


@dataclass
class Fleet:
    """Every row, the clusters over them, and where they came from."""

    rows: list[FleetRow]
    query: ListQuery
    source: dict[str, str]  # {"kind": "api", "base_url": ...} | {"kind": "path", "path": ...}
    listing: Listing | None = None  # None offline
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    clusters: list[Cluster] = field(init=False)

    def __post_init__(self) -> None:
        self.clusters = cluster_rows(self.rows)

    @property
    def failed_to_triage(self) -> int:
        return sum(1 for row in self.rows if row.error is not None)

    def notes(self) -> list[str]:
        listing_note = self.listing.note() if self.listing is not None else None
        notes = [listing_note] if listing_note else []
        if self.failed_to_triage:
            notes.append(f"{self.failed_to_triage} run(s) could not be triaged: see their error")
        return notes

    def document(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "tool": {"name": "debugkit", "version": __version__},
            "generated_at": iso(self.generated_at),
            "source": self.source,
            "query": {
                "statuses": list(self.query.statuses) if self.query.statuses else None,
                "since": iso(self.query.since),
                "limit": self.query.limit,
                "workflow": self.query.workflow,
            },
            "listing": None
            if self.listing is None
            else {"pages": self.listing.pages, "more": self.listing.more, "stopped": self.listing.stopped},
            "runs": [row.to_dict() for row in self.rows],
            "clusters": [cluster.to_dict() for cluster in self.clusters],
            "notes": self.notes(),
        }


def write_jsonl(rows: Iterable[FleetRow], path: Path) -> None:
    """One JSON object a line, one line a run (the run rows of the document)."""
    lines = "".join(json.dumps(row.to_dict(), ensure_ascii=False) + "\n" for row in rows)
    write_text(path, lines)


def write_text(path: Path, text: str) -> int:
    """Write atomically (a temporary file beside ``path``, then a rename); a usage error when it cannot."""
    data = text.encode("utf-8")
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(temp, 0o644)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    return len(data)


# --- the terminal ---------------------------------------------------------------------------------


def render_terminal(fleet: Fleet, console: Console) -> None:
    """One table, biggest cluster first, after one line that says what was triaged."""
    console.print(Text(_headline(fleet), style="bold"))
    if not fleet.rows:
        console.print("No run matched.")
        return
    table = Table(show_lines=False, header_style="bold", expand=False)
    table.add_column("runs", justify="right", no_wrap=True)
    table.add_column("cause", no_wrap=True)
    table.add_column("signature", overflow="fold", ratio=3, min_width=24)
    table.add_column("seen (UTC)", no_wrap=True)
    table.add_column("example", no_wrap=True)
    table.add_column("Skyvern said", overflow="fold", ratio=1)
    for cluster in fleet.clusters:
        first, last = _short_time(cluster.first_seen), _short_time(cluster.last_seen)
        table.add_row(
            str(cluster.count),
            Text(cluster.cause, style="green" if cluster.cause in OK_CAUSES else "red"),
            Text(cluster.signature),
            first if first == last else f"{first}\n{last}",
            Text(cluster.example.run_id),
            Text(", ".join(cluster.skyvern_categories) or "-"),
        )
    console.print(table)
    failing = [cluster for cluster in fleet.clusters if cluster.cause not in OK_CAUSES]
    if failing:
        top = failing[0]
        meaning = meaning_of(top.cause) or "could not be triaged"
        console.print(Text(f"Biggest problem: {top.cause} ({meaning}): {top.signature}, "
                           f"{top.count} of {len(fleet.rows)} runs"))
    for note in fleet.notes():
        console.print(Text(f"note: {note}", style="yellow"))


def _headline(fleet: Fleet) -> str:
    query = fleet.query
    what = ", ".join(query.statuses) if query.statuses else "any status"
    where = fleet.source.get("base_url") or fleet.source.get("path") or ""
    since = f" since {_short_time(query.since)} UTC" if query.since else ""
    workflow = f" of workflow {query.workflow}" if query.workflow else ""
    problems = len(fleet.clusters)
    return f"{len(fleet.rows)} run(s) ({what}){workflow}{since} from {where}: {problems} distinct problem(s)"


def _short_time(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if when is not None else "-"

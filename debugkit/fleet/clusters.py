"""Group the fleet's rows: by ``verdict.cause``, then by failure signature; biggest first.

The clusters partition the rows: every row is in exactly one cluster. Rows that could not be
triaged (cause ``unknown``, signature ``not triaged: <stage>``) form their own clusters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from debugkit.analysis.causes import category_of
from debugkit.fleet.batch import FleetRow
from debugkit.timeutil import iso

OK_CAUSES = frozenset({"none", "canceled_by_user"})  # causes that are not a failure: after failures of the same size


@dataclass
class Cluster:
    cause: str
    signature: str
    rows: list[FleetRow] = field(default_factory=list)  # newest first

    @property
    def category(self) -> str | None:
        return category_of(self.cause)

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def run_ids(self) -> list[str]:
        return [row.run_id for row in self.rows]

    @property
    def example(self) -> FleetRow:
        """The newest run with a verdict, else the newest run."""
        return next((row for row in self.rows if row.error is None), self.rows[0])

    @property
    def first_seen(self) -> datetime | None:
        times = [row.created_at for row in self.rows if row.created_at is not None]
        return min(times) if times else None

    @property
    def last_seen(self) -> datetime | None:
        times = [row.created_at for row in self.rows if row.created_at is not None]
        return max(times) if times else None

    @property
    def skyvern_categories(self) -> list[str]:
        """Skyvern's own categories on these runs, most frequent first."""
        counts: dict[str, int] = {}
        for row in self.rows:
            for name in row.skyvern_categories:
                counts[name] = counts.get(name, 0) + 1
        return sorted(counts, key=lambda name: (-counts[name], name))

    @property
    def triaged(self) -> bool:
        return any(row.error is None for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cause": self.cause,
            "category": self.category,
            "signature": self.signature,
            "count": self.count,
            "run_ids": self.run_ids,
            "example": self.example.run_id,
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "skyvern_categories": self.skyvern_categories,
        }


def cluster_rows(rows: Iterable[FleetRow]) -> list[Cluster]:
    """Clusters of (cause, signature), the biggest first (failures before completed runs of the same
    size); rows inside each newest first."""
    groups: dict[tuple[str, str], Cluster] = {}
    for row in rows:
        key = (row.cause, row.signature)
        groups.setdefault(key, Cluster(cause=row.cause, signature=row.signature)).rows.append(row)
    for cluster in groups.values():
        cluster.rows.sort(key=_newest_first)
    return sorted(groups.values(), key=lambda c: (-c.count, c.cause in OK_CAUSES, not c.triaged, c.cause, c.signature))


def _newest_first(row: FleetRow) -> tuple[bool, float, str]:
    stamp = row.created_at.timestamp() if row.created_at is not None else 0.0
    return (row.created_at is None, -stamp, row.run_id)

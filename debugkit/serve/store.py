"""What ``debugkit serve`` has done, on disk: one ``state.json`` per run, so a restart keeps it all.

``DIR/<run_id>/state.json`` (written atomically) says which delivery it came from (run id and status),
where its triage is (queued, running, triaged, failed), the verdict in a line or the error, and which
files were written beside it (``triage.json``, ``report.html``, ``ticket.zip``). At start every such
file is read back: the index lists them again, a redelivery of a run already triaged is a duplicate,
and a run that was still queued or running when the server stopped is queued again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from debugkit.api.cache import looks_like_run_id
from debugkit.fsutil import write_atomic
from debugkit.serve.payload import Delivery

STATE_FILE = "state.json"
QUEUED, RUNNING, TRIAGED, FAILED = "queued", "running", "triaged", "failed"
UNFINISHED = (QUEUED, RUNNING)
OUTPUTS = ("triage.json", "report.html", "ticket.zip")  # what a triage writes beside state.json


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Entry:
    """One run reported by Skyvern, and what became of its triage."""

    run_id: str
    skyvern_status: str  # the status the delivery reported (failed, terminated, timed_out)
    state: str  # queued | running | triaged | failed (the triage could not be made: see error)
    received_at: str
    run_type: str | None = None
    deliveries: int = 1  # deliveries of this run id and status received (redeliveries counted, not redone)
    started_at: str | None = None
    finished_at: str | None = None
    cause: str | None = None
    category: str | None = None
    summary: str | None = None
    error: str | None = None  # "<stage> failed: <reason>", one line, never the API key
    files: list[str] = field(default_factory=list)  # written in DIR/<run_id>/
    notes: list[str] = field(default_factory=list)  # e.g. why ticket.zip is missing

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: Any) -> Entry | None:
        if not isinstance(doc, dict):
            return None
        known = {f.name for f in fields(cls)}
        try:
            entry = cls(**{k: v for k, v in doc.items() if k in known})
        except TypeError:
            return None
        ok = isinstance(entry.run_id, str) and looks_like_run_id(entry.run_id) and isinstance(entry.state, str)
        return entry if ok else None


class Store:
    """The entries, in memory and on disk. Thread-safe: deliveries and workers share it."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()

    def folder(self, run_id: str) -> Path:
        """``DIR/<run_id>``: a run id is checked to be one before it names a folder."""
        if not looks_like_run_id(run_id):
            raise ValueError("not a run id")
        return self.out / run_id

    def load(self) -> tuple[list[Entry], list[str]]:
        """Read every ``state.json`` back; return the unfinished entries (to queue again) and problems."""
        problems: list[str] = []
        for path in sorted(self.out.glob(f"*/{STATE_FILE}")):
            if not looks_like_run_id(path.parent.name):
                continue
            try:
                entry = Entry.from_dict(orjson.loads(path.read_bytes()))
            except (OSError, orjson.JSONDecodeError) as exc:
                problems.append(f"{path}: unreadable ({type(exc).__name__}); left as it is")
                continue
            if entry is None or entry.run_id != path.parent.name:
                problems.append(f"{path}: not a state file of debugkit serve; left as it is")
                continue
            self._entries[entry.run_id] = entry
        return [e for e in self._entries.values() if e.state in UNFINISHED], problems

    def accept(self, delivery: Delivery, room: Callable[[], bool]) -> tuple[str, Entry | None]:
        """Take a delivery of a failed run: ``("queued", entry)``, ``("duplicate", entry)`` when this run id
        and status were already accepted (and not failed), or ``("full", None)`` when ``room()`` says the
        queue has no room (nothing is recorded then, so Skyvern's retry is taken)."""
        with self._lock:
            known = self._entries.get(delivery.run_id)
            if known is not None and (
                known.state in UNFINISHED or (known.skyvern_status == delivery.status and known.state != FAILED)
            ):
                known.deliveries += 1
                self._save(known)
                return "duplicate", known
            if not room():
                return "full", None
            entry = Entry(
                run_id=delivery.run_id, skyvern_status=delivery.status, state=QUEUED, received_at=now_iso(),
                run_type=delivery.run_type, deliveries=(known.deliveries + 1) if known is not None else 1,
            )
            self._entries[entry.run_id] = entry
            self._save(entry)
            return "queued", entry

    def save(self, entry: Entry) -> None:
        with self._lock:
            self._entries[entry.run_id] = entry
            self._save(entry)

    def entries(self) -> list[Entry]:
        """Every run, the newest delivery first."""
        with self._lock:
            return sorted(self._entries.values(), key=lambda e: (e.received_at, e.run_id), reverse=True)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries())

    def _save(self, entry: Entry) -> None:
        write_atomic(self.folder(entry.run_id) / STATE_FILE, orjson.dumps(entry.to_dict(), option=orjson.OPT_INDENT_2))

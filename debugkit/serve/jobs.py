"""The triage queue of ``debugkit serve``: bounded, worked by a few threads, each job one run.

A job fetches the run through the API into the cache (as ``debugkit triage RUN_ID`` does: only what
the cache lacks, waiting a little for the HAR and console log Skyvern writes after the end), triages
it with :func:`debugkit._api.open_triage` (redaction on), and writes ``DIR/<run_id>/triage.json``,
``report.html`` and ``ticket.zip`` (the redacted, checked bundle). A job that fails is recorded with
its stage and reason; the other jobs go on.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from debugkit.serve.store import FAILED, RUNNING, TRIAGED, Entry, Store, now_iso

if TYPE_CHECKING:
    from debugkit.api.client import SkyvernClient

Log = Callable[[str], None]


@dataclass(frozen=True)
class JobSettings:
    cache_root: Path
    api_key: str
    wait_seconds: float = 30.0  # a run that just ended: wait this long for its HAR and console log
    locate: bool = True
    render: bool = True


class Jobs:
    """A bounded queue of runs to triage and the worker threads that empty it."""

    def __init__(
        self, store: Store, work: Callable[[Entry], None], *, workers: int = 2, capacity: int = 64, log: Log
    ) -> None:
        self.store = store
        self.capacity = capacity
        self._work = work
        self._log = log
        self._pending: deque[Entry] = deque()
        self._busy = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._loop, name=f"debugkit-serve-{n}", daemon=True) for n in range(workers)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def has_room(self) -> bool:
        with self._cond:
            return len(self._pending) < self.capacity

    def submit(self, entry: Entry) -> None:
        with self._cond:
            self._pending.append(entry)
            self._cond.notify()

    def stop(self, timeout: float = 10.0) -> int:
        """No job starts after this; wait up to ``timeout`` s for those under way. Returns how many runs
        stay queued or running (they are queued again at the next start)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout / max(len(self._threads), 1))
        with self._cond:
            return len(self._pending) + self._busy

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called: a job failing now may fail because of it (its client closed)."""
        return self._stopping

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                entry = self._pending.popleft()
                self._busy += 1
            try:
                self._work(entry)
            except Exception as exc:  # a bug in a job: recorded, the worker goes on
                entry.state, entry.error, entry.finished_at = FAILED, f"internal error: {type(exc).__name__}", now_iso()
                self.store.save(entry)
                self._log(f"failed {entry.run_id}: internal error {type(exc).__name__}")
            finally:
                with self._cond:
                    self._busy -= 1


def triage_job(
    store: Store,
    settings: JobSettings,
    client_factory: Callable[[], SkyvernClient],
    log: Log,
    stopping: Callable[[], bool] = lambda: False,
) -> Callable[[Entry], None]:
    """The work of one job, for :class:`Jobs` (``client_factory`` gives the shared SkyvernClient).

    A job that fails while the server stops (``stopping()``: its client is being closed under it) is not
    recorded as failed: it stays unfinished and is taken up at the next start."""
    from debugkit._api import open_triage
    from debugkit.api.cache import fetch_into_cache
    from debugkit.errors import BundleRefused
    from debugkit.fleet.batch import error_line
    from debugkit.outputs import write_output

    keys = [settings.api_key]

    def work(entry: Entry) -> None:
        entry.state, entry.started_at, entry.error, entry.notes, entry.files = RUNNING, now_iso(), None, [], []
        store.save(entry)
        folder = store.folder(entry.run_id)
        stage = "fetch"
        try:
            source, _ = fetch_into_cache(
                client_factory(), entry.run_id, settings.cache_root, wait_seconds=settings.wait_seconds
            )
            stage = "triage"
            t = open_triage(
                source, locate="report" if settings.locate else "none", render=settings.render,
                api_key=settings.api_key,
            )
            verdict = t.verdict
            entry.cause, entry.category, entry.summary = verdict.cause, verdict.category, verdict.summary
            write_output(folder / "triage.json", orjson.dumps(t.to_json(), option=orjson.OPT_INDENT_2))
            entry.files.append("triage.json")
            stage = "report"
            t.write_html(folder / "report.html")
            entry.files.append("report.html")
            stage = "bundle"
            try:
                t.write_bundle(folder / "ticket.zip")
                entry.files.append("ticket.zip")
            except BundleRefused as exc:  # fail closed: no ticket, the rest stands
                entry.notes.append(f"ticket.zip not written: {error_line(exc, keys)}")
            entry.state = TRIAGED
        except Exception as exc:
            if stopping():
                log(f"interrupted {entry.run_id} ({stage}): taken up at the next start")
                return
            entry.state, entry.error = FAILED, f"{stage} failed: {error_line(exc, keys)}"
        entry.finished_at = now_iso()
        store.save(entry)
        if entry.state == TRIAGED:
            log(f"triaged {entry.run_id}: {entry.cause} ({entry.category or '-'})")
        else:
            log(f"not triaged {entry.run_id}: {entry.error}")

    return work

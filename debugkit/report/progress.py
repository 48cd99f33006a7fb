"""A progress bar for downloads, on stderr, only when someone is watching."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from debugkit.api.fetch import Outcome


class FetchProgress:
    """``set_total`` and ``advance`` are safe to call from download threads."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bytes = 0
        self._progress = (
            Progress(
                TextColumn("fetching"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("artifacts"),
                TextColumn("{task.fields[size]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            if enabled
            else None
        )
        self._task = None

    def __enter__(self) -> FetchProgress:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task("fetch", total=None, size="0.0 MB")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def set_total(self, total: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=total)

    def advance(self, outcome: Outcome) -> None:
        if self._progress is None or self._task is None:
            return
        self._bytes += outcome.bytes
        self._progress.update(self._task, advance=1, size=f"{self._bytes / 1e6:.1f} MB")

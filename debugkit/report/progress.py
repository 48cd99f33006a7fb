"""A progress bar for downloads, on stderr, only when someone is watching."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from debugkit.api.fetch import Outcome


class FetchProgress:
    """``set_total`` and ``advance`` are safe to call from download threads.

    ``waiting`` shows the countdown while the fetch waits for the HAR and console log that Skyvern
    writes after a run ends: a live line on a terminal, one plain line otherwise (unless ``quiet``).
    """

    def __init__(self, enabled: bool, quiet: bool = False) -> None:
        self.enabled = enabled
        self.quiet = quiet
        self._said_wait = False
        self._bytes = 0
        self._progress = (
            Progress(
                TextColumn("{task.fields[what]}"),
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
            self._task = self._progress.add_task("fetch", total=None, size="0.0 MB", what="fetching")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def waiting(self, seconds_left: float, missing: list[str]) -> None:
        what = " and ".join(missing)
        if self._progress is not None and self._task is not None:
            text = (
                f"waiting {seconds_left:4.0f} s for the {what} (--no-wait skips)"
                if missing and seconds_left > 0
                else "fetching"
            )
            self._progress.update(self._task, what=text)
        elif not self.quiet and not self._said_wait and missing and seconds_left > 0:
            self._said_wait = True
            sys.stderr.write(
                f"debugkit: the run just ended; waiting up to {seconds_left:.0f} s for the {what} Skyvern writes "
                "when the browser closes (--no-wait skips)\n"
            )

    def set_total(self, total: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=total)

    def advance(self, outcome: Outcome) -> None:
        if self._progress is None or self._task is None:
            return
        self._bytes += outcome.bytes
        self._progress.update(self._task, advance=1, size=f"{self._bytes / 1e6:.1f} MB")

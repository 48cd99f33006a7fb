"""The log of ``debugkit serve``: one line per delivery and per triage, on the server's stdout.

Each line starts with the UTC time. Lines hold run ids, statuses, outcomes and the client's address;
never a request body, a header value or the API key.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import TextIO


class Log:
    """Thread-safe: deliveries (the event loop) and workers (threads) write lines."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = " ".join(line.split())  # one line, whatever a message held
        with self._lock:
            try:
                self._stream.write(f"{stamp} {text}\n")
                self._stream.flush()
            except (OSError, ValueError):  # stdout closed (e.g. the reader went away): keep serving
                pass

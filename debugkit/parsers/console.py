"""Read Skyvern's ``browser_console_log`` into :class:`ConsoleLine` events.

Each event starts a line with a timestamp and the console type, no space between them::

    2026-05-01T09:01:12.345678Z[error]TypeError: x is undefined url=https://a.example/a.js lineNumber=10 columnNumber=4

The message may span several lines; the location (``url=… lineNumber=… columnNumber=…``,
``url`` possibly empty) ends the event's last line. A line that does not start with a
timestamp and ``[type]`` continues the previous event. :func:`parse_console_log` never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from debugkit.model import ConsoleLine
from debugkit.timeutil import parse_time

__all__ = ["parse_console_log"]

_EVENT_START = re.compile(
    r"(?P<ts>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)"
    r"\[(?P<level>[A-Za-z][A-Za-z_-]*)\]"
)
_LOCATION = re.compile(r"(?: |\n|\A)url=(?P<url>\S*) lineNumber=-?\d+ columnNumber=-?\d+[ \t]*\Z")
UNKNOWN_LEVEL = "unknown"


@dataclass
class _Event:
    line_no: int
    timestamp_text: str | None
    level: str
    lines: list[str] = field(default_factory=list)


def parse_console_log(text: str) -> list[ConsoleLine]:
    """Parse a console log into events, in file order; never raises.

    A leading fragment before the first event becomes its own line with ``timestamp=None`` and
    level ``"unknown"``.
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str) or not text:
        return []
    events: list[_Event] = []
    current: _Event | None = None
    for line_no, line in enumerate(_lines(text), start=1):
        start = _EVENT_START.match(line)
        if start is not None:
            current = _Event(line_no, start["ts"], start["level"].lower(), [line[start.end() :]])
            events.append(current)
        elif current is None:
            current = _Event(line_no, None, UNKNOWN_LEVEL, [line])
            events.append(current)
        else:
            current.lines.append(line)
    return [_finish(event) for event in events]


def _lines(text: str) -> list[str]:
    """Split on ``\\n`` only (messages may hold other Unicode line breaks), dropping trailing blanks."""
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _finish(event: _Event) -> ConsoleLine:
    """Join the event's lines and take the location off its end."""
    message = "\n".join(event.lines)
    url: str | None = None
    location = _LOCATION.search(message)
    if location is not None:
        url = location["url"] or None
        message = message[: location.start()]
    return ConsoleLine(
        timestamp=parse_time(event.timestamp_text) if event.timestamp_text else None,
        level=event.level,
        message=message,
        url=url,
        line_no=event.line_no,
    )

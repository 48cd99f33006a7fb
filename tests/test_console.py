"""Tests of debugkit.parsers.console: Skyvern's browser console log format."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from debugkit.parsers.console import parse_console_log

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real"


def _real_log(run: str) -> str:
    return next((REAL / run / "artifact_files").glob("*__browser_console_log__*")).read_text()


def test_real_checkout_500_log() -> None:
    lines = parse_console_log(_real_log("checkout_500"))
    assert [line.level for line in lines] == ["error", "log", "log", "error", "error", "error"]
    assert [line.line_no for line in lines] == [1, 2, 3, 4, 5, 6]
    first = lines[0]
    assert first.timestamp == datetime(2026, 11, 28, 22, 51, 13, 8956, tzinfo=UTC)
    assert first.message == "Failed to load resource: the server responded with a status of 404 (Not Found)"
    assert first.url == "http://127.0.0.1:18002/favicon.ico"
    # an empty location url: "url= lineNumber=2889 columnNumber=6"
    assert lines[1].url is None
    assert lines[1].message.startswith("input element with required attribute and no value {id: AAAE")
    assert lines[1].message.endswith("hoverOnly: false}")
    for order in lines[3:]:
        assert order.url == "http://127.0.0.1:18002/api/order"
        assert "status of 500 (Internal Server Error)" in order.message
    assert all(line.timestamp.tzinfo is UTC for line in lines)


@pytest.mark.parametrize(("run", "count"), [("success", 2), ("hallucinated_element", 1)])
def test_other_real_logs(run: str, count: int) -> None:
    lines = parse_console_log(_real_log(run))
    assert len(lines) == count
    assert all(line.timestamp is not None and "url=" not in line.message for line in lines)


def test_multi_line_event() -> None:
    text = (
        "2026-05-01T09:01:12.345678Z[error]Uncaught TypeError: x is undefined\n"
        "    at render (https://shop.example/app.js:10:4)\n"
        "\n"
        "    at main (https://shop.example/app.js:2:1) url=https://shop.example/app.js lineNumber=10 columnNumber=4\n"
        "2026-05-01T09:01:13Z[warning]slow url= lineNumber=1 columnNumber=2\n"
    )
    first, second = parse_console_log(text)
    assert first.message == (
        "Uncaught TypeError: x is undefined\n"
        "    at render (https://shop.example/app.js:10:4)\n"
        "\n"
        "    at main (https://shop.example/app.js:2:1)"
    )
    assert first.url == "https://shop.example/app.js"
    assert (first.level, first.line_no) == ("error", 1)
    assert first.timestamp == datetime(2026, 5, 1, 9, 1, 12, 345678, tzinfo=UTC)
    assert (second.level, second.message, second.url, second.line_no) == ("warning", "slow", None, 5)


def test_location_on_its_own_line() -> None:
    (line,) = parse_console_log(
        "2026-05-01T09:01:12Z[log]hello\nurl=https://a.example/x.js lineNumber=1 columnNumber=1"
    )
    assert (line.message, line.url) == ("hello", "https://a.example/x.js")


def test_leading_fragment_and_garbage_lines() -> None:
    text = (
        "lineNumber=3 columnNumber=1\n"
        "half of an earlier event\n"
        "2026-05-01T09:01:12Z[info]ready url=https://a.example/ lineNumber=0 columnNumber=0\n"
        "%%% not an event %%%\n"
    )
    fragment, event = parse_console_log(text)
    assert (fragment.timestamp, fragment.level, fragment.line_no) == (None, "unknown", 1)
    assert fragment.message == "lineNumber=3 columnNumber=1\nhalf of an earlier event"
    assert (event.level, event.line_no) == ("info", 3)
    # a line that does not start an event continues the previous one; the location was not last
    assert event.message == "ready url=https://a.example/ lineNumber=0 columnNumber=0\n%%% not an event %%%"
    assert event.url is None


def test_message_mentioning_url_keeps_it() -> None:
    (line,) = parse_console_log(
        "2026-05-01T09:01:12Z[log]see url=https://x.example lineNumber=9 columnNumber=9 for details"
        " url=https://a.example/a.js lineNumber=2 columnNumber=3"
    )
    assert line.message == "see url=https://x.example lineNumber=9 columnNumber=9 for details"
    assert line.url == "https://a.example/a.js"


def test_event_without_location_or_message() -> None:
    first, second = parse_console_log("2026-05-01T09:01:12Z[debug]no location here\n2026-05-01T09:01:13Z[log]")
    assert (first.message, first.url) == ("no location here", None)
    assert (second.message, second.url, second.level) == ("", None, "log")


def test_crlf_and_unicode_line_separators() -> None:
    text = "2026-05-01T09:01:12Z[log]a\u2028b url= lineNumber=1 columnNumber=1\r\n2026-05-01T09:01:13Z[LOG]c\r\n"
    first, second = parse_console_log(text)
    assert first.message == "a\u2028b"  # only \n separates lines
    assert (second.message, second.level, second.line_no) == ("c", "log", 2)


def test_impossible_timestamp_still_starts_an_event() -> None:
    (line,) = parse_console_log("2026-13-45T99:01:12Z[error]odd clock")
    assert (line.timestamp, line.level, line.message) == (None, "error", "odd clock")


@pytest.mark.parametrize("text", ["", "\n\n", "   \n"])
def test_empty_logs(text: str) -> None:
    assert parse_console_log(text) == []


def test_never_raises_on_garbage() -> None:
    rng = random.Random(99)
    alphabet = "2026-05-01T09:01:12.3Z[]errorlog url= lineNumber=1 columnNumber=\n\r\t\x00\u2028é"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
        lines = parse_console_log(text)
        assert all(line.line_no >= 1 for line in lines)
    assert parse_console_log(None) == []  # type: ignore[arg-type]
    assert parse_console_log(b"2026-05-01T09:01:12Z[log]bytes")[0].message == "bytes"  # type: ignore[arg-type]

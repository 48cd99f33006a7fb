"""Two processes for one long run (debugkit.forked): the HAR parsed and the network redacted half in a forked child,
with the same rows, problems, secrets and placeholders as one process, and nothing left behind when a half fails."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from debugkit import forked
from debugkit.parsers import har as har_module
from debugkit.parsers.har import parse_har
from debugkit.pipeline import prepare, read
from debugkit.redaction import redactor as redactor_module
from debugkit.redaction.collect import HarSecrets

ROOT = Path(__file__).resolve().parent.parent
PAGE = "page@1"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsYXRlIn0.c2lnbmF0dXJlLWxhdGU"
JWT_PAGE = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwYWdlIn0.c2lnbmF0dXJlLXBhZ2U"
JWT_EARLY = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJlYXJseSJ9.c2lnbmF0dXJlLWVhcmx5"
JWT_NOTE = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJub3RlIn0.c2lnbmF0dXJlLW5vdGU"

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this system")


@pytest.fixture
def two_processes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Forking on (as the CLI turns it on), and off again after the test; on a one-CPU machine too (debugkit would
    not fork there, but the forked path must still give the same answers)."""
    monkeypatch.setattr(forked, "usable_cpus", lambda: max(2, forked.os.cpu_count() or 1))
    forked.enable()
    try:
        yield
    finally:
        forked.enable(False)


def _entry(n: int, **extra: Any) -> dict[str, Any]:
    session = f"session-{n // 50:04d}-secret"  # one cookie per 50 requests, as a page's requests share one
    headers = [
        {"name": "Accept", "value": "application/json"},
        {"name": "Cookie", "value": f"sid={session}"},
        {"name": "Authorization", "value": f"Bearer tok-{n // 50:04d}-abcdefgh"},
    ]
    entry: dict[str, Any] = {
        "startedDateTime": f"2026-11-28T22:{10 + n // 60:02d}:{n % 60:02d}.000Z",
        "time": 10.0,
        "request": {
            "method": "GET",
            "url": f"https://shop.example/api/items/{n}?page={n % 7}&session_token=qt-{n // 50:04d}-value",
            "headers": headers,
            "cookies": [{"name": "sid", "value": session}],
            "queryString": [{"name": "session_token", "value": f"qt-{n // 50:04d}-value"}],
        },
        "response": {"status": 200, "statusText": "OK", "headers": []},
        "pageref": PAGE,
    }
    entry.update(extra)
    return entry


def _navigation(n: int, **response: Any) -> dict[str, Any]:
    entry = _entry(n)
    entry["request"]["url"] = f"https://shop.example/page/{n}"
    entry["request"]["headers"] = [
        {"name": "Accept", "value": "text/html,application/xhtml+xml"},
        {"name": "Sec-Fetch-Dest", "value": "document"},
    ]
    entry["response"] = {"status": -1, "statusText": "", "headers": [], **response}
    return entry


def _long_har(count: int = 400) -> bytes:
    """Entries of both halves with secrets, damage (no url, text status) and an aborted navigation that only a
    navigation of the other half supersedes; a JWT in a token header of the second half only; JWTs only in the text
    (no secret header holds them): one in a page's title (before the entries), one in each half."""
    entries: list[Any] = [_entry(n) for n in range(count)]
    entries[10] = _navigation(10, _failureText="net::ERR_ABORTED")  # superseded by entry 300's navigation
    entries[300] = _navigation(300, status=200)
    entries[20]["request"].pop("url")  # skipped, in the first half
    entries[350]["request"].pop("url")  # skipped, in the second half
    entries[360]["response"]["status"] = "404"  # a status written as text
    entries[370]["response"]["headers"] = [{"name": "X-Token", "value": JWT}]
    entries[5]["response"]["headers"] = [{"name": "X-Note", "value": f"issued {JWT_EARLY}"}]
    entries[380]["response"]["headers"] = [{"name": "X-Note", "value": f"issued {JWT_NOTE}"}]
    doc = {"log": {"version": "1.2", "pages": [{"id": PAGE, "title": f"t={JWT_PAGE}"}], "entries": entries}}
    return json.dumps(doc).encode()


def _parsed(data: bytes) -> tuple[list[dict[str, Any]], list[str], list[tuple[str, str]]]:
    secrets = HarSecrets()
    result = parse_har(data, collector=secrets)  # the JWTs of its text too
    return [dict(e.__dict__) for e in result.entries], result.problems, secrets.pairs()


def test_both_runs_the_second_half_in_a_child_and_takes_its_result(two_processes: None):
    parent = os.getpid()
    mine, theirs = forked.both(os.getpid, lambda: (os.getpid(), list(range(5))))
    assert mine == parent
    assert theirs[0] != parent and theirs[1] == [0, 1, 2, 3, 4]
    assert forked.children[-1].pid == theirs[0] and forked.children[-1].used
    with pytest.raises(ChildProcessError):
        os.waitpid(theirs[0], os.WNOHANG)  # reaped: no zombie left


def test_both_runs_in_this_process_unless_enabled():
    forked.enable(False)
    before = len(forked.children)
    assert forked.both(os.getpid, os.getpid) == (os.getpid(), os.getpid())
    assert len(forked.children) == before


def test_a_child_that_fails_or_dies_has_its_half_done_here(two_processes: None):
    parent = os.getpid()

    def fails_in_the_child() -> int:
        if os.getpid() != parent:
            raise RuntimeError("a bug in the child")
        return os.getpid()

    def dies_in_the_child() -> int:
        if os.getpid() != parent:
            os._exit(9)  # killed or crashed before it wrote anything
        return os.getpid()

    for second in (fails_in_the_child, dies_in_the_child):
        assert forked.both(lambda: "mine", second) == ("mine", parent)
        assert not forked.children[-1].used


def test_an_error_here_stops_and_reaps_the_child(monkeypatch: pytest.MonkeyPatch, two_processes: None):
    pids: list[int] = []
    fork = os.fork

    def recording_fork() -> int:
        pid = fork()
        if pid:
            pids.append(pid)
        return pid

    def slow() -> None:
        import time

        time.sleep(30)

    def broken() -> None:
        raise KeyError("first half")

    monkeypatch.setattr(os, "fork", recording_fork)
    with pytest.raises(KeyError):
        forked.both(broken, slow)
    assert len(pids) == 1
    with pytest.raises(ChildProcessError):  # killed and waited for: not left asleep, nor as a zombie
        os.waitpid(pids[0], os.WNOHANG)


def test_a_long_har_parsed_in_two_processes_reads_as_in_one(monkeypatch: pytest.MonkeyPatch, two_processes: None):
    data = _long_har()
    monkeypatch.setattr(har_module, "SPLIT_BYTES", 1 << 40)  # one process
    one = _parsed(data)
    monkeypatch.setattr(har_module, "SPLIT_BYTES", 0)
    before = len(forked.children)
    two = _parsed(data)
    assert len(forked.children) == before + 1 and forked.children[-1].used
    rows, problems, secrets = two
    assert rows == one[0] and problems == one[1] and secrets == one[2]
    assert [value for value, kind in secrets if kind == "jwt"] == [JWT_PAGE, JWT_EARLY, JWT_NOTE]  # each half's text
    assert [r["index"] for r in rows] == sorted(r["index"] for r in rows) and rows[-1]["index"] == 399
    assert problems[0].startswith("2 HAR entries skipped: no request with a url") and "#20, #350" in problems[0]
    assert any("status written as text" in p and "#360" in p for p in problems)
    aborted = next(r for r in rows if r["index"] == 10)
    assert aborted["noise"] and "later navigation" in aborted["noise_reason"]  # superseded across the halves
    values = [value for value, _ in secrets]
    assert "session-0007-secret" in values and "qt-0007-value" in values and JWT in values


def test_a_har_damaged_in_its_second_half_is_recovered_as_in_one_process(
    monkeypatch: pytest.MonkeyPatch, two_processes: None
):
    data = _long_har()
    cut = data[: int(len(data) * 0.8)]  # truncated inside the second half's entries
    monkeypatch.setattr(har_module, "SPLIT_BYTES", 1 << 40)
    one = _parsed(cut)
    monkeypatch.setattr(har_module, "SPLIT_BYTES", 0)
    two = _parsed(cut)
    assert two == one
    assert any("truncated" in p for p in two[1]) and len(two[0]) > 250


def test_a_long_network_redacted_in_two_processes_as_in_one(monkeypatch: pytest.MonkeyPatch, two_processes: None):
    source = read(ROOT / "fixtures" / "real" / "checkout_500")
    secrets = HarSecrets()
    source.run.network = parse_har(_long_har(), collector=secrets).entries  # 400 rows, a token in every url
    source.run.har_secrets = secrets.pairs()
    salt = b"s" * 16
    monkeypatch.setattr(redactor_module, "SPLIT_ROWS", 1 << 40)
    one = prepare(source, salt=salt, keep_redactor=True)
    monkeypatch.setattr(redactor_module, "SPLIT_ROWS", 100)
    before = len(forked.children)
    two = prepare(source, salt=salt, keep_redactor=True)
    assert len(forked.children) == before + 1 and forked.children[-1].used
    assert [e.__dict__ for e in two.run.network] == [e.__dict__ for e in one.run.network]
    assert one.redactor is not None and two.redactor is not None
    assert two.redactor.redacted == one.redactor.redacted and two.redactor.counts == one.redactor.counts
    assert list(two.redactor.redacted) == list(one.redactor.redacted)  # found in the same order
    # the rest of the run (redacted here while the child redacts its rows) as in one process
    for theirs, ours in zip(two.run.steps, one.run.steps, strict=True):
        assert theirs.actions == ours.actions and theirs.elements == ours.elements
        assert (theirs.html_scrape and theirs.html_scrape.text) == (ours.html_scrape and ours.html_scrape.text)
    assert two.run.errors == one.run.errors and two.run.failure_reason == one.run.failure_reason
    second_half = two.run.network[len(two.run.network) // 2 :]
    assert all("qt-" not in e.url for e in second_half)
    assert sum("session_token=[REDACTED:" in e.url for e in second_half) >= 190


def test_each_halfs_text_is_read_in_its_process_once(two_processes: None, monkeypatch: pytest.MonkeyPatch):
    """The JWT search of the HAR's bytes is split like its entries: this process reads the text up to the middle,
    the child the rest; nothing is read a second time here."""
    monkeypatch.setattr(har_module, "SPLIT_BYTES", 0)
    data = _long_har()
    spans: list[tuple[int, int | None]] = []

    class Recording(HarSecrets):
        def text(self, data: Any, start: int = 0, end: int | None = None) -> None:
            spans.append((start, end))
            super().text(data, start, end)

    parse_har(data, collector=Recording())
    assert forked.children[-1].used
    assert len(spans) == 1 and spans[0][0] == 0 and 0 < (spans[0][1] or 0) < len(data)
    monkeypatch.setattr(har_module, "SPLIT_BYTES", 1 << 40)  # one process: the whole text, once
    spans.clear()
    parse_har(data, collector=Recording())
    assert spans == [(0, None)]

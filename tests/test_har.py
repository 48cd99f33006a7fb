"""Tests of debugkit.parsers.har: real Skyvern HARs, failure dialects, damage, haralyzer pitfalls."""

from __future__ import annotations

import copy
import dataclasses
import gc
import json
import random
from datetime import UTC
from pathlib import Path
from typing import Any

import orjson
import pytest
from haralyzer import HarParser
from haralyzer.assets import HarEntry, HarPage

from debugkit.model import NetworkEntry
from debugkit.parsers import har as har_module
from debugkit.parsers.har import PENDING_ERROR, HarParse, parse_har

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real"
REAL_COUNTS = {"checkout_500": 4, "hallucinated_element": 1, "success": 2}
PAGE = "page@78133e184a1b28192fa98e67a4d884ea"


# --- helpers ------------------------------------------------------------------------------------


def _real_har(run: str) -> bytes:
    return next((REAL / run / "artifact_files").glob("*__har__*")).read_bytes()


def _headers(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": n, "value": v} for n, v in pairs]


NAV_HEADERS = [
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("Sec-Fetch-Dest", "document"),
    ("Sec-Fetch-Mode", "navigate"),
]
XHR_HEADERS = [("Accept", "application/json, text/plain, */*"), ("Sec-Fetch-Dest", "empty")]


def _entry(
    url: str = "https://shop.example/api/items",
    *,
    method: str = "GET",
    status: Any = 200,
    status_text: str = "OK",
    time: Any = 12.5,
    started: str = "2026-11-28T22:51:12.818Z",
    headers: list[tuple[str, str]] | None = None,
    pageref: str | None = PAGE,
    **response_extra: Any,
) -> dict[str, Any]:
    """A Playwright-style entry recorded with bodies omitted (no content.text)."""
    entry: dict[str, Any] = {
        "startedDateTime": started,
        "time": time,
        "request": {
            "method": method,
            "url": url,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _headers(headers if headers is not None else XHR_HEADERS),
            "queryString": [],
            "headersSize": -1,
            "bodySize": 0,
        },
        "response": {
            "status": status,
            "statusText": status_text,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [],
            "content": {"size": -1, "mimeType": "x-unknown"},
            "headersSize": -1,
            "bodySize": -1,
            "redirectURL": "",
            **response_extra,
        },
        "cache": {},
        "timings": {"send": -1, "wait": -1, "receive": -1},
    }
    if pageref is not None:
        entry["pageref"] = pageref
    return entry


def _har(entries: list[Any], *, indent: int | None = None) -> bytes:
    doc = {
        "log": {
            "version": "1.2",
            "creator": {"name": "Playwright", "version": "1.46.0"},
            "pages": [{"startedDateTime": "2026-11-28T22:51:12.377Z", "id": PAGE, "title": "", "pageTimings": {}}],
            "entries": entries,
        }
    }
    return json.dumps(doc, indent=indent).encode()


def _one(entry: dict[str, Any]) -> Any:
    result = parse_har(_har([entry]))
    assert result.problems == []
    assert len(result.entries) == 1
    return result.entries[0]


def _fields(entry: NetworkEntry) -> dict[str, Any]:
    """Every field of a row but ``raw``."""
    return {f.name: getattr(entry, f.name) for f in dataclasses.fields(entry) if f.name != "raw"}


def _entry_ends(data: bytes) -> list[int]:
    """Character offsets where each entry of a (valid, ASCII) HAR ends."""
    text = data.decode()
    pos = text.index("[", text.index('"entries"')) + 1
    decoder, ends = json.JSONDecoder(), []
    while True:
        while text[pos] in " \n\r\t,":
            pos += 1
        if text[pos] == "]":
            return ends
        _, pos = decoder.raw_decode(text, pos)
        ends.append(pos)


# --- real HARs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("run", sorted(REAL_COUNTS))
def test_real_hars_parse_with_no_problems(run: str) -> None:
    data = _real_har(run)
    result = parse_har(data)
    assert isinstance(result, HarParse)
    assert result.problems == []
    assert len(result.entries) == REAL_COUNTS[run]
    for i, entry in enumerate(result.entries):
        assert entry.index == i
        assert entry.started_at is not None and entry.started_at.tzinfo is UTC
        assert isinstance(entry.time_ms, float)
        assert entry.raw == {}  # the entry dicts are not kept by default
        assert entry.resource_type is None  # Playwright writes no _resourceType
    if run != "checkout_500":
        assert not any(e.failed for e in result.entries)


@pytest.mark.parametrize("run", sorted(REAL_COUNTS))
def test_real_hars_keep_raw(run: str) -> None:
    data = _real_har(run)
    kept = parse_har(data, keep_raw=True)
    assert kept.problems == []
    originals = orjson.loads(data)["log"]["entries"]
    assert [e.raw for e in kept.entries] == originals  # the whole entry, vendor fields included
    assert [_fields(e) for e in kept.entries] == [_fields(e) for e in parse_har(data).entries]


def test_real_checkout_500() -> None:
    entries = parse_har(_real_har("checkout_500")).entries
    first, *orders = entries
    assert (first.method, first.url, first.status) == ("GET", "http://127.0.0.1:18002/checkout", 200)
    assert not first.failed and first.error is None and first.is_document
    assert first.started_at.isoformat() == "2026-11-28T22:51:12.818000+00:00"
    assert first.time_ms == pytest.approx(27.774)
    assert len(orders) == 3
    for order in orders:
        assert (order.method, order.url) == ("POST", "http://127.0.0.1:18002/api/order")
        assert order.status == 500 and order.failed and not order.pending and not order.noise
        assert order.error == "HTTP 500 Internal Server Error"
        assert not order.is_document
    assert [o.started_at for o in orders] == sorted(o.started_at for o in orders)


def test_real_success_navigations_are_documents() -> None:
    entries = parse_har(_real_har("success")).entries
    assert [e.is_document for e in entries] == [True, True]
    assert entries[1].url.endswith("/success/done?name=Jane+Doe")


# --- failure dialects ---------------------------------------------------------------------------


def test_playwright_failure_text() -> None:
    e = _one(_entry(status=-1, status_text="", time=-1, _failureText="net::ERR_CONNECTION_REFUSED"))
    assert e.failed and not e.pending and not e.noise
    assert e.error == "net::ERR_CONNECTION_REFUSED"
    assert e.status is None and e.time_ms is None


def test_chrome_status_zero_with_error() -> None:
    e = _one(_entry(status=0, status_text="", time=3.25, _error="net::ERR_BLOCKED_BY_CLIENT"))
    assert e.failed and not e.pending
    assert e.error == "net::ERR_BLOCKED_BY_CLIENT"
    assert e.status is None and e.time_ms == 3.25


def test_chrome_resource_type_decides_document() -> None:
    nav = _entry(headers=XHR_HEADERS)
    nav["_resourceType"] = "document"
    xhr = _entry(headers=NAV_HEADERS)
    xhr["_resourceType"] = "xhr"
    first, second = parse_har(_har([nav, xhr])).entries
    assert first.is_document and first.resource_type == "document"
    assert not second.is_document and second.resource_type == "xhr"


def test_unfinished_request_is_pending() -> None:
    e = _one(_entry(status=-1, status_text="", time=-1))
    assert e.pending and e.failed
    assert e.error == PENDING_ERROR == "pending (no response)"
    assert e.status is None and e.time_ms is None


def test_missing_response_is_pending() -> None:
    entry = _entry()
    del entry["response"]
    e = _one(entry)
    assert e.pending and e.failed and e.error == PENDING_ERROR and e.status is None


def test_status_zero_without_reason_is_failed() -> None:
    e = _one(_entry(status=0, status_text=""))
    assert e.failed and not e.pending and e.status is None
    assert e.error == "no response (status 0)"


@pytest.mark.parametrize(
    ("status", "text", "failed", "error"),
    [
        (404, "Not Found", True, "HTTP 404 Not Found"),
        (500, "", True, "HTTP 500"),
        (304, "Not Modified", False, None),
        (200, "OK", False, None),
        (302, "Found", False, None),
    ],
)
def test_http_statuses(status: int, text: str, failed: bool, error: str | None) -> None:
    e = _one(_entry(status=status, status_text=text))
    assert (e.status, e.failed, e.error, e.pending) == (status, failed, error, False)


def test_superseded_aborted_navigation_is_noise() -> None:
    aborted = _entry(
        "https://shop.example/cart",
        status=-1,
        status_text="",
        time=-1,
        headers=NAV_HEADERS,
        _failureText="net::ERR_ABORTED",
    )
    later = _entry("https://shop.example/checkout", headers=NAV_HEADERS, started="2026-11-28T22:51:12.900Z")
    first, second = parse_har(_har([aborted, later])).entries
    assert first.is_document and first.failed and first.noise
    assert first.error == "net::ERR_ABORTED"
    assert second.is_document and not second.failed and not second.noise


def test_lone_aborted_requests_are_not_noise() -> None:
    xhr = _entry(status=-1, status_text="", time=-1, _failureText="net::ERR_ABORTED")
    nav = _entry(
        "https://shop.example/cart",
        status=-1,
        status_text="",
        time=-1,
        headers=NAV_HEADERS,
        started="2026-11-28T22:51:13.000Z",
        _failureText="net::ERR_ABORTED",
    )
    earlier_nav = _entry("https://shop.example/", headers=NAV_HEADERS, started="2026-11-28T22:51:11.000Z")
    entries = parse_har(_har([earlier_nav, xhr, nav])).entries
    # the XHR was aborted because the page navigated away: noise, with the reason; the last
    # navigation was aborted with nothing after it: a failure
    assert [e.noise for e in entries] == [False, True, False]
    assert entries[1].failed and not entries[1].is_document and "navigated away" in entries[1].noise_reason
    assert entries[2].failed and entries[2].is_document and entries[2].noise_reason is None
    lone = parse_har(_har([earlier_nav, xhr])).entries
    assert [e.noise for e in lone] == [False, False]  # an aborted XHR with nothing after it


def test_typeahead_requests_superseded_by_the_next_keystroke_are_noise() -> None:
    keys = ["b", "bl", "blu"]
    aborted = [
        _entry(
            f"https://shop.example/api/suggest?q={q}",
            status=-1,
            status_text="",
            time=-1,
            started=f"2026-11-28T22:51:1{i}.000Z",
            _failureText="net::ERR_ABORTED",
        )
        for i, q in enumerate(keys)
    ]
    answered = _entry("https://shop.example/api/suggest?q=blue", started="2026-11-28T22:51:15.000Z")
    other = _entry(
        "https://shop.example/api/cart",
        method="POST",
        status=-1,
        status_text="",
        time=-1,
        started="2026-11-28T22:51:12.500Z",
        _failureText="net::ERR_ABORTED",
    )
    entries = parse_har(_har([*aborted, other, answered])).entries
    by_url = {e.url: e for e in entries}
    for q in keys:
        entry = by_url[f"https://shop.example/api/suggest?q={q}"]
        assert entry.failed and entry.noise and "same endpoint" in entry.noise_reason
    cart = by_url["https://shop.example/api/cart"]
    assert cart.failed and not cart.noise  # a different endpoint, nothing replaced it


def test_navigation_in_another_page_does_not_supersede() -> None:
    aborted = _entry(
        "https://shop.example/cart", status=-1, time=-1, headers=NAV_HEADERS, _failureText="net::ERR_ABORTED"
    )
    other_page = _entry(
        "https://shop.example/help", headers=NAV_HEADERS, started="2026-11-28T22:51:14.000Z", pageref="page@other"
    )
    first, _ = parse_har(_har([aborted, other_page])).entries
    assert first.failed and not first.noise


def test_document_detection_from_headers() -> None:
    iframe = [("Accept", "text/html,*/*"), ("Sec-Fetch-Dest", "iframe")]
    html_only = [("Accept", "text/html,*/*")]
    nav_lower = [("accept", "TEXT/HTML"), ("sec-fetch-dest", "Document")]
    entries = parse_har(_har([_entry(headers=h) for h in (NAV_HEADERS, iframe, html_only, nav_lower, [])])).entries
    assert [e.is_document for e in entries] == [True, False, False, True, False]


# --- damaged input ------------------------------------------------------------------------------


def test_truncated_real_har_keeps_complete_entries() -> None:
    data = _real_har("checkout_500")
    ends = _entry_ends(data)
    cut = (ends[1] + ends[2]) // 2  # in the middle of the third entry
    result = parse_har(data[:cut])
    assert [e.index for e in result.entries] == [0, 1]
    assert result.entries[1].error == "HTTP 500 Internal Server Error"
    assert result.problems == ["HAR is truncated: read 2 complete entries, the rest is cut off"]


def test_truncation_anywhere_never_raises_and_keeps_what_is_complete() -> None:
    data = _real_har("checkout_500")
    ends = _entry_ends(data)
    for cut in range(0, len(data) - 1, 37):
        result = parse_har(data[:cut])
        assert len(result.entries) == sum(1 for end in ends if end <= cut), cut
        assert len(result.problems) == 1, cut


def test_truncated_after_the_entries_array() -> None:
    data = _real_har("success")
    result = parse_har(data[: data.rindex(b"]") + 1])
    assert len(result.entries) == 2
    assert result.problems[0].startswith("HAR is truncated or damaged after its entries")


def test_damage_between_entries_keeps_entries_before_it() -> None:
    data = _har([_entry("https://a.example/1"), _entry("https://a.example/2"), _entry("https://a.example/3")])
    second = data.index(b'{"startedDateTime"', data.index(b"https://a.example/1"))
    broken = data[:second] + b"@@garbage@@ " + data[second:]
    result = parse_har(broken)
    assert [e.url for e in result.entries] == ["https://a.example/1"]
    assert result.problems[0].startswith("HAR is damaged at character")


def test_invalid_utf8_is_read_leniently() -> None:
    data = _har([_entry("https://a.example/caf\u00e9")]).replace(b"caf\\u00e9", b"caf\xe9")
    result = parse_har(data)
    assert len(result.entries) == 1 and result.entries[0].url == "https://a.example/caf\ufffd"
    assert result.problems == ["HAR has bytes that are not UTF-8 (replaced); it was read leniently"]


def test_byte_order_mark_is_accepted() -> None:
    result = parse_har(b"\xef\xbb\xbf" + _har([_entry()]))
    assert len(result.entries) == 1 and result.problems == []


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "HAR is empty"),
        (b"  \n\t ", "HAR is empty"),
        (b"{not json", "HAR is not valid JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "HAR is not valid JSON"),
        (b'{"foo": 1}', "not a HAR: the JSON has no 'log' object"),
        (b"[1, 2, 3]", "not a HAR: the JSON has no 'log' object"),
        (b'"log"', "not a HAR: the JSON has no 'log' object"),
        (b'{"log": {"entries": {}}}', "not a HAR: 'log' has no 'entries' list"),
        (b'{"log": {"version": "1.2"}}', "not a HAR: 'log' has no 'entries' list"),
    ],
)
def test_unreadable_or_non_har_input(data: bytes, problem: str) -> None:
    result = parse_har(data)
    assert result.entries == []
    assert len(result.problems) == 1 and result.problems[0].startswith(problem)


def test_empty_entries_is_fine() -> None:
    assert parse_har(b'{"log": {"entries": []}}') == HarParse([], [])


def test_wrong_types_inside_entries_are_skipped_or_defaulted() -> None:
    no_time = _entry("https://a.example/no-time")
    del no_time["time"]
    no_status = _entry("https://a.example/no-status")
    del no_status["response"]["status"]
    no_status_text = _entry("https://a.example/404", status=404)
    del no_status_text["response"]["statusText"]
    raw = [
        1,
        {"request": "GET /"},
        {"response": {"status": 200}},
        _entry(url=5),  # type: ignore[arg-type]
        _entry("https://a.example/text-status", status="500", status_text="Internal Server Error"),
        _entry("https://a.example/bad-status", status="oops"),
        _entry("https://a.example/no-date", started="yesterday"),
        _entry("https://a.example/bool-time", time=True),
        no_time,
        no_status,
        no_status_text,
        {**_entry("https://a.example/bad-response"), "response": [200]},
        _entry("https://a.example/fine"),
    ]
    result = parse_har(_har(raw))
    by_url = {e.url: e for e in result.entries}
    assert list(by_url) == [
        "https://a.example/text-status",
        "https://a.example/bad-status",
        "https://a.example/no-date",
        "https://a.example/bool-time",
        "https://a.example/no-time",
        "https://a.example/no-status",
        "https://a.example/404",
        "https://a.example/bad-response",
        "https://a.example/fine",
    ]
    assert by_url["https://a.example/text-status"].status == 500
    assert by_url["https://a.example/text-status"].error == "HTTP 500 Internal Server Error"
    assert by_url["https://a.example/bad-status"].status is None
    assert by_url["https://a.example/bad-status"].failed
    assert by_url["https://a.example/no-date"].started_at is None
    assert by_url["https://a.example/bool-time"].time_ms is None
    assert by_url["https://a.example/no-time"].time_ms is None
    assert not by_url["https://a.example/no-time"].failed
    assert by_url["https://a.example/no-status"].error == "no response (status missing)"
    assert by_url["https://a.example/404"].error == "HTTP 404"
    assert by_url["https://a.example/bad-response"].pending
    assert not by_url["https://a.example/fine"].failed
    assert result.entries[0].index == 4  # indexes stay the HAR positions
    joined = "\n".join(result.problems)
    assert "1 HAR entry skipped: not an object (#0)" in joined
    assert "2 HAR entries skipped: no request with a url and method (#1, #2)" in joined
    assert "1 HAR entry skipped: request url or method is not text (#3)" in joined
    assert "status written as text (read as a number) (#4)" in joined
    assert "status that is not a number (ignored) (#5)" in joined
    assert "no readable startedDateTime (#6)" in joined
    assert "time that is not a number (#7)" in joined
    assert "have no time (#8)" in joined
    assert "response without a status (#9)" in joined
    assert "response that is not an object (taken as no response) (#11)" in joined


def test_many_bad_entries_make_one_problem_line() -> None:
    result = parse_har(_har([{"request": None}] * 500))
    assert result.entries == []
    assert result.problems == ["500 HAR entries skipped: no request with a url and method (#0, #1, #2, #3, #4, …)"]


def test_random_damage_never_raises() -> None:
    data = _real_har("checkout_500")
    rng = random.Random(1234)
    for _ in range(150):
        broken = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            broken[rng.randrange(len(broken))] = rng.randrange(256)
        result = parse_har(bytes(broken))
        assert isinstance(result, HarParse)
        assert all(isinstance(p, str) and "\n" not in p for p in result.problems)


def test_unexpected_error_becomes_a_problem_and_gc_is_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(har_module, "_normalise_all", explode)
    assert gc.isenabled()
    result = parse_har(_har([_entry()]))
    assert result.entries == [] and result.problems == ["HAR could not be read: RuntimeError: boom"]
    assert gc.isenabled()


# --- the sliced fast path -----------------------------------------------------------------------


def _many(n: int) -> list[dict[str, Any]]:
    statuses = [200, 304, 404, -1]
    return [
        _entry(f"https://shop.example/item/{i}", status=statuses[i % 4], started=f"2026-11-28T22:{i % 60:02d}:00Z")
        for i in range(n)
    ]


def _spy_slices(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record whether each parse took the sliced path (True) or fell back (False)."""
    taken: list[bool] = []
    real = har_module._load_in_chunks

    def spy(*args: Any) -> Any:
        result = real(*args)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(har_module, "_load_in_chunks", spy)
    return taken


@pytest.mark.parametrize("indent", [None, 2])
def test_large_har_read_in_slices_matches_a_whole_parse(indent: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = _many(5000)
    data = _har(raw, indent=indent)
    assert len(data) > 3 * har_module._CHUNK_BYTES
    taken = _spy_slices(monkeypatch)
    result = parse_har(data, keep_raw=True)
    assert taken == [True]
    assert result.problems == []
    assert [e.raw for e in result.entries] == raw
    assert [e.url for e in result.entries] == [r["request"]["url"] for r in raw]
    # equal header strings are one object (memory), with the same values
    first, second = result.entries[0].raw, result.entries[1].raw
    assert first["request"]["headers"][0]["value"] is second["request"]["headers"][0]["value"]
    # the default mode makes the same rows, without the dicts
    default = parse_har(data)
    assert taken == [True, True]
    assert default.problems == []
    assert [_fields(e) for e in default.entries] == [_fields(e) for e in result.entries]
    assert all(e.raw == {} for e in default.entries)


def test_slices_fall_back_when_a_boundary_is_misleading(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = _many(4000)
    for entry in raw[2500:]:  # nested objects that look like entry starts: "}, {"startedDateTime"
        entry["_nested"] = [{"startedDateTime": "x"}, {"startedDateTime": "y"}]
    for entry in raw[1000:]:  # damage in the first slice (which parses) and after it
        entry["time"] = "slow"
    data = _har(raw)
    normalised: list[int] = []
    real = har_module._normalise_all

    def spy(raw_entries: list[Any], rows: Any) -> None:
        normalised.append(len(raw_entries))
        real(raw_entries, rows)

    monkeypatch.setattr(har_module, "_normalise_all", spy)
    taken = _spy_slices(monkeypatch)
    result = parse_har(data, keep_raw=True)
    assert taken == [False]  # a later slice did not parse: the whole document was parsed instead
    assert len(normalised) == 2 and 0 < normalised[0] < 4000 and normalised[1] == 4000
    # the rows of the first slice were thrown away: every entry is counted once
    assert result.problems == [
        "3000 HAR entries have a time that is not a number (#1000, #1001, #1002, #1003, #1004, …)"
    ]
    assert [e.raw for e in result.entries] == raw
    assert [e.index for e in result.entries] == list(range(4000))
    default = parse_har(data)
    assert taken == [False, False]
    assert default.problems == result.problems
    assert [_fields(e) for e in default.entries] == [_fields(e) for e in result.entries]


def _dialects_har() -> tuple[bytes, list[str]]:
    """A HAR of several slices with every failure dialect, and the URLs of the dialect entries."""
    chrome_doc = _entry("https://a.example/chrome-doc", headers=XHR_HEADERS)
    chrome_doc["_resourceType"] = "document"
    chrome_error = _entry(
        "https://a.example/chrome-error", status=0, status_text="", _error="net::ERR_BLOCKED_BY_CLIENT"
    )
    chrome_error["_resourceType"] = "xhr"
    no_response = _entry("https://a.example/no-response")
    del no_response["response"]
    dialects = [
        _entry(  # superseded by the navigation at the very end, several slices later: noise
            "https://a.example/aborted-nav",
            status=-1,
            status_text="",
            time=-1,
            headers=NAV_HEADERS,
            started="2026-11-28T22:00:00Z",
            _failureText="net::ERR_ABORTED",
        ),
        _entry("https://a.example/pw-failure", status=-1, status_text="", time=-1, _failureText="net::ERR_FAILED"),
        chrome_error,
        _entry("https://a.example/unfinished", status=-1, status_text="", time=-1),
        no_response,
        _entry("https://a.example/status-0", status=0, status_text=""),
        _entry("https://a.example/404", status=404, status_text="Not Found"),
        _entry("https://a.example/500", status=500, status_text="Internal Server Error"),
        _entry("https://a.example/500-again", status=500, status_text="Internal Server Error"),
        _entry("https://a.example/304", status=304, status_text="Not Modified"),
        chrome_doc,
    ]
    later_nav = _entry("https://a.example/later-nav", headers=NAV_HEADERS, started="2026-11-28T23:00:00Z")
    raw = [*dialects[:6], *_many(2000), *dialects[6:], *_many(2000), later_nav]
    return _har(raw), [e["request"]["url"] for e in [*dialects, later_nav]]


def test_default_mode_keeps_no_raw_dict_and_marks_every_dialect(monkeypatch: pytest.MonkeyPatch) -> None:
    data, urls = _dialects_har()
    assert len(data) > 2 * har_module._CHUNK_BYTES
    taken = _spy_slices(monkeypatch)
    alive: list[tuple[int, int]] = []  # (entry dicts alive, entries in the slice) at each slice
    real = har_module._normalise_all

    def entry_dicts() -> int:
        return sum(1 for o in gc.get_objects() if type(o) is dict and "request" in o)

    def spy(raw_entries: list[Any], rows: Any) -> None:
        alive.append((entry_dicts() - before, len(raw_entries)))
        real(raw_entries, rows)

    monkeypatch.setattr(har_module, "_normalise_all", spy)
    gc.collect()
    before = entry_dicts()  # left over by other tests, if any
    result = parse_har(data)
    assert taken == [True]
    assert result.problems == []
    assert len(alive) >= 3 and all(count == size for count, size in alive)  # earlier slices are gone
    assert entry_dicts() == before  # and no entry dict outlives the parse
    assert all(type(e.raw) is dict and not e.raw for e in result.entries)

    by_url = {e.url: e for e in result.entries}
    got = {u: (by_url[u].status, by_url[u].failed, by_url[u].error, by_url[u].pending, by_url[u].noise) for u in urls}
    assert got == {
        "https://a.example/aborted-nav": (None, True, "net::ERR_ABORTED", False, True),
        "https://a.example/pw-failure": (None, True, "net::ERR_FAILED", False, False),
        "https://a.example/chrome-error": (None, True, "net::ERR_BLOCKED_BY_CLIENT", False, False),
        "https://a.example/unfinished": (None, True, PENDING_ERROR, True, False),
        "https://a.example/no-response": (None, True, PENDING_ERROR, True, False),
        "https://a.example/status-0": (None, True, "no response (status 0)", False, False),
        "https://a.example/404": (404, True, "HTTP 404 Not Found", False, False),
        "https://a.example/500": (500, True, "HTTP 500 Internal Server Error", False, False),
        "https://a.example/500-again": (500, True, "HTTP 500 Internal Server Error", False, False),
        "https://a.example/304": (304, False, None, False, False),
        "https://a.example/chrome-doc": (200, False, None, False, False),
        "https://a.example/later-nav": (200, False, None, False, False),
    }
    assert [u for u in urls if by_url[u].is_document] == [
        "https://a.example/aborted-nav",
        "https://a.example/chrome-doc",
        "https://a.example/later-nav",
    ]
    assert by_url["https://a.example/chrome-doc"].resource_type == "document"
    assert by_url["https://a.example/chrome-error"].resource_type == "xhr"
    assert [e.index for e in result.entries] == list(range(len(result.entries)))
    # repeated strings are one object
    assert by_url["https://a.example/500"].error is by_url["https://a.example/500-again"].error
    assert by_url["https://a.example/404"].method is by_url["https://a.example/500"].method

    kept = parse_har(data, keep_raw=True)
    assert [_fields(e) for e in kept.entries] == [_fields(e) for e in result.entries]
    assert all(e.raw for e in kept.entries)


def test_keys_after_the_entries_array_are_fine() -> None:
    doc = json.loads(_har(_many(3000)))
    doc["log"]["comment"] = "closing ] inside a string"
    doc["log"]["_extra"] = [1, 2]
    result = parse_har(json.dumps(doc).encode())
    assert result.problems == [] and len(result.entries) == 3000


def test_an_entries_key_that_is_not_log_entries_is_not_used() -> None:
    doc = json.loads(_har([_entry("https://a.example/real")]))
    doc["log"]["pages"][0]["entries"] = [_entry("https://a.example/decoy")]
    result = parse_har(json.dumps(doc).encode())
    assert [e.url for e in result.entries] == ["https://a.example/real"]


# --- haralyzer 2.4.0 pitfalls, and that parse_har steps around each ------------------------------


def _forbid(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> None:
    def forbidden(*_: Any, **__: Any) -> Any:
        raise AssertionError(f"{name} must not be used")

    monkeypatch.setattr(owner, name, property(forbidden) if name in {"pages", "startTime"} else forbidden)


def test_pitfall_a_pages_are_rebuilt_on_every_access(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = json.loads(_har([_entry("https://a.example/1"), _entry("https://a.example/2")]))
    parser = HarParser(doc)
    assert parser.pages[0] is not parser.pages[0]  # a new HarPage list each time
    assert parser.pages[0].entries[0] is not parser.pages[0].entries[0]  # and new HarEntry objects
    _forbid(monkeypatch, HarParser, "pages")
    _forbid(monkeypatch, HarPage, "__init__")
    assert len(parse_har(_har(doc["log"]["entries"])).entries) == 2


def test_pitfall_b_naive_and_aware_start_times(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = [
        _entry("https://a.example/aware", started="2026-11-28T22:51:12.818Z"),
        _entry("https://a.example/naive", started="2026-11-28T22:51:13.500"),
        _entry("https://a.example/offset", started="2026-11-28T23:51:14.000+01:00"),
    ]
    with pytest.raises(TypeError, match="offset-naive and offset-aware"):
        _ = HarParser(json.loads(_har(entries))).pages[0].entries  # haralyzer sorts on dateutil times
    _forbid(monkeypatch, HarEntry, "startTime")
    result = parse_har(_har(entries))
    assert result.problems == []
    assert [e.started_at.isoformat() for e in result.entries] == [
        "2026-11-28T22:51:12.818000+00:00",
        "2026-11-28T22:51:13.500000+00:00",  # naive is taken as UTC
        "2026-11-28T22:51:14+00:00",
    ]
    assert all(e.started_at.tzinfo is UTC for e in result.entries)


def test_pitfall_c_status_filter_is_a_regex_over_text(monkeypatch: pytest.MonkeyPatch) -> None:
    not_modified = _entry(status=304, status_text="Not Modified")
    assert HarParser.match_status_code(HarEntry(not_modified), "4")  # "4" matches 304
    _forbid(monkeypatch, HarParser, "match_status_code")
    _forbid(monkeypatch, HarPage, "filter_entries")
    cached, missing = parse_har(_har([not_modified, _entry(status=404, status_text="Not Found")])).entries
    assert not cached.failed and cached.status == 304
    assert missing.failed and missing.status == 404


def test_pitfall_d_optional_fields_raise_key_error() -> None:
    entry = _entry(pageref=None)  # no pageref, serverIPAddress, connection; content has no text
    har_entry = HarEntry(copy.deepcopy(entry))
    for read in (
        lambda: har_entry.response.text,
        lambda: har_entry.pageref,
        lambda: har_entry.serverAddress,
        lambda: har_entry.port,
    ):
        with pytest.raises(KeyError):
            read()
    (e,) = parse_har(_har([entry]), keep_raw=True).entries
    assert not e.failed and e.status == 200 and e.raw.get("pageref") is None


# --- a run's requests, in time order --------------------------------------------------------------


def _network_urls(hars: list[bytes]) -> list[str]:
    from debugkit.load import load_run
    from debugkit.model import ArtifactRef, RawRun

    refs = [
        ArtifactRef("har", f"{n}.har", (lambda data=data: data), artifact_id=f"a_{n}")
        for n, data in enumerate(hars, start=1)
    ]
    run = load_run(RawRun(source="test", kind="run_folder", artifacts=refs))
    assert [e.index for e in sorted(run.network, key=lambda e: e.index)] == list(range(len(run.network)))
    return [entry.url for entry in run.network]


def test_a_runs_requests_from_several_hars_are_in_time_order_ties_in_har_order():
    first = _har([_entry("https://a.example/1", started="2026-11-28T22:51:13.000Z"),
                  _entry("https://a.example/2", started="2026-11-28T22:51:12.000Z")])
    second = _har([_entry("https://b.example/1", started="2026-11-28T22:51:12.500Z"),
                   _entry("https://b.example/2", started="2026-11-28T22:51:12.000Z")])
    assert _network_urls([first, second]) == [
        "https://a.example/2", "https://b.example/2", "https://b.example/1", "https://a.example/1"
    ]


def test_requests_without_a_start_time_come_last_in_har_order():
    first = _har([_entry("https://a.example/1", started="2026-11-28T22:51:13.000Z"),
                  _entry("https://a.example/2", started="not a time"),
                  _entry("https://a.example/3", started="2026-11-28T22:51:12.000Z")])
    second = _har([_entry("https://b.example/1", started=""),
                   _entry("https://b.example/2", started="2026-11-28T22:51:12.000Z")])
    assert _network_urls([first, second]) == [
        "https://a.example/3", "https://b.example/2", "https://a.example/1", "https://a.example/2", "https://b.example/1"
    ]

"""Redaction at scale gives what it gave before: the automaton of known values, the rules' hints, the copies.

A long run has thousands of distinct secret values (signed URLs carry one each) and tens of thousands
of strings to redact; the shortcuts that make that fast must not change a single replacement.
"""

from __future__ import annotations

import dataclasses
import random
import re
from datetime import UTC, datetime

import pytest

from debugkit.model import NetworkEntry, RunData
from debugkit.redaction import scan
from debugkit.redaction.collect import Secret
from debugkit.redaction.literals import Literals
from debugkit.redaction.redactor import Redactor


def _flat(values: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))


def test_the_automaton_matches_what_the_flat_alternation_matched() -> None:
    """Leftmost, then longest, never overlapping: the flat ``a|b|...`` with the longest values first."""
    rng = random.Random(7)
    alphabet = "ab.c\\*(|)?[]^$ -é"
    for _ in range(400):
        count = rng.randint(1, 40)
        values = list({"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))) for _ in range(count)})
        text = "".join(rng.choice(alphabet) for _ in range(300))
        literals, flat = Literals(values), _flat(values)
        assert [(start, text[start:end]) for start, end in literals.spans(text)] == [
            (m.start(), m.group()) for m in flat.finditer(text)
        ], values
        assert literals.sub(lambda v: f"<{len(v)}>", text) == flat.sub(lambda m: f"<{len(m.group())}>", text)
        assert literals.labels_in(text) == {v for v in values if v in text}


def test_long_values_that_share_long_prefixes_still_match() -> None:
    values = ["a" * n + "b" for n in range(4, 1500)]
    assert Literals(values).spans("x" + "a" * 700 + "b") == [(1, 702)]
    assert Literals([]).spans("anything") == [] and Literals(["", "zz"]).labels_in("azzb") == {"zz"}


def test_many_secrets_replaced_in_every_form() -> None:
    rng = random.Random(3)
    values = [f"{rng.getrandbits(160):040x}" for _ in range(3000)] + ["Jane Doe+1", "p@ss word!"]
    redactor = Redactor([Secret(v, "signature") for v in values], salt=b"fixed")
    text = f"a={values[17]}&b={values[2999]} {values[-2]} p%40ss+word%21 p%40ss%20word%21"  # and URL-encoded
    out = redactor.text(text)
    assert not any(v in out for v in values)
    assert out.count("[REDACTED:") == 5 and "%40" not in out


@pytest.mark.parametrize(
    "text",
    [
        "https://a.example/x?token=abcdef123456&page=2",
        "Authorization: Bearer abc.def.ghi123456789",
        "to\u212aen abcdefghijk12345",  # a Kelvin sign: the case-insensitive rule matches it, lower() does not
        'cookie: sid=abc123def; {"name": "Cookie", "value": "sid=zz9988776655"}',
        '{"password": "hunter2-Secret!"} card 4242 4242 4242 4242',
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJlLW9uZQ in text",
        "nothing to see here",
    ],
)
def test_hints_skip_only_rules_that_could_not_match(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def replace(value: str, kind: str) -> str:
        return f"<{kind}>"

    hinted = (scan.scrub(text, replace), [(f.kind, f.start, f.end) for f in scan.find(text)])
    monkeypatch.setattr(scan, "RULES", tuple(dataclasses.replace(r, hints=()) for r in scan.RULES))
    plain = (scan.scrub(text, replace), [(f.kind, f.start, f.end) for f in scan.find(text)])
    assert hinted == plain


def test_the_redacted_copy_of_a_network_row_is_a_new_row() -> None:
    when = datetime(2026, 11, 28, 22, 51, 12, tzinfo=UTC)
    entry = NetworkEntry(0, "https://a.example/x?session_token=tok-123456", "GET", 200, when, 3.0, False)
    kept = NetworkEntry(1, "https://a.example/y", "GET", 500, when, 3.0, True, error="HTTP 500",
                        raw={"request": {"headers": [{"name": "Cookie", "value": "sid=cookie-9876"}]}})
    run = RunData(source="s", source_kind="folder", network=[entry, kept], har_secrets=[("cookie-9876", "cookie")])
    redactor = Redactor([Secret("tok-123456", "query"), Secret("cookie-9876", "cookie")], salt=b"s")
    clone = redactor.run(run)
    assert run.network == [entry, kept] and entry.url.endswith("tok-123456")  # the original is untouched
    assert kept.raw["request"]["headers"][0]["value"] == "sid=cookie-9876"
    first, second = clone.network
    assert first is not entry and "tok-123456" not in first.url and first.started_at == when
    assert "cookie-9876" not in str(second.raw) and second.error == "HTTP 500"
    assert clone.har_secrets is None and run.har_secrets == [("cookie-9876", "cookie")]


def test_the_fail_closed_check_reads_a_reports_compressed_network_data() -> None:
    """A secret in the report's network rows is compressed, not gone: the bundle's check decodes them."""
    from debugkit.redaction.verify import verify_members
    from debugkit.report import embedded

    def page(url: str) -> bytes:
        block = embedded.encode({"format": "debugkit.network/1", "rows": [[0, 0, url, "200", 0, "", None, -1, -1]]})
        return f'<html><div hidden id="net-data" data-encoding="gzip+base64">{block}</div></html>'.encode()

    secret = Secret("cookie-value-9876", "cookie")
    assert "cookie-value-9876" not in page("https://a.example/?sid=cookie-value-9876").decode()
    leaks = verify_members({"report.html": page("https://a.example/?sid=cookie-value-9876")}, [secret], set())
    assert [(leak.member, leak.kind) for leak in leaks] == [("report.html", "cookie")]
    assert verify_members({"report.html": page("https://a.example/?sid=[REDACTED:0a1b2c3d]")}, [secret], set()) == []
    damaged = b'<div hidden data-encoding="gzip+base64">H4sIAAAAnotgzip</div>'
    assert [leak.kind for leak in verify_members({"report.html": damaged}, [secret], set())] == ["unreadable"]


def _fixture_strings() -> list[str]:
    """Every URL, error text and element text of the bundled runs (generated and recorded by the real server)."""
    from pathlib import Path

    from debugkit.pipeline import read

    root = Path(__file__).resolve().parent.parent / "fixtures"
    strings: list[str] = []
    for folder in sorted([*(root / "runs").iterdir(), *(root / "real").iterdir()]):
        if not folder.is_dir():
            continue
        run = read(folder).run
        strings += [entry.url for entry in run.network] + [entry.error or "" for entry in run.network]
        for step in run.steps:
            strings += [element.text or "" for element in (step.elements or {}).values()]
            strings += [action.text or "" for action in step.actions]
    return strings


def test_the_shortcut_for_plain_text_changes_nothing_the_rules_would_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """A text the redactor passes without running its rules (most URLs of a long run) is one the rules give back
    unchanged: over every string of the bundled runs, and over crafted ones near each rule's edge."""
    rng = random.Random(11)
    crafted = [
        "https://a.example/x?sv=2024&sig=abc%2Fdef&page=2", "https://a.example/p?Session-Id=abcd1234", "a=b",
        "https://a.example/?q=4242424242424242", "https://a.example/4242-4242-4242-4242/x", "x?a[pass]=secret99",
        "https://a.example/?keys=1&monkey=banana&author=me", "/login?next=%2Fhome&X-Amz-Credential=AKIA1234",
        "https://a.example/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJlLW9uZQ", "cookie:sid=abcdef12",
        "https://a.example/reset/hunter2-Secret!/done", "https://a.example/?user=jane%40example.com", "",
        "https://a.example/?ke%79=topsecret1", "https://a.example/?_secret=abcd1234",
        "https://a.example/?a=1;otp=123456", "Token abcdefghijk12345",
    ]
    pieces = ["https://a.example/", "?", "&", ";", "=", "page", "sig", "token", "q", "1234", "x", "%2F", "4242 ", "-"]
    pieces += ["_", "secret"]
    crafted += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(3000)]
    secrets = [Secret("hunter2-Secret!", "password"), Secret("topsecret1", "query"), Secret("jane@example.com", "form")]
    strings = _fixture_strings() + crafted
    fast = Redactor(secrets, salt=b"s")
    slow = Redactor(secrets, salt=b"s")
    monkeypatch.setattr(slow, "_plainly_clean", lambda value: False)
    shortcut = [s for s in strings if fast._plainly_clean(s)]
    assert len(shortcut) > len(strings) // 3  # it does take the short way for most plain text
    for text in shortcut:
        assert slow._text(text) == text, text
    assert [fast._text(s) for s in strings] == [slow._text(s) for s in strings]


def test_a_large_member_is_searched_a_window_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long run's HAR is checked window by window and a slice of entries at a time (never the whole document as
    Python objects), and finds what the whole-text search found: values across a window's edge, values only
    readable once JSON-decoded, shapes."""
    import orjson

    from debugkit.redaction import verify

    monkeypatch.setattr(verify, "WHOLE", 2_000)
    monkeypatch.setattr(verify, "WINDOW", 500)
    monkeypatch.setattr(verify, "OVERLAP", 40)
    secret = Secret("hunter2-Secret!", "password")

    def har(urls: list[str]) -> bytes:
        entries = [{"request": {"url": url, "method": "GET"}, "response": {"status": 200}} for url in urls]
        return orjson.dumps({"log": {"version": "1.2", "entries": entries}})

    plain = [f"https://a.example/item/{n}" for n in range(200)]
    clean = har(plain)
    assert len(clean) > 10 * verify.WINDOW and verify.verify_members({"network.har": clean}, [secret], set()) == []
    for position in range(0, len(clean), 97):  # the value written at many places, some across a window's edge
        data = clean[:position] + b"hunter2-Secret!" + clean[position:]
        assert [leak.kind for leak in verify.verify_members({"x.txt": data}, [secret], set())] == ["password"]
    escaped = har([*plain[:150], "https://a.example/?q=hunter2-\\u0053ecret!", *plain[150:]]).replace(b"\\\\u", b"\\u")
    assert b"hunter2-Secret!" not in escaped and b"\\u0053" in escaped  # readable only once decoded
    assert [leak.kind for leak in verify.verify_members({"network.har": escaped}, [secret], set())] == ["password"]
    card = har([*plain[:120], "https://a.example/pay?n=4242 4242 4242 4242", *plain[120:]])
    assert [leak.kind for leak in verify.verify_members({"network.har": card}, [], set())] == ["card"]


def test_known_values_across_the_chunks_of_a_long_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """labels_in reads a long text a chunk at a time (the automaton copies what it reads, 4 bytes a character):
    an occurrence across a chunk's edge is found as in the whole text."""
    from debugkit.redaction import literals as literals_module

    monkeypatch.setattr(literals_module, "CHUNK", 37)
    rng = random.Random(3)
    alphabet = "abcé-"
    for _ in range(300):
        values = list({"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(8)})
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        assert Literals(values).labels_in(text) == {v for v in values if v in text}, (values, text)


def test_a_reports_network_data_is_searched_as_json_text() -> None:
    """The check reads a report's compressed network rows as JSON text (never the rows as Python objects): a value
    is found whether or not the JSON escapes one of its characters, a secret shape only inside a string, and a
    string whose escape cannot be read stops the bundle."""
    from debugkit.redaction.verify import verify_members
    from debugkit.report import embedded

    def page(*rows: list[object], block: str | None = None) -> bytes:
        block = block or embedded.encode({"format": "debugkit.network/1", "rows": list(rows)})
        return f'<html><div hidden id="net-data" data-encoding="gzip+base64">{block}</div></html>'.encode()

    def kinds(data: bytes, secrets: list[Secret]) -> list[str]:
        return [leak.kind for leak in verify_members({"report.html": data}, secrets, set())]

    quoted = Secret('pässwört"x-12345', "password")  # orjson writes ä raw and \" escaped: no form of it is in the text
    row = [0, 0, 'https://a.example/?q=pässwört"x-12345', "200", 0, "", 1.5, -1, -1]
    assert kinds(page(row), [quoted]) == ["password"]
    plain = Secret("cookie-value-9876", "cookie")
    assert kinds(page([0, 0, "https://a.example/?sid=cookie-value-9876", "200"]), [plain]) == ["cookie"]
    assert kinds(page([0, 0, "https://a.example/pay?n=4242 4242 4242 4242", "200"]), []) == ["card"]
    assert kinds(page([4242424242424242, 0, "https://a.example/", "200", 1793610844851.0]), []) == []  # numbers
    assert kinds(page([0, 0, "https://a.example/", "200"]), [plain, quoted]) == []
    import base64
    import gzip

    broken = base64.b64encode(gzip.compress(b'{"rows":[[0,"bad \\q escape"]]}', mtime=0)).decode()
    assert kinds(page(block=broken), []) == ["unreadable"]

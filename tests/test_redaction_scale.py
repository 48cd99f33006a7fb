"""Redaction at scale gives what it gave before: the trie of known values, the rules' hints, the copies.

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
from debugkit.redaction.redactor import Redactor, _compile_literals, literal_pattern


def _flat(values: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))


def test_the_trie_matches_what_the_flat_alternation_matched() -> None:
    rng = random.Random(7)
    alphabet = "ab.c\\*(|)?[]^$ -é"
    for _ in range(400):
        count = rng.randint(1, 40)
        values = list({"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))) for _ in range(count)})
        text = "".join(rng.choice(alphabet) for _ in range(300))
        trie, flat = re.compile(literal_pattern(values)), _flat(values)
        assert [(m.start(), m.group()) for m in trie.finditer(text)] == [
            (m.start(), m.group()) for m in flat.finditer(text)
        ], values


def test_values_nested_too_deep_for_the_trie_still_match() -> None:
    values = ["a" * n + "b" for n in range(4, 1500)]
    pattern = _compile_literals(values)
    assert pattern.search("x" + "a" * 700 + "b").group() == "a" * 700 + "b"


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

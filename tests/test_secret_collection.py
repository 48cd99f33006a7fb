"""One pass over the HAR: the secret values collected while it is parsed are the ones the old second read found.

``reference_collection`` below is the collection the way it was before it moved into the parse (a second
``parse_har(keep_raw=True)`` of every HAR, then each entry read by the plain per-entry functions, and a
JWT search of every string of every entry): the yardstick for the inlined, one-pass collector. Every fixture HAR
(generated, recorded from a real server, local storage, archives) and a few made to be awkward must give
the same values with the same kinds.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from debugkit.load import load_run
from debugkit.model import RunData
from debugkit.parsers.har import parse_har
from debugkit.redaction import collect_secrets, redact_run
from debugkit.redaction.collect import (
    JWT,
    MIN_SECRET_LENGTH,
    SIGNATURE_PARAMS,
    HarSecrets,
    _entry_secrets,
    _url_secrets,
    field_values,
    secret_name,
    typed_secret_kind,
)
from debugkit.redaction.pipeline import har_bytes
from debugkit.sources import open_source

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SOURCES = (
    sorted(p for p in (FIXTURES / "runs").iterdir() if p.is_dir())
    + sorted(p for p in (FIXTURES / "real").iterdir() if p.is_dir())
    + [FIXTURES / "local_storage"]
    + [FIXTURES / "archives" / "step_archive.zip", FIXTURES / "archives" / "task_archive.zip"]
)


# --- the old two-pass collection ----------------------------------------------------------------
# The HAR parsed a second time with its entry dicts kept, and each entry read by the plain per-entry
# functions (``_entry_secrets``, ``_url_secrets``), which the one-pass collector inlines and shortcuts.


def reference_collection(run: RunData, har_documents: Iterable[bytes], api_keys: Iterable[str] = ()) -> dict[str, str]:
    """value -> kind, found the way ``collect_secrets`` found them before the one-pass collection."""
    found: dict[str, str] = {}

    def add(value: object, kind: str) -> None:
        if isinstance(value, str):
            value = value.strip()
            if len(value) >= MIN_SECRET_LENGTH and value not in found:
                found[value] = kind

    for key in api_keys:
        add(key, "api_key")
    for step in run.steps:
        for action in step.actions:
            kind = typed_secret_kind(step, action)
            if kind and action.text:
                add(action.text, kind)
        for value, kind in field_values(step):
            add(value, kind)
    for data in har_documents:
        for entry in parse_har(data, keep_raw=True).entries:
            for value, kind in _entry_secrets(entry.raw):
                add(value, kind)
            for text in _strings(entry.raw):  # JWTs in any string of the entry
                for match in JWT.findall(text):
                    add(match, "jwt")
    for entry in run.network:
        for value, kind in _url_secrets(entry.url):
            add(value, kind)
    return found


def _strings(value: object) -> Iterable[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


# --- the fixtures ---------------------------------------------------------------------------------


def _by_value(secrets) -> dict[str, str]:
    return {s.value: s.kind for s in secrets}


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_one_pass_finds_what_the_second_read_found(source: Path) -> None:
    raw = open_source(str(source))
    run = load_run(raw)
    assert run.har_secrets is not None  # collected while loading
    one_pass = _by_value(collect_secrets(run, api_keys=["sk-test-key-0001"]))
    two_pass = reference_collection(run, har_bytes(raw), ["sk-test-key-0001"])
    assert one_pass == two_pass


def test_the_fixtures_hold_secrets_of_every_har_kind() -> None:
    """Not a vacuous comparison: the fixture HARs together have cookies, headers, queries, forms and JWTs."""
    kinds: set[str] = set()
    for source in SOURCES:
        run = load_run(open_source(str(source)))
        kinds.update(kind for _, kind in run.har_secrets or [])
    assert {"cookie", "header", "form"} <= kinds


def _har(entries: list[Any]) -> bytes:
    return json.dumps({"log": {"version": "1.2", "entries": entries}}).encode()


def _entry(url: str, headers: list[dict[str, Any]] | None = None, **request: Any) -> dict[str, Any]:
    return {
        "startedDateTime": "2026-11-28T22:51:12.818Z",
        "time": 12.5,
        "request": {"method": "GET", "url": url, "headers": headers or [], "cookies": [], "queryString": [], **request},
        "response": {"status": 200, "statusText": "OK", "headers": [], "cookies": []},
    }


JWT_A = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJlLW9uZQ"
JWT_B = "eyJ0eXAiOiJKV1QifQ.eyJ1c2VyIjoiYm9iIn0.c2lnbmF0dXJlLXR3bw"


def awkward_har() -> bytes:
    """Entries that exercise every path: cookies (a malformed one too), Set-Cookie, bearer and odd
    authorization, secret-named and signature query values, form params, JSON and urlencoded bodies,
    JWTs in a header, a body after a JSON escape, and behind a word character (not one)."""
    return _har([
        _entry(
            "https://shop.example/api/cart?session_token=qtoken-1234&page=2&X-Amz-Signature=abcdef0123456789",
            [
                {"name": "Cookie", "value": 'sid=cookie-value-1; theme=dark; bad="unterminated'},
                {"name": "Authorization", "value": "Bearer bearer-token-5678"},
                {"name": "X-CSRF-Token", "value": "csrf-0000-1111"},
                {"name": "Accept", "value": "*/*"},
                {"name": "x-debug", "value": JWT_A},
                "not a header",
                {"name": 7, "value": "nameless-7777"},
            ],
            cookies=[{"name": "sid", "value": "cookie-value-1"}, {"name": "other", "value": "cookie-two-2"}],
            queryString=[{"name": "session_token", "value": "qtoken-1234"}, {"name": "page", "value": "2"}],
        ),
        _entry(
            "https://shop.example/login",
            [{"name": "Proxy-Authorization", "value": "Basic cHJveHk6c2VjcmV0"}],
            method="POST",
            postData={"mimeType": "application/x-www-form-urlencoded", "text": "user=jane&password=hunter2-pw",
                      "params": [{"name": "password", "value": "hunter2-pw"}, {"name": "otp_code", "value": "918273"}]},
        ),
        _entry(
            "https://shop.example/graphql",
            method="POST",
            postData={"mimeType": "application/json",
                      "text": json.dumps({"query": "q", "variables": {"apiKey": "json-key-4444",
                                                                      "nested": [{"client_secret": "cs-5555"}]},
                                          "note": f"first line\n{JWT_B}"})},
        ),
        {**_entry("https://shop.example/set"), "response": {
            "status": 200, "statusText": "OK", "cookies": [{"name": "new", "value": "set-cookie-value-9"}],
            "headers": [{"name": "Set-Cookie", "value": "new=set-cookie-value-9; Path=/; HttpOnly"},
                        {"name": "WWW-Authenticate", "value": "Bearer realm=shop"}]}},
        _entry(f"https://shop.example/plain?ref=x{JWT_A}"),  # behind a word character: not a JWT here
        {"request": {"url": "https://shop.example/no-method", "headers": [{"name": "Cookie", "value": "a=skipped-1"}]}},
        "not an entry",
    ])


def test_awkward_entries_give_the_same_values_and_kinds() -> None:
    data = awkward_har()
    secrets = HarSecrets()
    secrets.read(data)
    run = RunData(source="test", source_kind="har", network=parse_har(data).entries)
    expected = reference_collection(run, [data])
    found = dict(secrets.pairs())
    # The same, and one more: JWT_B sits in a JSON body written inside a JSON string, after an escaped
    # newline ("\\n"), where the old search of the decoded string saw a word character before it.
    assert {v: k for v, k in found.items() if v != JWT_B} == expected
    assert found[JWT_B] == "jwt" and JWT_B not in expected
    assert {"cookie-value-1", "cookie-two-2", "bearer-token-5678", "csrf-0000-1111", "qtoken-1234", JWT_A,
            "cHJveHk6c2VjcmV0", "hunter2-pw", "918273", "json-key-4444", "cs-5555",
            "set-cookie-value-9", "abcdef0123456789"} <= set(expected)
    assert "skipped-1" not in expected  # the entry without a method is not a row, and was never read


def test_a_damaged_har_gives_the_secrets_of_its_complete_entries() -> None:
    whole = awkward_har()
    cut = whole[: whole.index(b"https://shop.example/set") + 40]  # truncated inside the 4th entry
    run = RunData(source="test", source_kind="har", network=parse_har(cut).entries)
    secrets = HarSecrets()
    secrets.read(cut)
    expected = reference_collection(run, [cut])
    assert set(dict(secrets.pairs())) >= set(expected)  # the byte search may see a JWT of the cut entry too
    assert "hunter2-pw" in expected and "set-cookie-value-9" not in expected


def test_jwts_are_found_in_the_bytes_as_in_the_strings() -> None:
    har = _har([_entry("https://a.example/x", [{"name": "x-trace", "value": f"id={JWT_A}"}]),
                _entry("https://a.example/y", [{"name": "x-note", "value": f"line\n{JWT_B}"}]),
                _entry("https://a.example/z", [{"name": "x-ref", "value": f"ab{JWT_A.replace('c2ln', 'ZZZZ')}"}])])
    secrets = HarSecrets()
    secrets.text(har)
    assert [v for v, k in secrets.pairs() if k == "jwt"] == [JWT_A, JWT_B]


def test_a_visitor_that_fails_costs_no_row() -> None:
    seen: list[str] = []

    def visit(entry: dict[str, Any]) -> None:
        seen.append(entry["request"]["url"])
        if entry["request"]["url"].endswith("/2"):
            raise ValueError("boom")

    result = parse_har(_har([_entry(f"https://a.example/{i}") for i in range(4)]), visit=visit)
    assert len(result.entries) == 4 and len(seen) == 4
    assert result.problems == ["1 HAR entry could not be examined (ValueError: boom)"]


def test_redaction_reads_the_har_again_only_when_its_secrets_were_not_collected(monkeypatch) -> None:
    raw = open_source(str(FIXTURES / "runs" / "login_401"))
    run = load_run(raw)
    reads = []
    for ref in raw.artifacts:
        if ref.artifact_type == "har":
            original = ref.read

            def counted(original=original):
                reads.append(1)
                return original()

            monkeypatch.setattr(ref, "read", counted)
    redacted, _, found = redact_run(raw, run)
    assert reads == []  # one pass: the HAR was read when the run was loaded, not again
    assert redacted.har_secrets is None  # the redacted copy holds no secret values
    run.har_secrets = None  # e.g. a RunData made without load_run
    _, _, again = redact_run(raw, run)
    assert reads and {s.value for s in again} == {s.value for s in found}


# --- a URL's query secrets, read without urlsplit -------------------------------------------------------


def _url_secrets_by_urlsplit(url: str) -> list[tuple[str, str]]:
    """The yardstick: ``parse_qsl(urlsplit(url).query)``'s signature and secret parameters."""
    try:
        query = urlsplit(url).query
    except ValueError:
        return []
    found = []
    for name, value in parse_qsl(query, keep_blank_values=False):
        if SIGNATURE_PARAMS.match(name):
            found.append((value, "signature"))
        elif secret_name(name):
            found.append((value, "query"))
    return found


def test_url_secrets_are_read_as_urlsplit_and_parse_qsl_read_them() -> None:
    """Every recorded URL, crafted ones (escapes, plus signs, empty and missing values, fragments before and after
    the query, IPv6 hosts, tabs and line breaks urlsplit drops, non-ASCII) and 20,000 fuzzed ones."""
    recorded = [
        entry.url
        for path in FIXTURES.rglob("*har*")
        if path.is_file() and path.suffix in ("", ".har", ".json")
        for entry in parse_har(path.read_bytes()).entries
    ]
    crafted = [
        "https://a.example/p?token=abc%20def&x=1", "https://a.example/p?api%5Fkey=v+w&sig=%3D%3D", "https://a/p?token=",
        "https://a/p?token", "https://a/p?=token&&token=t1&token=t2", "https://a/p#frag?token=no", "https://a/p?token=x#y",
        "http://[::1]:8080/p?token=ipv6", "http://[::1/p?token=broken", "https://a/p?to\tken=x\ty", "https://a/p?tok\nen=1",
        "https://ä.example/p?token=é", "?token=bare", "https://a/p?X-Amz-Signature=abc&X-Amz-Credential=c%2Fd",
        " https://a/p?session=lead", "https://a/p?session_id=%zz", "https://a/p?password=a+b%2Bc",
    ]
    rng = random.Random(3)
    alphabet = "ab:/?#[]@ =&%+tokenSIG.\t\n2Fé"
    fuzzed = ["https://a/p?" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24))) for _ in range(10_000)]
    fuzzed += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24))) for _ in range(10_000)]
    assert len(recorded) > 100
    for url in recorded + crafted + fuzzed:
        assert list(_url_secrets(url)) == _url_secrets_by_urlsplit(url), repr(url)

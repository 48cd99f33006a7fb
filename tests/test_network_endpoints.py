"""Requests to one endpoint: the quick reading of a plain URL gives urlsplit's host and path, whatever the URL."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from urllib.parse import urlsplit

from debugkit.analysis import network
from debugkit.parsers.har import parse_har

ROOT = Path(__file__).resolve().parent.parent


def _urlsplit(url: str) -> tuple[str, str]:
    try:
        parts = urlsplit(url)
    except ValueError:  # refused: no host, the text before the query
        return "", url.split("#", 1)[0].split("?", 1)[0]
    return parts.netloc, parts.path


def _quick(url: str) -> tuple[str, str]:
    network._host_and_path.cache_clear()
    return network._host_and_path(url)


def test_recorded_urls_read_as_urlsplit_reads_them():
    urls = [
        entry.url
        for path in (ROOT / "fixtures").rglob("*har*")
        if path.is_file() and path.suffix in ("", ".har", ".json")
        for entry in parse_har(path.read_bytes()).entries
    ]
    assert len(urls) > 100
    assert [_quick(url) for url in urls] == [_urlsplit(url) for url in urls]


def test_crafted_urls_read_as_urlsplit_reads_them():
    """Schemes that are not schemes, missing slashes, queries and fragments in every order, IPv6 and bad brackets,
    spaces and control characters (which urlsplit drops), non-ASCII hosts."""
    crafted = [
        "https://shop.example/api/items?id=1#top", "https://shop.example", "https://shop.example?x", "http://a#b?c",
        "HTTPS://Shop.Example/A", "1http://a/b", "h-t+t.p://a/b", "http:/a/b", "http:a/b", "//a/b", "/relative?x",
        "data:text/html,<b>?x", "blob:https://a/uuid", "about:blank", "", "://a/b", "http://[::1]:8080/x",
        "http://[::1/x", "http://a]/x", " http://a/b", "\x00http://a/b", "http://a/b\tc", "http://a\n/b",
        "http://ä.example/ü", "http://a/b c?d e", "http://user:pw@a:1/b;p?q", "ws://a/b", "http://a?b/c#d/e",
        "https://a.example/p?token=[REDACTED:0a1b2c3d]&x=1", "https://a.example/[REDACTED:0a1b2c3d]/x#[y]",
        "https://u:[REDACTED:0a1b2c3d]@a.example/p", "https://[REDACTED:0a1b2c3d]/p",
    ]
    rng = random.Random(12)
    alphabet = "ab:/?#[]@ .%\t\n1+-é"
    fuzzed = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(5000)]
    fuzzed += ["http://" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10))) for _ in range(5000)]
    for url in crafted + fuzzed:
        assert _quick(url) == _urlsplit(url), repr(url)


def test_urls_urlsplit_refuses_do_not_stop_the_analysis():
    """A HAR is untrusted: a broken IPv6 host or an impossible port in a request's URL (succeeded and failed ones)
    is read as a path, and the run is still triaged and signed for `runs`."""
    from debugkit.fleet.signature import request_signature
    from debugkit.pipeline import prepare, read

    source = read(ROOT / "fixtures" / "real" / "checkout_500")
    template = source.run.network[0]
    for url, failed in (("http://[::1/ok", False), ("http://[::1/x?a=1", True), ("http://a:99999/y", True)):
        entry = copy.copy(template)
        entry.url, entry.failed, entry.status = url, failed, 500 if failed else 200
        entry.error = "HTTP 500" if failed else None
        source.run.network.append(entry)
    prepared = prepare(source, render=False)
    assert prepared.analysis.diagnosis.verdict.cause
    assert network.path_of("http://[::1/x?a=1") == "http://[::1/x"
    assert [request_signature(e) for e in source.run.network[-3:]]


def test_a_redacted_url_is_read_without_urlsplit(monkeypatch):
    """Redaction puts ``[REDACTED:...]`` into queries and paths of a long run's URLs: brackets outside the host do
    not send them the slow way."""
    def refuse(url: str) -> None:
        raise AssertionError(f"urlsplit asked for {url!r}")

    monkeypatch.setattr(network, "urlsplit", refuse)
    url = "https://shop.example/api/items/[REDACTED:0a1b2c3d]?session_token=[REDACTED:9f8e7d6c]&page=2"
    assert _quick(url) == ("shop.example", "/api/items/[REDACTED:0a1b2c3d]")

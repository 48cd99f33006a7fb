"""Network truth: which failed requests matter to the flow, and what kind of failure each is.

A ``>= 400`` filter blames the wrong things: a favicon 404, an analytics beacon, a typeahead request
the next keystroke replaced. Here a failed request is sorted into one kind, and a request the flow
needed (a page, or an XHR/fetch that is not telemetry) is told apart from the rest. Pure functions.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlsplit

from debugkit.model import NetworkEntry

SERVER_ERROR = "server_error"  # 5xx
AUTH = "auth"  # 401 / 403 (and 407 from a proxy is "proxy")
REJECTED = "rejected"  # another 4xx on a submit / XHR / page
RATE_LIMITED = "rate_limited"  # 429
NOT_FOUND = "not_found"  # 404 / 410 on a page
CONNECTION = "connection"  # net::ERR_* without an answer
TIMEOUT = "timeout"  # net::ERR_TIMED_OUT
PROXY = "proxy"
PENDING = "pending"  # never answered
BENIGN = "benign"  # a failure that says nothing about the flow
NOISE = "noise"

_STATIC = re.compile(
    r"\.(?:png|jpe?g|gif|svg|ico|webp|avif|bmp|css|js|mjs|map|woff2?|ttf|otf|eot|mp4|webm|mp3|wav)$", re.IGNORECASE
)
_TELEMETRY = re.compile(
    r"(?:^|[/.])(?:collect|analytics|telemetry|track(?:ing)?|beacon|pixel|metrics|rum|log(?:s|ging)?|events?|"
    r"sentry|segment|hotjar|gtag|gtm|doubleclick|google-analytics|googletagmanager|mixpanel|amplitude|"
    r"datadog|newrelic|favicon\.ico)(?:$|[/.?])",
    re.IGNORECASE,
)
_ASSET_TYPES = frozenset({"image", "stylesheet", "font", "media", "script", "manifest", "texttrack", "other", "ping"})
_PROXY_ERRORS = ("ERR_PROXY", "ERR_TUNNEL_CONNECTION_FAILED", "ERR_SOCKS")
_TIMEOUT_ERRORS = ("ERR_TIMED_OUT", "ERR_CONNECTION_TIMED_OUT", "Timeout")


def kind_of(entry: NetworkEntry) -> str | None:
    """The kind of failure of one request (None: it did not fail)."""
    if not entry.failed:
        return None
    if entry.noise:
        return NOISE
    error = entry.error or ""
    if entry.status is None:
        if entry.pending:
            return PENDING
        if any(code in error for code in _PROXY_ERRORS):
            return PROXY
        if any(code in error for code in _TIMEOUT_ERRORS):
            return TIMEOUT
        return CONNECTION
    status = entry.status
    if status >= 500:
        return SERVER_ERROR
    if status == 407:
        return PROXY
    if status in (401, 403):
        return AUTH
    if status == 429:
        return RATE_LIMITED
    if not needed_by_flow(entry):
        return BENIGN
    if status in (404, 410) and entry.is_document:
        return NOT_FOUND
    if entry.method.upper() == "GET" and not entry.is_document:
        return BENIGN  # a GET of data that is not there: the page usually carries on
    return REJECTED


def needed_by_flow(entry: NetworkEntry) -> bool:
    """A page, or an XHR/fetch that is not telemetry; assets and beacons are not."""
    if entry.is_document:
        return True
    resource = (entry.resource_type or "").lower()
    if resource in _ASSET_TYPES:
        return False
    netloc, path = _host_and_path(entry.url)
    if _TELEMETRY.search(path) or _TELEMETRY.search(netloc):
        return False
    return not (not resource and _STATIC.search(path))


def endpoint(entry: NetworkEntry) -> tuple[str, str, str]:
    """Method, host and path: requests to one endpoint, whatever their query."""
    netloc, path = _host_and_path(entry.url)
    return entry.method.upper(), netloc, path


# ``scheme://netloc/path...`` as urlsplit reads it: a scheme (a letter, then letters, digits, + - .), the netloc up to
# the first / ? or #, the path up to the first ? or #.
_PLAIN_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)([^?#]*)")


@lru_cache(maxsize=1 << 12)  # the endpoints asked about again (failures) are recent ones
def _host_and_path(url: str) -> tuple[str, str]:
    """``urlsplit(url)``'s netloc and path; a plain ASCII URL is read by one match, five times faster (a long run
    asks this of every successful request). urlsplit reads the rest: text with tabs or line breaks (which it drops
    first), a host with brackets (IPv6, which it checks; brackets elsewhere, such as a redacted query's
    ``[REDACTED:...]``, it does not), anything not ASCII. A URL urlsplit refuses has no host, and its text before the
    query for path."""
    if url.isascii() and "\t" not in url and "\r" not in url and "\n" not in url:
        plain = _PLAIN_URL.match(url)
        if plain is not None:
            netloc = plain.group(1)
            if "[" not in netloc and "]" not in netloc:
                return netloc, plain.group(2)
    try:
        parts = urlsplit(url)
    except ValueError:  # a broken IPv6 host ("http://[::1/x"), a host NFKC turns into a path: the text before the query
        return "", url.split("#", 1)[0].split("?", 1)[0]
    return parts.netloc, parts.path


class Recoveries:
    """Which failures a later successful request to the same endpoint recovered, in one pass over the network.

    Asking :func:`recovered` of each failure reads the whole network once per failure; a run with
    30,000 requests and a thousand failures then spends minutes there. This reads it once.
    """

    def __init__(self, network: list[NetworkEntry]) -> None:
        self._latest: dict[tuple[str, str, str], datetime] = {}  # per endpoint: the last successful start
        self._undated: set[tuple[str, str, str]] = set()  # endpoints with a success of unknown time
        self._last_index: dict[tuple[str, str, str], int] = {}  # per endpoint: the highest successful HAR index
        for other in network:
            if other.failed or other.status is None:
                continue
            key = endpoint(other)
            if other.started_at is None:
                self._undated.add(key)
            elif key not in self._latest or other.started_at > self._latest[key]:
                self._latest[key] = other.started_at
            if other.index > self._last_index.get(key, -1):
                self._last_index[key] = other.index

    def __call__(self, entry: NetworkEntry) -> bool:
        """A later request to the same endpoint succeeded: this failure did not stop the flow."""
        key = endpoint(entry)
        if entry.started_at is None:  # no time: "later" is a later place in the HAR
            return self._last_index.get(key, -1) > entry.index
        latest = self._latest.get(key)
        return key in self._undated or (latest is not None and latest > entry.started_at)


def recovered(entry: NetworkEntry, network: list[NetworkEntry]) -> bool:
    """A later request to the same endpoint succeeded: this failure did not stop the flow.

    For many failures of one network, build :class:`Recoveries` once instead."""
    return Recoveries(network)(entry)


def path_of(url: str) -> str:
    return _host_and_path(url)[1] or "/"

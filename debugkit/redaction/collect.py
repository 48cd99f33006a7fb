"""Finding the secret values a run holds, before anything is redacted.

Collection is independent of the redaction policy: every value found here is searched for in
every member of a bundle afterwards, so switching a redaction rule off makes the bundle fail
closed instead of leaking.

The HAR's secrets (header, cookie, query and form values, JWTs) are found while it is parsed:
:class:`HarSecrets` is :func:`debugkit.parsers.har.parse_har`'s ``visit``, so loading a run
(:func:`debugkit.load.load_run`) leaves them in ``RunData.har_secrets`` and the HAR is read once,
keeping no entry dict. JWTs are looked for in the HAR's bytes, all at once, rather than in every
string of every entry.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson

from debugkit.model import Action, RunData, StepData
from debugkit.parsers.har import parse_har
from debugkit.redaction.policy import element_label, field_kind, field_value, held_value, step_typed_kind

MIN_SECRET_LENGTH = 4  # shorter values would be replaced all over ordinary text
_SEEN_HEADERS = 20_000  # secret headers whose values HarSecrets remembers (they repeat request after request)

# Header names whose values are secrets, and name fragments that make any header secret.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
SECRET_NAME_PARTS = ("token", "secret", "session", "auth", "key", "password", "passwd", "csrf", "xsrf", "otp")
JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}")
_JWT_AT = re.compile(rb"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}")
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_JSON_ESCAPES = frozenset(b"bfnrt")
_NOT_PLAIN_URL = re.compile(r"[\t\r\n\[\]]")  # what urlsplit drops or checks: such URLs go through it
SIGNATURE_PARAMS = re.compile(r"^(sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|"
                              r"x-goog-signature|x-goog-credential|sv|se|sp|sr|skoid|sktid|skt|ske|sks|skv|kid)$",
                              re.IGNORECASE)


@dataclass(frozen=True)
class Secret:
    value: str
    kind: str  # password | otp | card | secret | cookie | header | query | form | jwt | signature | api_key


# Names that contain a secret-ish fragment but carry no secret (the host, challenges, CORS lists).
NOT_SECRET_NAMES = frozenset(
    {
        ":authority",
        "authority",
        "www-authenticate",
        "proxy-authenticate",
        "access-control-allow-headers",
        "access-control-expose-headers",
        "access-control-allow-credentials",
        "access-control-request-headers",
        "keep-alive",
    }
)


@lru_cache(maxsize=8192)  # header, cookie and parameter names repeat on every request
def secret_name(name: str) -> bool:
    lowered = name.strip().lower()
    if lowered in NOT_SECRET_NAMES:
        return False
    return lowered in SECRET_HEADERS or any(part in lowered for part in SECRET_NAME_PARTS)


def collect_secrets(
    run: RunData, har_documents: Iterable[bytes] | None = None, api_keys: Iterable[str] = ()
) -> list[Secret]:
    """Every secret value in the run: typed into secret fields, in HAR headers, cookies, queries,
    form bodies, JWTs anywhere in the HAR, signed-URL signatures, and the API key.

    The HAR's values are ``run.har_secrets`` (found when the run was loaded) unless ``har_documents``
    are given, or were not collected: then those HARs are read (again) for them."""
    found: dict[str, Secret] = {}

    def add(value: object, kind: str) -> None:
        if isinstance(value, str):
            value = value.strip()
            if len(value) >= MIN_SECRET_LENGTH and value not in found:
                found[value] = Secret(value, kind)

    for key in api_keys:
        add(key, "api_key")
    for step in run.steps:
        for action in step.actions:
            kind = typed_secret_kind(step, action)
            if kind and action.text:
                add(action.text, kind)
        for value, kind in field_values(step):
            add(value, kind)
    if har_documents is None and run.har_secrets is not None:
        har_pairs: Iterable[tuple[str, str]] = run.har_secrets
    else:
        collector = HarSecrets()
        for data in har_documents or ():
            collector.read(data)
        har_pairs = collector.pairs()
    for value, kind in har_pairs:
        add(value, kind)
    if not (har_documents is None and run.har_secrets is not None):  # else done: they are the HAR's URLs
        for entry in run.network:
            for value, kind in _url_secrets(entry.url):
                add(value, kind)
    return sorted(found.values(), key=lambda s: (-len(s.value), s.value))


class HarSecrets:
    """The secret values of HAR entries, collected as :func:`debugkit.parsers.har.parse_har` reads them.

    ``parse_har(data, collector=secrets)`` (which also has :meth:`text` read the JWTs in the HAR's bytes), or
    :meth:`read`; :meth:`pairs` gives ``(value, kind)`` in the order found, each value once (its first kind), the
    entries' values before the JWTs of the text.
    """

    def __init__(self) -> None:
        self.found: dict[str, str] = {}
        self._jwts: dict[str, None] = {}  # the text's JWTs, in the order found (kind "jwt" unless found before)
        self._names: dict[str, bool] = {}  # header name -> secret_name(name)
        self._headers: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}  # secret header -> its values

    def _add(self, value: object, kind: str) -> None:
        if isinstance(value, str):
            value = value.strip()
            if len(value) >= MIN_SECRET_LENGTH and value not in self.found:
                self.found[value] = kind

    def entry(self, entry: dict[str, Any]) -> None:
        """One HAR entry dict: its secret header, cookie, query and form values (``parse_har``'s ``visit``).

        What :func:`_entry_secrets` yields, inlined for the headers (a long run has a million): a header
        whose name is not secret costs two dict lookups."""
        add, names, seen = self._add, self._names, self._headers
        for side in ("request", "response"):
            part = entry.get(side)
            if type(part) is not dict:
                if isinstance(part, dict):  # a dict subclass: the general way
                    for value, kind in _part_secrets(side, part):
                        add(value, kind)
                continue
            headers = part.get("headers")
            if type(headers) is list:
                for header in headers:
                    if type(header) is dict:
                        name = header.get("name")
                        if type(name) is str:
                            secret = names.get(name)
                            if secret is None:
                                secret = names[name] = secret_name(name)
                            if secret:
                                value = header.get("value")
                                key = (name, value) if type(value) is str else None
                                pairs = seen.get(key) if key is not None else None
                                if pairs is None:  # a cookie or token header repeats on most requests
                                    pairs = tuple(_header_values(name, value))
                                    if key is not None and len(seen) < _SEEN_HEADERS:
                                        seen[key] = pairs
                                for found, kind in pairs:
                                    add(found, kind)
                    elif isinstance(header, dict):
                        for value, kind in _part_secrets(side, {"headers": [header]}):
                            add(value, kind)
            for value, kind in _part_secrets(side, part, headers=False):
                add(value, kind)

    def text(self, data: bytes | bytearray | memoryview | str, start: int = 0, end: int | None = None) -> None:
        """The JWTs anywhere in the HAR's text (strings of any entry, pages, ...), read from its bytes (those from
        ``start`` to ``end``: a half of the HAR that ends between two entries)."""
        jwts = self._jwts
        if isinstance(data, str):
            found: Iterable[str] = JWT.findall(data, start, len(data) if end is None else end)
        else:
            found = _jwts(bytes(data) if isinstance(data, memoryview) else data, start, end)
        for match in found:
            if match not in jwts:
                jwts[match] = None

    def read(self, data: bytes) -> None:
        """Parse one HAR and collect its secrets (for a HAR not read through :func:`debugkit.load.load_run`)."""
        parse_har(data, collector=self)

    def pairs(self) -> list[tuple[str, str]]:
        found = self.found
        return [*found.items(), *((jwt, "jwt") for jwt in self._jwts if jwt not in found)]

    def export(self) -> tuple[list[tuple[str, str]], list[str]]:
        """What was found, to :meth:`merge` into another collector (a forked child's, see ``parse_har``)."""
        return list(self.found.items()), list(self._jwts)

    def merge(self, state: tuple[list[tuple[str, str]], list[str]]) -> None:
        """Add another collector's findings after this one's (a value found by both keeps this one's kind)."""
        pairs, jwts = state
        for value, kind in pairs:
            self.found.setdefault(value, kind)
        for jwt in jwts:
            self._jwts.setdefault(jwt, None)


def _jwts(data: bytes | bytearray, start: int = 0, end: int | None = None) -> Iterator[str]:
    """JWTs in JSON bytes (from ``start`` to ``end``), where a word character (or a JSON escape such as ``\\n``)
    does not come just before: what :data:`JWT` finds in the decoded strings, and more (it may start after any
    non-ASCII byte)."""
    end = len(data) if end is None else end
    pos = data.find(b"eyJ", start, end)
    while pos >= 0:
        before = data[pos - 1] if pos else 0
        starts = before not in _WORD_BYTES or (before in _JSON_ESCAPES and pos >= 2 and data[pos - 2] == 0x5C)
        match = _JWT_AT.match(data, pos, end) if starts else None
        if match is not None:
            yield match.group(0).decode("ascii")
            pos = data.find(b"eyJ", match.end(), end)
        else:
            pos = data.find(b"eyJ", pos + 3, end)


def typed_secret_kind(step: StepData, action: Action) -> str | None:
    """password | otp | card | secret when the action typed into such a field, else None
    (:func:`debugkit.redaction.policy.step_typed_kind`)."""
    return step_typed_kind(step, action)


def field_values(step: StepData) -> Iterable[tuple[str, str]]:
    """(value, kind) of every secret field of the step's tree that holds a value in the scrape."""
    for element in (step.elements or {}).values():
        if held_value(element) is None:
            continue  # most elements hold nothing: no label to look up
        label = element_label(step, element)
        value = field_value(element, label)
        if value is not None:
            yield value, field_kind(element, label) or "secret"


def _entry_secrets(entry: dict[str, Any]) -> Iterable[tuple[str, str]]:
    """The secret header, cookie, query, URL and form values of one entry (JWTs: :meth:`HarSecrets.text`)."""
    for side in ("request", "response"):
        part = entry.get(side)
        if isinstance(part, dict):
            yield from _part_secrets(side, part)


def _part_secrets(side: str, part: dict[str, Any], *, headers: bool = True) -> Iterable[tuple[str, str]]:
    """The secret values of an entry's request or response (its headers unless ``headers=False``)."""
    if headers:
        for header in _items(part.get("headers")):
            if isinstance(header, dict):
                name = header.get("name")
                if isinstance(name, str) and secret_name(name):
                    yield from _header_values(name, header.get("value"))
    for cookie in _items(part.get("cookies")):
        if isinstance(cookie, dict):
            yield cookie.get("value"), "cookie"
    if side == "request":
        url = part.get("url")
        if url and "?" in str(url):
            yield from _url_secrets(str(url))
        for param in _items(part.get("queryString")):
            if isinstance(param, dict) and secret_name(str(param.get("name", ""))):
                yield param.get("value"), "query"
        yield from _post_secrets(part.get("postData"))


def _items(value: object) -> list[Any]:
    """A HAR list field (headers, cookies, ...): anything else is taken as empty."""
    return value if isinstance(value, list) else []


def _header_values(name: str, value: object) -> Iterable[tuple[str, str]]:
    if not isinstance(value, str):
        return
    lowered = name.lower()
    if lowered in ("cookie", "set-cookie"):
        yield from ((v, "cookie") for v in _cookie_values(value, lowered == "set-cookie"))
        return
    if lowered in ("authorization", "proxy-authorization") and " " in value.strip():
        scheme, _, credential = value.strip().partition(" ")
        yield credential, "header"
        return
    yield value, "header"


def _cookie_values(value: str, is_set_cookie: bool) -> list[str]:
    if is_set_cookie:
        first = value.split(";", 1)[0]
        _, _, cookie_value = first.partition("=")
        return [cookie_value]
    jar = SimpleCookie()
    try:
        jar.load(value)
    except Exception:  # an odd cookie header: take the name=value pairs by hand
        return [p.partition("=")[2] for p in value.split(";") if "=" in p]
    return [morsel.value for morsel in jar.values()] or [p.partition("=")[2] for p in value.split(";") if "=" in p]


def _url_secrets(url: str) -> Iterable[tuple[str, str]]:
    """The signature and secret parameters of ``url``'s query: what ``parse_qsl(urlsplit(url).query)`` gives, read
    without them when the URL is plain ASCII with no tab, line break or bracket (a long run has thousands of signed
    or tokened URLs): urlsplit's query is then the text after the first ``?`` before the first ``#``, and only a name
    or value holding ``%`` or ``+`` needs decoding."""
    if url.isascii() and not _NOT_PLAIN_URL.search(url):
        query = url.split("#", 1)[0].partition("?")[2]
    else:
        try:
            query = urlsplit(url).query
        except ValueError:
            return
    for piece in query.split("&") if query else ():
        name, equals, value = piece.partition("=")
        if not equals or not value:  # parse_qsl leaves out a field without "=" or without a value
            continue
        if "%" in name or "+" in name:
            name = unquote(name.replace("+", " "))
        kind = "signature" if SIGNATURE_PARAMS.match(name) else "query" if secret_name(name) else None
        if kind is not None:
            yield (unquote(value.replace("+", " ")) if "%" in value or "+" in value else value), kind


def _post_secrets(post: object) -> Iterable[tuple[str, str]]:
    if not isinstance(post, dict):
        return
    for param in _items(post.get("params")):
        if isinstance(param, dict) and secret_name(str(param.get("name", ""))):
            yield param.get("value"), "form"
    text = post.get("text")
    if isinstance(text, str) and text:
        mime = str(post.get("mimeType") or "")
        if "json" in mime or text.lstrip().startswith(("{", "[")):
            with contextlib.suppress(orjson.JSONDecodeError):
                yield from _json_secrets(orjson.loads(text))
        elif "=" in text:
            for name, value in parse_qsl(text):
                if secret_name(name):
                    yield value, "form"


def _json_secrets(value: object) -> Iterable[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and secret_name(str(key)):
                yield item, "form"
            else:
                yield from _json_secrets(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_secrets(item)

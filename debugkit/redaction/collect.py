"""Finding the secret values a run holds, before anything is redacted.

Collection is independent of the redaction policy: every value found here is searched for in
every member of a bundle afterwards, so switching a redaction rule off makes the bundle fail
closed instead of leaking.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from debugkit.model import Action, RunData, StepData
from debugkit.parsers.har import parse_har
from debugkit.redaction.policy import element_label, field_kind, field_value, held_value, step_typed_kind

MIN_SECRET_LENGTH = 4  # shorter values would be replaced all over ordinary text

# Header names whose values are secrets, and name fragments that make any header secret.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
SECRET_NAME_PARTS = ("token", "secret", "session", "auth", "key", "password", "passwd", "csrf", "xsrf", "otp")
JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}")
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


def secret_name(name: str) -> bool:
    lowered = name.strip().lower()
    if lowered in NOT_SECRET_NAMES:
        return False
    return lowered in SECRET_HEADERS or any(part in lowered for part in SECRET_NAME_PARTS)


def collect_secrets(run: RunData, har_documents: Iterable[bytes] = (), api_keys: Iterable[str] = ()) -> list[Secret]:
    """Every secret value in the run: typed into secret fields, in HAR headers, cookies, queries,
    form bodies, JWTs anywhere in the HAR, signed-URL signatures, and the API key."""
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
    for data in har_documents:
        for entry in parse_har(data, keep_raw=True).entries:
            for value, kind in _entry_secrets(entry.raw):
                add(value, kind)
    for entry in run.network:
        for value, kind in _url_secrets(entry.url):
            add(value, kind)
    return sorted(found.values(), key=lambda s: (-len(s.value), s.value))


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
    for side in ("request", "response"):
        part = entry.get(side)
        if not isinstance(part, dict):
            continue
        for header in part.get("headers") or []:
            if isinstance(header, dict) and isinstance(header.get("name"), str) and secret_name(header["name"]):
                yield from _header_values(header["name"], header.get("value"))
        for cookie in part.get("cookies") or []:
            if isinstance(cookie, dict):
                yield cookie.get("value"), "cookie"
        if side == "request":
            yield from _url_secrets(str(part.get("url") or ""))
            for param in part.get("queryString") or []:
                if isinstance(param, dict) and secret_name(str(param.get("name", ""))):
                    yield param.get("value"), "query"
            yield from _post_secrets(part.get("postData"))
    for text in _strings(entry):  # not a JSON dump: a HAR may hold NaN or integers past 64 bits
        yield from ((m, "jwt") for m in JWT.findall(text))


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
    try:
        query = urlsplit(url).query
    except ValueError:
        return
    for name, value in parse_qsl(query, keep_blank_values=False):
        if SIGNATURE_PARAMS.match(name):
            yield value, "signature"
        elif secret_name(name):
            yield value, "query"


def _post_secrets(post: object) -> Iterable[tuple[str, str]]:
    if not isinstance(post, dict):
        return
    for param in post.get("params") or []:
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

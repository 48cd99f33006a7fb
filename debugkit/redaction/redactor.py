"""Replacing secrets: the same value always becomes the same placeholder within one bundle.

``[REDACTED:<8 hex>]``: the hex is a salted hash of the value, so a reader can see that two
requests sent the same cookie, and nobody can test a guess without the per-bundle salt.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import re
import secrets as _random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

from debugkit import forked
from debugkit.model import NetworkEntry, RunData
from debugkit.parsers.html import HtmlSnapshot
from debugkit.redaction import scan
from debugkit.redaction.collect import JWT, SIGNATURE_PARAMS, Secret, secret_name
from debugkit.redaction.literals import Literals
from debugkit.redaction.policy import bullets_only, is_placeholder

T = TypeVar("T")

_REMEMBERED = 200  # strings up to this long are redacted once each (they repeat: methods, error texts, names)
_REMEMBERED_COUNT = 20_000  # ... up to this many of them (a long run's unique URLs would otherwise all be kept)
_BEARER = re.compile(r"\b(Bearer|Basic|Token)\s+([A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)
_QUERY_PAIR = re.compile(r"([?&;])([A-Za-z0-9_.\-\[\]%]+)=([^&#\s\"'<>]*)")
# Shape rules (debugkit.redaction.scan) by kind, and the policy switch each answers to.
_SCAN_RULES = {"card": "typed_secrets", "jwt": "jwt", "header": "headers", "form": "form"}


@dataclass
class RedactionPolicy:
    """Which rules apply. Every rule is on by default; tests switch one off to prove the
    fail-closed check catches what it would have removed."""

    typed_secrets: bool = True  # values typed into password / OTP / card / secret fields
    headers: bool = True  # authorization, cookie, set-cookie, x-api-key and secret-named headers
    cookies: bool = True
    query: bool = True  # secret-named query parameters
    form: bool = True  # secret-named form / JSON body fields
    jwt: bool = True
    signatures: bool = True  # the signature part of signed URLs
    api_key: bool = True

    def enabled(self, kind: str) -> bool:
        rule = {
            "password": "typed_secrets",
            "otp": "typed_secrets",
            "card": "typed_secrets",
            "secret": "typed_secrets",
            "header": "headers",
            "cookie": "cookies",
            "query": "query",
            "form": "form",
            "jwt": "jwt",
            "signature": "signatures",
            "api_key": "api_key",
        }.get(kind, "headers")
        return bool(getattr(self, rule))

    def describe(self) -> dict[str, bool]:
        return dataclasses.asdict(self)


@dataclass
class Redactor:
    secrets: list[Secret]
    policy: RedactionPolicy = field(default_factory=RedactionPolicy)
    salt: bytes = field(default_factory=lambda: _random.token_bytes(16))
    redacted: dict[str, str] = field(default_factory=dict)  # each distinct value replaced -> its kind

    def __post_init__(self) -> None:
        active = [s for s in self.secrets if self.policy.enabled(s.kind)]
        self._kind = {s.value: s.kind for s in active}
        variants: dict[str, str] = {}
        for secret in active:
            for form in {secret.value, quote(secret.value, safe=""), quote_plus(secret.value)}:
                variants.setdefault(form, secret.value)
        self._variant_of = variants
        self._literals = Literals(variants)
        self._texts: dict[str, str] = {}  # short strings already redacted (methods, errors, names repeat)

    @property
    def counts(self) -> Counter[str]:
        """Distinct secret values replaced, by kind (one value redacted in ten places counts once)."""
        return Counter(self.redacted.values())

    def placeholder(self, value: str) -> str:
        digest = hashlib.sha256(self.salt + value.encode("utf-8")).hexdigest()[:8]
        return f"[REDACTED:{digest}]"

    # --- strings ----------------------------------------------------------------------------------

    def text(self, value: str) -> str:
        """Known secret values, then patterns (JWTs, bearer credentials, secret query values)."""
        if not value:
            return value
        if len(value) <= _REMEMBERED:
            done = self._texts.get(value)
            if done is None:
                done = self._text(value)
                if len(self._texts) < _REMEMBERED_COUNT:  # the ones that repeat come early
                    self._texts[value] = done
            return done
        return self._text(value)

    def _text(self, value: str) -> str:
        if self._plainly_clean(value):
            return value
        if not self._literals.empty:
            value = self._literals.sub(self._replace_known, value)
        if self.policy.jwt and "eyJ" in value:
            value = JWT.sub(lambda m: self._replace(m.group(0), "jwt"), value)
        if self.policy.headers and _maybe_bearer(value):
            value = _BEARER.sub(lambda m: f"{m.group(1)} {self._replace(m.group(2), 'header')}", value)
        if (self.policy.query or self.policy.signatures) and "=" in value:
            value = _QUERY_PAIR.sub(self._replace_query_pair, value)
        kinds = [kind for kind, rule in _SCAN_RULES.items() if getattr(self.policy, rule)]
        return scan.scrub(value, self._replace, kinds) if kinds else value

    def _plainly_clean(self, value: str) -> bool:
        """Whether :meth:`_text` would give ``value`` back as it is, told without running its rules one by one
        (most of a long run's 30,000 URLs): an ASCII text holding no known value, no hint of any rule, no run of
        13 digits, and no ``name=`` whose name could be secret. False whenever unsure: then the rules run."""
        if not value.isascii() or scan.HINTS.search(value.lower()) or scan.CARD_DIGITS.search(value):
            return False
        if "=" in value:
            for pair in _QUERY_PAIR.findall(value):
                if not _innocent_name(pair[1]):
                    return False
            for pair in scan.FORM_PAIR.findall(value):
                if not _innocent_name(pair[0]):
                    return False
        return not self._literals.spans(value)

    def _replace_known(self, found: str) -> str:
        original = self._variant_of[found]
        return self._replace(original, self._kind[original])

    def _replace(self, value: str, kind: str) -> str:
        if is_placeholder(value) or bullets_only(value):
            return value
        self.redacted.setdefault(value, self._kind.get(value, kind))
        return self.placeholder(value)

    def _replace_query_pair(self, match: re.Match[str]) -> str:
        sep, name, value = match.groups()
        if not value or is_placeholder(value):
            return match.group(0)
        plain = name.lower()
        if self.policy.signatures and SIGNATURE_PARAMS.match(plain):
            return f"{sep}{name}={self._replace(value, 'signature')}"
        if self.policy.query and secret_name(plain):
            return f"{sep}{name}={self._replace(value, 'query')}"
        return match.group(0)

    # --- structures ---------------------------------------------------------------------------------

    def json(self, value: Any) -> Any:
        """Every string in a JSON value (keys kept), plus secret-named fields as a whole."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            out = {}
            pair = self._secret_pair(value)
            for key, item in value.items():
                if isinstance(item, str) and isinstance(key, str) and self._secret_field(key) and item:
                    out[key] = self._replace(item, "form")
                elif pair and key == "value" and isinstance(item, str) and item:
                    out[key] = self._replace(item, "header")
                else:
                    out[key] = self.json(item)
            return out
        return value

    def _secret_pair(self, value: dict[Any, Any]) -> bool:
        """A ``{"name": <secret name>, "value": ...}`` object (a header, a form field) anywhere in a document."""
        name = value.get("name")
        return self.policy.headers and isinstance(name, str) and secret_name(name) and "value" in value

    def _secret_field(self, key: str) -> bool:
        return self.policy.form and secret_name(key) and key.lower() not in scan.NOT_SECRET_KEYS

    def har(self, doc: Any) -> Any:
        """A HAR with secret header values, cookie values, query and form values replaced."""
        if not isinstance(doc, dict):
            return self.json(doc)
        out = copy.deepcopy(doc)
        entries = out.get("log", {}).get("entries") if isinstance(out.get("log"), dict) else None
        for entry in entries or []:
            if isinstance(entry, dict):
                self.har_entry(entry)  # the parts in place; the strings by the json pass below
        return self.json(out)

    def har_entry(self, entry: Any) -> Any:
        """One entry of ``log.entries`` as :meth:`har` redacts it (``entry`` itself is changed too)."""
        if isinstance(entry, dict):
            for side in ("request", "response"):
                part = entry.get(side)
                if isinstance(part, dict):
                    self._har_part(part)
        return self.json(entry)

    def _har_part(self, part: dict[str, Any]) -> None:
        for header in part.get("headers") or []:
            if isinstance(header, dict) and self.policy.headers and secret_name(str(header.get("name", ""))):
                value = header.get("value")
                if isinstance(value, str) and value:
                    header["value"] = self._replace(value, "header")
        for cookie in part.get("cookies") or []:
            if self.policy.cookies and _has_value(cookie):
                cookie["value"] = self._replace(cookie["value"], "cookie")
        for param in part.get("queryString") or []:
            if self.policy.query and _has_value(param) and secret_name(str(param.get("name", ""))):
                param["value"] = self._replace(param["value"], "query")
        post = part.get("postData")
        if isinstance(post, dict):
            for param in post.get("params") or []:
                if self.policy.form and _has_value(param) and secret_name(str(param.get("name", ""))):
                    param["value"] = self._replace(param["value"], "form")

    def run(self, run: RunData) -> RunData:
        """A copy of the parsed run with every string redacted (what all reporters then show).

        The copy holds no ``har_secrets``. Network rows (tens of thousands on a long run) are copied
        field by field, not through :func:`copy.deepcopy`."""
        network, secrets = run.network, run.har_secrets

        def without_network() -> RunData:
            run.network, run.har_secrets = [], None
            try:
                clone = copy.deepcopy(run)
            finally:
                run.network, run.har_secrets = network, secrets
            for step in clone.steps:
                for action in step.actions:
                    if action.text:
                        action.text_length = len(action.text)
            _walk(clone, self)
            return clone

        clone, rows = self._entries(network, without_network)
        clone.network = rows
        return clone

    def _entries(self, network: list[NetworkEntry], before: Callable[[], T]) -> tuple[T, list[NetworkEntry]]:
        """``before()``, then :meth:`_entry` of every row; a long network's second part in a forked child
        (:mod:`debugkit.forked`) while this process runs ``before`` and the first part; the child sends back only
        what changed in its rows, and the values it replaced (for :attr:`counts`)."""
        middle = len(network) * FIRST_SHARE // 100
        if len(network) < SPLIT_ROWS or not forked.available() or any(entry.raw for entry in network):
            return before(), [self._entry(entry) for entry in network]

        def second() -> tuple[list[tuple[int, tuple[str | None, ...]]], dict[str, str]]:
            changed = []
            for position in range(middle, len(network)):
                entry = network[position]
                clone = self._entry(entry)
                if clone is not entry:
                    changed.append((position, tuple(clone.__dict__[name] for name in _TEXT_FIELDS)))
            return changed, self.redacted

        def first() -> tuple[T, list[NetworkEntry]]:
            done = before()
            return done, [self._entry(e) for e in network[:middle]]

        (done, first_rows), (changed, redacted) = forked.both(first, second)
        rest = network[middle:]
        for position, values in changed:
            clone = _shallow_copy(network[position])
            clone.__dict__.update(zip(_TEXT_FIELDS, values, strict=True))
            rest[position - middle] = clone
        for value, kind in redacted.items():
            self.redacted.setdefault(value, kind)
        return done, first_rows + rest

    def _entry(self, entry: NetworkEntry) -> NetworkEntry:
        """A redacted copy of one network row (its strings; ``raw``, when kept, as a whole), or the row itself when
        nothing in it changes (most rows of a long run: rows are never changed once parsed, and each copy costs)."""
        text = self.text
        url, method = text(entry.url), text(entry.method)
        error = text(entry.error) if entry.error is not None else None
        noise_reason = text(entry.noise_reason) if entry.noise_reason is not None else None
        resource_type = text(entry.resource_type) if entry.resource_type is not None else None
        if (
            not entry.raw
            and url == entry.url
            and method == entry.method
            and error == entry.error
            and noise_reason == entry.noise_reason
            and resource_type == entry.resource_type
        ):
            return entry
        clone = _shallow_copy(entry)
        clone.url, clone.method = url, method
        clone.error, clone.noise_reason, clone.resource_type = error, noise_reason, resource_type
        clone.raw = _walk(copy.deepcopy(entry.raw), self) if entry.raw else {}
        return clone


SPLIT_ROWS = 4000  # network rows from which redaction splits them across two processes
# Of the rows split, the share redacted here (%): this process also redacts the rest of the run meanwhile.
FIRST_SHARE = 45
_TEXT_FIELDS = ("url", "method", "error", "noise_reason", "resource_type")  # what _entry redacts of a row


def _shallow_copy(entry: NetworkEntry) -> NetworkEntry:
    """``copy.copy`` of a network row, four times faster (there are tens of thousands)."""
    if not hasattr(entry, "__dict__"):  # pragma: no cover - a slotted NetworkEntry
        return copy.copy(entry)
    clone = object.__new__(type(entry))
    clone.__dict__.update(entry.__dict__)
    return clone


def _maybe_bearer(text: str) -> bool:
    """Could :data:`_BEARER` match? (Only checked on ASCII text: see :data:`debugkit.redaction.scan.Rule.hints`.)"""
    lowered = scan.lowered_ascii(text)
    return lowered is None or "bearer" in lowered or "basic" in lowered or "token" in lowered


@lru_cache(maxsize=8192)
def _innocent_name(name: str) -> bool:
    """A parameter name no rule takes for a secret's (neither a secret name nor a signature's)."""
    return not secret_name(name) and not SIGNATURE_PARAMS.match(name.lower())


def _has_value(item: object) -> bool:
    return isinstance(item, dict) and isinstance(item.get("value"), str) and bool(item["value"])


def _walk(obj: Any, redactor: Redactor, seen: set[int] | None = None) -> Any:
    """Redact every string inside dataclasses, dicts and lists, in place where possible."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return obj
    if isinstance(obj, str):
        return redactor.text(obj)
    if isinstance(obj, HtmlSnapshot):
        seen.add(id(obj))
        obj.text = redactor.text(obj.text)
        obj.__dict__.pop("soup", None)
        obj.__dict__.pop("_index", None)
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        seen.add(id(obj))
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if isinstance(value, bytes | bytearray):
                continue
            new = _walk(value, redactor, seen)
            if new is not value:
                setattr(obj, f.name, new)
        return obj
    if isinstance(obj, dict):
        seen.add(id(obj))
        if redactor._secret_pair(obj) and isinstance(obj["value"], str) and obj["value"]:
            obj["value"] = redactor._replace(obj["value"], "header")
        for key in list(obj):
            new = redactor.json(obj[key]) if isinstance(obj[key], str) and isinstance(key, str) else None
            if new is not None:
                obj[key] = new if not redactor._secret_field(key) else redactor.json({key: obj[key]})[key]
            else:
                obj[key] = _walk(obj[key], redactor, seen)
        return obj
    if isinstance(obj, list):
        seen.add(id(obj))
        for i, item in enumerate(obj):
            obj[i] = _walk(item, redactor, seen)
        return obj
    if isinstance(obj, set):
        return {_walk(item, redactor, seen) for item in obj}
    return obj

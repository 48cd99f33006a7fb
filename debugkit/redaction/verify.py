"""Fail closed: search every member of a bundle for every secret value collected.

A member is searched as written, HTML-unescaped, JSON-decoded (strings inside), and as the
URL-encoded and JSON-escaped forms of each value. Compressed members are decompressed first.
Findings name the member and the kind of secret, never the value.
"""

from __future__ import annotations

import contextlib
import gzip
import html
import json
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

import orjson

from debugkit.api.content import sniff, unzstd
from debugkit.redaction.collect import Secret

BINARY_KINDS = frozenset({"png", "binary"})


@dataclass(frozen=True)
class Leak:
    member: str
    kind: str

    def __str__(self) -> str:
        return f"a {self.kind} value remains in {self.member}"


def verify_members(members: dict[str, bytes], secrets: list[Secret]) -> list[Leak]:
    """Every (member, kind) where a collected secret value is still readable."""
    leaks: list[Leak] = []
    forms = [(secret, _forms(secret.value)) for secret in secrets]
    for name, data in sorted(members.items()):
        texts = _readable(name, data)
        if not texts:
            continue
        kinds = set()
        for secret, variants in forms:
            if secret.kind in kinds:
                continue
            if any(variant in text for text in texts for variant in variants):
                kinds.add(secret.kind)
        leaks.extend(Leak(name, kind) for kind in sorted(kinds))
    return leaks


def _forms(value: str) -> set[str]:
    return {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1], html.escape(value)}


def _readable(name: str, data: bytes) -> list[str]:
    kind = sniff(data)
    if kind == "zstd":
        try:
            data = unzstd(data, name)
        except ValueError:
            return [data.decode("latin-1")]
        kind = sniff(data)
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
        kind = sniff(data)
    if kind in BINARY_KINDS or kind == "zip":
        return []  # images: pixels are not searched (the README says so)
    text = data.decode("utf-8", errors="replace")
    texts = [text, html.unescape(text)]
    if kind == "json":
        with contextlib.suppress(orjson.JSONDecodeError):
            texts.append("\n".join(_strings(orjson.loads(data))))
    return texts


def _strings(value: object) -> list[str]:
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            out.extend(k for k in item if isinstance(k, str))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out

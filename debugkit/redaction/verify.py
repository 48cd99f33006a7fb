"""Fail closed: search every member of a bundle for every secret value collected, and for secret shapes.

A member is searched as written, HTML-unescaped, JSON-decoded (strings inside), and as the
URL-encoded and JSON-escaped forms of each value; then for what :mod:`debugkit.redaction.scan`
recognises without knowing the value (card numbers, credentials in header lines, JWTs, secret
``key=value`` pairs). Compressed members are decompressed first, and so are the compressed data blocks
of an HTML report (:mod:`debugkit.report.embedded`: the network panel's rows), whose strings are searched
with the page's text. An image passes only when the masking stage produced it (its hash is in
``cleared_images``); the text chunks of a PNG are searched like text. Findings name the member and the
kind of secret, never the value.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import html
import json
import re
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

import orjson

from debugkit.api.content import PNG_MAGIC, sniff, unzstd
from debugkit.parsers.har import entry_slices
from debugkit.redaction import scan
from debugkit.redaction.collect import Secret
from debugkit.redaction.literals import Literals
from debugkit.report import embedded

IMAGE_KINDS = frozenset({"png", "jpeg", "webp", "gif"})
_TEXT_CHUNKS = (b"tEXt", b"iTXt", b"zTXt")
MAX_CHUNK_TEXT = 1 << 20
# A JSON string literal holding at least one backslash escape (in valid JSON nothing between literals has a quote
# or a backslash, so a match starts at a literal's opening quote).
_ESCAPED_LITERAL = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)+"', re.DOTALL)
_LITERAL = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)  # a JSON string literal, quotes included
WHOLE = 8 << 20  # bytes: a member up to this size is searched as one text
WINDOW = 1 << 20  # bytes: a larger one a window at a time
OVERLAP = 64 << 10  # bytes: at least, between windows (so any value, and any shape up to this long, is in one)


@dataclass(frozen=True)
class Leak:
    member: str
    kind: str

    def __str__(self) -> str:
        if self.kind == "image":
            return f"{self.member} is an image the masking did not clear"
        if self.kind == "unreadable":
            return f"{self.member} could not be searched"
        return f"a {self.kind} value remains in {self.member}"


def verify_members(
    members: dict[str, bytes], secrets: list[Secret], cleared_images: Iterable[str] | None = None
) -> list[Leak]:
    """Every (member, kind) where a collected secret value or a secret shape is still readable.

    ``cleared_images``: sha256 hex digests of the images the masking stage produced; None skips the
    image check (tests of the text rules)."""
    leaks: list[Leak] = []
    cleared = set(cleared_images) if cleared_images is not None else None
    forms = {form: secret.kind for secret in secrets for form in _forms(secret.value)}
    known = Literals(forms)
    overlap = max([OVERLAP, *(4 * len(form) for form in forms)])  # bytes: a form is at most 4 per character
    for name, data in sorted(members.items()):
        kind = _kind(data)
        if kind in IMAGE_KINDS and cleared is not None and hashlib.sha256(data).hexdigest() not in cleared:
            leaks.append(Leak(name, "image"))
            continue
        kinds: set[str] = set()
        try:
            for text, shapes in _texts(name, data, kind, overlap):
                kinds.update(str(label) for label in known.labels_in(text))
                if shapes:  # the shapes: as written (the unescaped and decoded forms only add noise)
                    kinds.update(found.kind for found in scan.find(text))
                del text  # before the next is made
        except Exception:  # something that cannot be searched does not go out
            leaks.append(Leak(name, "unreadable"))
            continue
        leaks.extend(Leak(name, kind) for kind in sorted(kinds))
    return leaks


def _forms(value: str) -> set[str]:
    return {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1], html.escape(value)}


def _kind(data: bytes) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:4] == b"GIF8":
        return "gif"
    return sniff(data)


def _texts(name: str, data: bytes, kind: str, overlap: int) -> Iterator[tuple[str, bool]]:
    """The member's texts, one at a time (the last is dropped before the next is made): ``(text, shapes)``, where
    the known values are searched in every text and, when ``shapes``, the secret shapes too.

    A member up to :data:`WHOLE` bytes: as written, then HTML-unescaped; a report's compressed data blocks as
    :func:`_block_texts` reads them; for JSON every string decoded. A larger one (a long run's
    HAR) is read :data:`WINDOW` bytes at a time, each window overlapping the next by more than any value's longest
    form, and its JSON strings a slice of ``log.entries`` at a time: never the whole document as Python objects
    (several times the file)."""
    if kind == "zstd":
        data = unzstd(data, name)
        kind = _kind(data)
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
        kind = _kind(data)
    if kind == "png":
        yield _png_text(data), True
        return
    if kind in IMAGE_KINDS or kind == "zip":
        return  # pixels are the masking stage's job (and only its images pass, see verify_members)
    whole = len(data) <= WHOLE
    blocks = False
    for start in range(0, len(data), WHOLE if whole else WINDOW):
        window = data[start : start + (WHOLE if whole else WINDOW + overlap)].decode("utf-8", errors="replace")
        blocks = blocks or embedded.has_blocks(window)
        yield window, True
        yield html.unescape(window), False
        del window
    if blocks:  # a report's compressed data: its JSON text is read like the page (see _block_texts)
        for json_text in embedded.iter_json_texts(data):
            yield from _block_texts(json_text)
    if kind == "json":
        if whole:
            with contextlib.suppress(orjson.JSONDecodeError):
                yield "\n".join(_strings(orjson.loads(data))), False
            return
        for strings in _json_strings(data):
            yield "\n".join(strings), False


def _block_texts(json_text: bytes) -> Iterator[tuple[str, bool]]:
    """A data block's JSON text as written and HTML-unescaped (known values), its string literals alone, one a line
    (shapes: numbers and structure would only add noise), and the literals that hold an escape, decoded.

    Every string of the document is in the text as it is, unless the JSON escapes one of its characters
    (``"``, ``\\``, control characters: orjson writes the rest, non-ASCII too, as it is); those few are decoded and
    searched as well. So every known value and every shape inside a string is found as in the decoded strings,
    without the document as Python objects (a long run's rows: 3 MB of text, tens of MB as objects)."""
    text = json_text.decode("utf-8", errors="replace")
    yield text, False
    yield html.unescape(text), False
    del text
    yield b"\n".join(_LITERAL.findall(json_text)).decode("utf-8", errors="replace"), True
    escaped = [orjson.loads(found.group(0)) for found in _ESCAPED_LITERAL.finditer(json_text)]
    if escaped:
        decoded = "\n".join(value for value in escaped if isinstance(value, str))
        yield decoded, True
        yield html.unescape(decoded), False


def _json_strings(data: bytes) -> Iterator[list[str]]:
    """Every string of a JSON document (keys too): a slice of a HAR's entries at a time, else all at once."""
    sliced = entry_slices(data)
    if sliced is not None:
        skeleton, slices = sliced
        yield _strings(skeleton)
        try:
            for chunk in slices:
                yield _strings(chunk)
            return
        except orjson.JSONDecodeError:
            pass  # a slice that does not parse: the document as a whole, below
    with contextlib.suppress(orjson.JSONDecodeError):
        yield _strings(orjson.loads(data))


def _png_text(data: bytes) -> str:
    """The text chunks of a PNG (metadata could carry anything), decompressed where compressed."""
    out: list[str] = []
    position = len(PNG_MAGIC)
    while position + 8 <= len(data):
        length, chunk = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        if chunk in _TEXT_CHUNKS:
            if chunk == b"zTXt" and b"\x00" in body:
                key, _, rest = body.partition(b"\x00")
                body = key + b"\x00" + zlib.decompressobj().decompress(rest[1:], MAX_CHUNK_TEXT)
            out.append(body.decode("utf-8", errors="replace"))
        if chunk == b"IEND":
            break
        position += 12 + length
    return "\n".join(out)


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

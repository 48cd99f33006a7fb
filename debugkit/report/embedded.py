"""Data embedded in the HTML report, compressed: how it is written, and how to read it back.

A block is a hidden ``<div>`` whose text is the base64 of a gzip-compressed JSON document::

    <div hidden id="net-data" data-encoding="gzip+base64" data-format="debugkit.network/1">H4sI...</div>

The page script reads it with ``DecompressionStream("gzip")`` (no request is made: the CSP allows
none); :func:`read_blocks` is the same in Python, for the bundle's fail-closed check (which must see
inside it, since a secret compressed is not a secret found) and for tests. Base64 text needs no
escaping in HTML, and gzip is written with a fixed time, so the same run gives the same bytes.
"""

from __future__ import annotations

import base64
import gzip
import io
import re
from collections.abc import Iterator
from typing import Any

import orjson

__all__ = ["ENCODING", "decode", "encode", "has_blocks", "inflate", "iter_json_texts", "read_blocks"]

ENCODING = "gzip+base64"
_BLOCK = re.compile(
    r"<div\b[^>]*\bdata-encoding=\"gzip\+base64\"[^>]*>([A-Za-z0-9+/=\s]*)</div>", re.IGNORECASE
)
_BLOCK_BYTES = re.compile(_BLOCK.pattern.encode("ascii"), re.IGNORECASE)
MAX_DECODED = 512 * 1024 * 1024  # a block that inflates beyond this is not read (it would not be ours)


def encode(document: Any) -> str:
    """``document`` as JSON, gzip-compressed (fixed time), base64-encoded."""
    return base64.b64encode(gzip.compress(orjson.dumps(document), compresslevel=6, mtime=0)).decode("ascii")


def decode(text: str) -> Any:
    """The JSON document of an :func:`encode` text; ValueError when it is not one."""
    data = inflate(text)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"embedded data block is not JSON: {exc}") from None


def inflate(text: str | bytes) -> bytes:
    """The JSON text (UTF-8) of an :func:`encode` text, not parsed; ValueError when it is not one."""
    try:
        compressed = base64.b64decode(b"".join(text.split()) if isinstance(text, bytes) else "".join(text.split()),
                                      validate=True)
        with gzip.GzipFile(fileobj=io.BytesIO(compressed)) as stream:
            data = stream.read(MAX_DECODED + 1)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"not an embedded data block: {exc}") from None
    if len(data) > MAX_DECODED:
        raise ValueError("embedded data block too large")
    return data


def iter_json_texts(html: str | bytes) -> Iterator[bytes]:
    """Every embedded block's JSON text, inflated but not parsed, one at a time (the bundle's check reads it as text:
    a long run's network rows are 3 MB of text, and tens of MB as Python objects)."""
    pattern = _BLOCK_BYTES if isinstance(html, bytes) else _BLOCK
    for match in pattern.finditer(html):
        yield inflate(match.group(1))


def read_blocks(html: str) -> list[Any]:
    """Every embedded block of a report page, decoded; ValueError when one cannot be."""
    return [decode(match.group(1)) for match in _BLOCK.finditer(html)]


def has_blocks(html: str) -> bool:
    return 'data-encoding="gzip+base64"' in html

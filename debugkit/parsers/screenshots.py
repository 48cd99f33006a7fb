"""Check a screenshot artifact with Pillow and describe it as a :class:`Screenshot`.

Skyvern's screenshots are PNGs (Playwright's default); JPEG and WebP are accepted too. The image
is verified (structure and checksums) and then decoded in full, so a truncated file is caught; a plain PNG's
image data is inflated and its rows checked instead, which proves the same at half the cost
(:func:`_plain_png_decodes`).
Anything unreadable, including a decompression bomb, gives a ``Screenshot`` whose ``error`` is a
one-line reason; :func:`read_screenshot` never raises.

In two halves for a loader with many screenshots: :func:`open_screenshot` reads the header (size; a
decompression bomb refused) on the caller's thread, :func:`check_pixels` verifies and decodes, and may run
on a worker thread (Pillow decodes without holding the interpreter), so a long run's hundred screenshots are
decoded while its HAR is parsed.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from typing import Any

from PIL import Image

from debugkit.model import Screenshot
from debugkit.text import clip

__all__ = ["read_screenshot"]

FORMATS = ("PNG", "JPEG", "WEBP")
_REASON_LIMIT = 200


def read_screenshot(data: bytes, **fields: Any) -> Screenshot:
    """Describe ``data`` as a screenshot: size when readable, else ``error`` (``fields``: ``artifact_type``,
    ``name``, ``artifact_id``, ``index``, as :func:`open_screenshot` takes them).

    ``data`` is kept on the result only when the image is readable, so a broken file is never
    embedded in a report.
    """
    shot = open_screenshot(data, **fields)
    check_pixels(shot)
    return shot


def open_screenshot(
    data: bytes,
    *,
    artifact_type: str,
    name: str,
    artifact_id: str | None = None,
    index: int | None = None,
) -> Screenshot:
    """The first half of :func:`read_screenshot`: the header read (format, size, no decompression bomb), ``data``
    kept; :func:`check_pixels` must follow before the screenshot is used. Never raises."""
    shot = Screenshot(artifact_type=artifact_type, name=name, artifact_id=artifact_id, index=index)
    if not isinstance(data, bytes | bytearray | memoryview):
        shot.error = f"not image bytes ({type(data).__name__})"
        return shot
    data = bytes(data)
    shot.size_bytes = len(data)
    if not data:
        shot.error = "empty file"
        return shot
    try:
        shot.width, shot.height = _header_size(data)
    except Exception as exc:  # the contract is "never raises": every failure is a reason
        shot.error = _reason(exc)
        return shot
    shot.data = data
    return shot


def check_pixels(shot: Screenshot) -> None:
    """The second half of :func:`read_screenshot`: verify and decode every pixel of ``shot.data``; when that fails,
    ``error`` says why and the bytes and size are dropped. Never raises; safe on any thread (no warnings filter)."""
    if shot.data is None or shot.error:
        return
    try:
        with Image.open(io.BytesIO(shot.data), formats=FORMATS) as image:
            image.verify()  # structure and checksums; the image object is unusable afterwards
        if _plain_png_decodes(shot.data):
            return
        with Image.open(io.BytesIO(shot.data), formats=FORMATS) as image:
            image.load()  # decodes every pixel: a truncated file fails here
    except Exception as exc:  # every failure is a reason
        shot.error = _reason(exc)
        shot.data = None
        shot.width = shot.height = None


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}  # bits per sample allowed
_INFLATE_STEP = 1 << 18  # bytes of pixel rows inflated at a time


def _plain_png_decodes(data: bytes) -> bool:
    """True when ``data`` (a PNG whose chunks :meth:`Image.verify` has checked) is a plain one that decodes: not
    interlaced, not animated, a palette before the image data if it has colours by index, its image data one
    complete zlib stream of exactly the rows its header announces, each with a known filter. What a full decode
    would prove of such a file, at about half the cost (no pixels reconstructed: a long run's hundred screenshots are
    checked while it is read). False for anything else, damaged or merely unusual: the caller then decodes it with
    Pillow, which says what is wrong, if anything."""
    if data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR" or len(data) < 33:
        return False
    width, height, depth, colour, _compression, _filter, interlace = struct.unpack(">IIBBBBB", data[16:29])
    channels = _PNG_CHANNELS.get(colour)
    if channels is None or depth not in _PNG_DEPTHS[colour] or interlace != 0 or not width or not height:
        return False
    stride = 1 + (width * channels * depth + 7) // 8  # a filter byte, then the row's samples
    palette = colour != 3
    expected = stride * height
    inflate = zlib.decompressobj()
    view = memoryview(data)
    produced = 0
    position = 8
    try:
        while position + 8 <= len(data):
            length, kind = struct.unpack(">I4s", data[position : position + 8])
            body = view[position + 8 : position + 8 + length]
            position += 12 + length
            if kind == b"IEND":
                break
            if kind in (b"acTL", b"fcTL", b"fdAT"):
                return False  # animated: Pillow's business
            palette = palette or kind == b"PLTE"
            if kind != b"IDAT":
                continue
            if not palette:
                return False
            pending = body
            while pending:
                rows = inflate.decompress(pending, _INFLATE_STEP)
                pending = inflate.unconsumed_tail
                first = -produced % stride  # the first filter byte in this piece
                if produced + len(rows) > expected or max(rows[first::stride], default=0) > 4:
                    return False
                produced += len(rows)
    except zlib.error:
        return False
    return inflate.eof and not inflate.unused_data and produced == expected


def _header_size(data: bytes) -> tuple[int, int]:
    """The image's ``(width, height)`` from its header.

    Pillow's decompression-bomb warning is raised as an error, so an image too large to decode
    safely is refused rather than decoded (:func:`check_pixels` then has nothing to do).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            return image.size


def _reason(exc: BaseException) -> str:
    """A one-line, bounded description of why the image cannot be read."""
    if isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
        detail = "image too large to decode safely (possible decompression bomb)"
    elif isinstance(exc, Image.UnidentifiedImageError):
        detail = f"not a {'/'.join(FORMATS)} image"
    else:
        text = clip(str(exc), _REASON_LIMIT)
        kind = "truncated image" if "truncat" in text.lower() else "unreadable image"
        detail = f"{kind}: {text}" if text else f"{kind} ({type(exc).__name__})"
    return clip(detail, _REASON_LIMIT)

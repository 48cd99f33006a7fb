"""Check a screenshot artifact with Pillow and describe it as a :class:`Screenshot`.

Skyvern's screenshots are PNGs (Playwright's default); JPEG and WebP are accepted too. The image
is verified (structure and checksums) and then decoded in full, so a truncated file is caught.
Anything unreadable, including a decompression bomb, gives a ``Screenshot`` whose ``error`` is a
one-line reason; :func:`read_screenshot` never raises.

In two halves for a loader with many screenshots: :func:`open_screenshot` reads the header (size; a
decompression bomb refused) on the caller's thread, :func:`check_pixels` verifies and decodes, and may run
on a worker thread (Pillow decodes without holding the interpreter), so a long run's hundred screenshots are
decoded while its HAR is parsed.
"""

from __future__ import annotations

import io
import warnings
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
        with Image.open(io.BytesIO(shot.data), formats=FORMATS) as image:
            image.load()  # decodes every pixel: a truncated file fails here
    except Exception as exc:  # every failure is a reason
        shot.error = _reason(exc)
        shot.data = None
        shot.width = shot.height = None


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

"""Check a screenshot artifact with Pillow and describe it as a :class:`Screenshot`.

Skyvern's screenshots are PNGs (Playwright's default); JPEG and WebP are accepted too. The image
is verified (structure and checksums) and then decoded in full, so a truncated file is caught.
Anything unreadable, including a decompression bomb, gives a ``Screenshot`` whose ``error`` is a
one-line reason; :func:`read_screenshot` never raises.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image

from debugkit.model import Screenshot
from debugkit.text import clip

__all__ = ["read_screenshot"]

FORMATS = ("PNG", "JPEG", "WEBP")
_REASON_LIMIT = 200


def read_screenshot(
    data: bytes,
    *,
    artifact_type: str,
    name: str,
    artifact_id: str | None = None,
    index: int | None = None,
) -> Screenshot:
    """Describe ``data`` as a screenshot: size when readable, else ``error``.

    ``data`` is kept on the result only when the image is readable, so a broken file is never
    embedded in a report.
    """
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
        shot.width, shot.height = _checked_size(data)
    except Exception as exc:  # the contract is "never raises": every failure is a reason
        shot.error = _reason(exc)
        return shot
    shot.data = data
    return shot


def _checked_size(data: bytes) -> tuple[int, int]:
    """Verify, then fully decode the image; return ``(width, height)``.

    Pillow's decompression-bomb warning is raised as an error, so an image too large to decode
    safely is refused rather than decoded.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            image.verify()  # structure and checksums; the image object is unusable afterwards
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            image.load()  # decodes every pixel: a truncated file fails here
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

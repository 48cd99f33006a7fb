"""Tests of debugkit.parsers.screenshots: real PNGs, damaged images, decompression bombs."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from debugkit.parsers.screenshots import read_screenshot

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real"
KW = {"artifact_type": "screenshot_llm", "name": "screenshot_llm.png"}


def _real_png() -> bytes:
    return sorted((REAL / "checkout_500" / "artifact_files").glob("*__screenshot_llm__*.png"))[0].read_bytes()


def _png(size: tuple[int, int], mode: str = "RGB", fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, fmt)
    return buf.getvalue()


def test_real_png() -> None:
    data = _real_png()
    shot = read_screenshot(data, artifact_type="screenshot_llm", name="a.png", artifact_id="a_1", index=2)
    assert (shot.width, shot.height) == (1280, 800)
    assert shot.error is None
    assert shot.size_bytes == len(data) and shot.data == data
    assert (shot.artifact_type, shot.name, shot.artifact_id, shot.index) == ("screenshot_llm", "a.png", "a_1", 2)


def test_truncated_png() -> None:
    data = _real_png()
    shot = read_screenshot(data[: len(data) // 2], **KW)
    assert shot.error is not None and shot.error.startswith("truncated image")
    assert shot.width is None and shot.height is None and shot.data is None
    assert shot.size_bytes == len(data) // 2


def test_corrupt_png_checksum() -> None:
    data = bytearray(_real_png())
    data[len(data) // 2] ^= 0xFF
    shot = read_screenshot(bytes(data), **KW)
    assert shot.error is not None and "\n" not in shot.error and shot.data is None


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", "empty file"),
        (os.urandom(4096), "not a PNG/JPEG/WEBP image"),
        (b"\x89PNG\r\n\x1a\n", "not a PNG/JPEG/WEBP image"),
        (b"<html>not an image</html>", "not a PNG/JPEG/WEBP image"),
    ],
)
def test_unreadable_inputs(data: bytes, error: str) -> None:
    shot = read_screenshot(data, **KW)
    assert shot.error == error
    assert shot.width is None and shot.data is None and shot.size_bytes == len(data)


def test_jpeg_accepted_gif_refused() -> None:
    assert read_screenshot(_png((30, 20), fmt="JPEG"), **KW).width == 30
    assert read_screenshot(_png((30, 20), fmt="GIF"), **KW).error == "not a PNG/JPEG/WEBP image"


@pytest.mark.parametrize("size", [(40, 40), (100, 100)])  # over the limit (warning), over twice it (error)
def test_decompression_bomb_is_refused(size: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    shot = read_screenshot(_png(size, mode="1"), **KW)
    assert shot.error == "image too large to decode safely (possible decompression bomb)"
    assert shot.width is None and shot.data is None


def test_not_bytes_never_raises() -> None:
    shot = read_screenshot(None, **KW)  # type: ignore[arg-type]
    assert shot.error == "not image bytes (NoneType)"

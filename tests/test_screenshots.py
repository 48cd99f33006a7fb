"""Tests of debugkit.parsers.screenshots: real PNGs, damaged images, decompression bombs."""

from __future__ import annotations

import io
import os
import random
import struct
import zlib
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


# --- the quick check of plain PNGs: the same verdict as a full decode ----------------------------------------


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    chunks, position = [], 8
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        chunks.append((png[position + 4 : position + 8], png[position + 8 : position + 8 + length]))
        position += 12 + length
    return chunks


def _build(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A PNG of these chunks, every checksum right (damage Pillow's verify() cannot see)."""
    out = b"\x89PNG\r\n\x1a\n"
    for kind, body in chunks:
        out += struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return out


def _with_rows(png: bytes, change) -> bytes:  # noqa: ANN001 - rows -> rows
    chunks = _chunks(png)
    rows = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    out, placed = [], False
    for kind, body in chunks:
        if kind != b"IDAT":
            out.append((kind, body))
        elif not placed:
            out.append((kind, zlib.compress(change(rows))))
            placed = True
    return _build(out)


def _decodes_fully(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except Exception:  # noqa: BLE001 - any failure is "does not decode"
        return False
    return True


def _variants() -> dict[str, bytes]:
    rng = random.Random(5)
    images: dict[str, bytes] = {}
    for mode in ("RGB", "RGBA", "L", "LA", "P", "1", "I;16"):
        picture = Image.frombytes("RGB", (37, 23), bytes(rng.randrange(256) for _ in range(37 * 23 * 3)))
        buf = io.BytesIO()
        (picture.convert(mode) if mode != "I;16" else picture.convert("L").convert("I;16")).save(buf, "PNG")
        images[mode] = buf.getvalue()
    for bits in (1, 2, 4):
        buf = io.BytesIO()
        Image.new("P", (37, 23), 1).save(buf, "PNG", bits=bits)
        images[f"P{bits}"] = buf.getvalue()
    buf = io.BytesIO()
    frames = [Image.new("RGB", (20, 10), colour) for colour in ("red", "blue")]
    frames[0].save(buf, "PNG", save_all=True, append_images=frames[1:])
    images["animated"] = buf.getvalue()
    images["real"] = _real_png()
    damaged: dict[str, bytes] = {}
    for name, png in images.items():
        if name == "animated":
            continue
        stride = len(zlib.decompress(b"".join(b for k, b in _chunks(png) if k == b"IDAT"))) // Image.open(
            io.BytesIO(png)).height
        damaged[f"{name} bad filter"] = _with_rows(png, lambda rows: bytes([7]) + rows[1:])
        damaged[f"{name} bad filter in the last row"] = _with_rows(
            png, lambda rows, s=stride: rows[: -s] + bytes([5]) + rows[-s + 1 :])
        damaged[f"{name} a row short"] = _with_rows(png, lambda rows, s=stride: rows[:-s])
        damaged[f"{name} a row long"] = _with_rows(png, lambda rows, s=stride: rows + bytes(s))
        chunks = _chunks(png)
        body = next(b for k, b in chunks if k == b"IDAT")
        broken = body[:6] + bytes(b ^ 0xFF for b in body[6:12]) + body[12:]
        damaged[f"{name} broken stream"] = _build([(k, broken if k == b"IDAT" else b) for k, b in chunks])
        damaged[f"{name} stream cut"] = _build([(k, b[: len(b) // 2] if k == b"IDAT" else b) for k, b in chunks])
        damaged[f"{name} data after the stream"] = _build([(k, b + b"junk" if k == b"IDAT" else b) for k, b in chunks])
        damaged[f"{name} no IEND"] = png[:-12]
    damaged["P without its palette"] = _build([(k, b) for k, b in _chunks(images["P"]) if k != b"PLTE"])
    return {**images, **damaged}


def test_the_quick_check_gives_a_full_decodes_verdict_on_every_variant() -> None:
    """Plain PNGs of every colour type and depth, an animated one, and the same with rows short or long, a filter
    Pillow does not know, a broken or cut zlib stream, trailing bytes, no IEND, a palette missing: each screenshot
    is refused exactly when Pillow cannot decode it (every checksum is right: only decoding tells)."""
    variants = _variants()
    refused = {name for name, data in variants.items() if read_screenshot(data, **KW).error is not None}
    undecodable = {name for name, data in variants.items() if not _decodes_fully(data)}
    assert refused == undecodable
    assert {"RGB bad filter", "RGB broken stream", "P4 bad filter in the last row"} <= refused
    assert "RGB" not in refused and "P2" not in refused and "real" not in refused


def test_a_plain_screenshot_is_checked_without_decoding_its_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import ImageFile

    def no_decoding(self):  # noqa: ANN001, ANN202 - Pillow's signature
        raise AssertionError("decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    shot = read_screenshot(_real_png(), **KW)
    assert shot.error is None and shot.data is not None
    damaged = _with_rows(_real_png(), lambda rows: bytes([9]) + rows[1:])
    assert read_screenshot(damaged, **KW).error is not None  # not plain: Pillow's decode is asked (and here fails)

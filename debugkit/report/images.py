"""Screenshots for the HTML report: re-encoded, scaled, embedded as ``data:`` URIs.

Every screenshot is decoded with Pillow and encoded afresh (WebP, or JPEG when this Pillow has no
WebP), so nothing from the original file but its pixels reaches the report (no metadata, no
trailing bytes). Each distinct image is encoded once, however often a run repeats it.

Two versions per image:

* a **thumbnail**, at most :data:`THUMB_WIDTH` pixels wide (a very tall page is cropped to
  :data:`THUMB_MAX_HEIGHT` from the top), always embedded;
* a **full-size** version, at most :data:`FULL_WIDTH` pixels wide, embedded while the report's
  image budget (:data:`IMAGE_BUDGET` characters of ``data:`` URIs, thumbnails included) allows.
  Images are offered in priority order (the failing step first), so the budget goes where a
  reader looks first. An image whose full-size version did not fit is shown large from its
  thumbnail, and the report says so.

A third kind, **element crops** (a small picture of the screenshot around one chosen element, its
box drawn, made by :func:`debugkit.locate.crop`), is registered with :meth:`ImageSet.add_crop` in
priority order. Crops are made after the thumbnails and before the full-size versions, and count in
the same budget: they are embedded while the budget allows and their own share of it
(:data:`CROP_BUDGET`) lasts; a crop marked ``essential`` (the report marks the decisive step's) is
always embedded, like a thumbnail. Each crop is checked with Pillow before it is embedded.

A screenshot that cannot be decoded gives an :class:`EncodedImage` with ``error`` set (the report
shows a named placeholder); nothing here raises.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from PIL import Image, features

from debugkit import allocator
from debugkit.model import Screenshot

__all__ = [
    "CROP_BUDGET",
    "CROP_FORMAT",
    "FULL_WIDTH",
    "IMAGE_BUDGET",
    "THUMB_WIDTH",
    "EncodedCrop",
    "EncodedImage",
    "ImageSet",
]

THUMB_WIDTH = 480
THUMB_MAX_HEIGHT = 960
THUMB_QUALITY = 60
FULL_WIDTH = 1280
FULL_MAX_HEIGHT = 8192
FULL_QUALITY = 72
# Characters of data: URIs per report, thumbnails first. A 5-step run with realistic, busy
# screenshots stays under 3 MB with its full-size versions (see bench/report.py).
IMAGE_BUDGET = 2_400_000
# Characters of element crops per report (a share of IMAGE_BUDGET): a crop is 5-40 kB, so dozens fit.
CROP_BUDGET = 400_000
_FORMATS = ("PNG", "JPEG", "WEBP")
_REASON_LIMIT = 200


def _output_format() -> tuple[str, str]:
    if features.check("webp"):
        return "WEBP", "image/webp"
    return "JPEG", "image/jpeg"  # pragma: no cover - depends on how Pillow was built


# What debugkit.locate.crop is asked for (it writes WebP or PNG).
CROP_FORMAT = "WEBP" if features.check("webp") else "PNG"
_CROP_MIME = {"WEBP": "image/webp", "PNG": "image/png"}


@dataclass
class EncodedImage:
    key: str  # the source bytes' hash: the same picture has the same key
    width: int | None = None  # of the source
    height: int | None = None
    thumb: str | None = None  # data: URI
    thumb_width: int | None = None
    thumb_height: int | None = None
    cropped: bool = False  # the thumbnail shows only the top of a tall page
    full: str | None = None  # data: URI of the full-size version, when it fitted the budget
    full_width: int | None = None
    full_height: int | None = None
    full_omitted: bool = False  # a bigger version exists but did not fit the budget
    error: str | None = None


@dataclass
class EncodedCrop:
    """An element crop: its ``data:`` URI and size, or why it is not in the page."""

    key: str
    src: str | None = None  # data: URI
    width: int | None = None
    height: int | None = None
    omitted: bool = False  # made, but it did not fit the budget
    error: str | None = None  # could not be made (no picture of that screenshot)
    essential: bool = False


class ImageSet:
    """The report's images: add screenshots in priority order, then :meth:`encode` once."""

    def __init__(self, budget: int = IMAGE_BUDGET, workers: int | None = None, crop_budget: int = CROP_BUDGET) -> None:
        self.budget = budget
        self.crop_budget = crop_budget
        self.workers = workers or min(8, os.cpu_count() or 1)
        self._images: dict[str, EncodedImage] = {}
        self._data: dict[str, bytes] = {}
        self._order: list[str] = []
        self._by_shot: dict[int, str] = {}
        self._uses: dict[str, int] = {}
        self._errors: dict[int, EncodedImage] = {}
        self._crops: dict[str, EncodedCrop] = {}
        self._crop_makers: dict[str, Callable[[], bytes | None]] = {}
        self._crop_uses: dict[str, int] = {}
        self.encoded = False
        self._pool: ThreadPoolExecutor | None = None  # while encoding

    def add(self, shot: Screenshot) -> None:
        """Register a screenshot; the first registration decides its priority."""
        if id(shot) in self._by_shot or id(shot) in self._errors:
            return
        if shot.data is None or shot.error:
            self._errors[id(shot)] = EncodedImage(key="", error=shot.error or "no image data")
            return
        key = hashlib.sha256(shot.data).hexdigest()[:20]
        self._by_shot[id(shot)] = key
        self._uses[key] = self._uses.get(key, 0) + 1
        if key not in self._images:
            self._images[key] = EncodedImage(key=key, width=shot.width, height=shot.height)
            self._data[key] = shot.data
            self._order.append(key)

    def get(self, shot: Screenshot) -> EncodedImage:
        if id(shot) in self._errors:
            return self._errors[id(shot)]
        key = self._by_shot.get(id(shot))
        if key is None:
            return EncodedImage(key="", error="screenshot was not prepared for the report")
        return self._images[key]

    def add_crop(self, key: str, make: Callable[[], bytes | None], *, essential: bool = False) -> None:
        """Register an element crop (``make()`` returns PNG/WebP bytes or None), in priority order.

        ``key`` names the picture (the same key is made once and shown as often as it is registered);
        an ``essential`` crop is embedded whatever the budget."""
        if key in self._crops:
            self._crop_uses[key] += 1
            self._crops[key].essential = self._crops[key].essential or essential
            return
        self._crops[key] = EncodedCrop(key=key, essential=essential)
        self._crop_makers[key] = make
        self._crop_uses[key] = 1

    def get_crop(self, key: str) -> EncodedCrop:
        return self._crops.get(key) or EncodedCrop(key=key, error="crop was not prepared for the report")

    def crops(self) -> list[EncodedCrop]:
        return list(self._crops.values())

    def images(self) -> list[EncodedImage]:
        """Every distinct image, in priority order."""
        return [self._images[key] for key in self._order]

    @property
    def total_size(self) -> int:
        """Characters of data: URIs in the page: each thumbnail and crop as often as it is shown, each full
        version once."""
        images = sum(len(i.thumb or "") * self._uses[k] + len(i.full or "") for k, i in self._images.items())
        return images + self.crop_size

    @property
    def crop_size(self) -> int:
        return sum(len(c.src or "") * self._crop_uses[k] for k, c in self._crops.items())

    def encode(self) -> None:
        """Thumbnails for all, then full-size versions in priority order while the budget allows."""
        if self.encoded:
            return
        self.encoded = True
        if self.workers > 1:  # one pool for every batch (Pillow releases the GIL while coding)
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                self._pool = pool
                try:
                    self._encode()
                finally:
                    self._pool = None
        else:
            self._encode()
        allocator.trim()  # the CLI's process: the decoded screenshots, freed, go back before the page is built

    def _encode(self) -> None:
        keys = list(self._order)
        for key, result in zip(keys, self._map(_encode_thumb, keys), strict=True):
            image = self._images[key]
            if isinstance(result, str):
                image.error = result
                continue
            image.thumb, image.thumb_width, image.thumb_height, image.cropped, (image.width, image.height) = result
        self._encode_crops()
        remaining = self.budget - self.total_size
        wanted = [k for k in keys if self._wants_full(self._images[k])]
        chunk = max(1, self.workers)
        for start in range(0, len(wanted), chunk):
            if remaining <= 0:  # strict priority: once one does not fit, later images do not jump the queue
                for key in wanted[start:]:
                    self._images[key].full_omitted = True
                break
            batch = wanted[start : start + chunk]
            for key, result in zip(batch, self._map(_encode_full, batch), strict=True):
                image = self._images[key]
                if isinstance(result, str) or remaining <= 0 or len(result[0]) > remaining:
                    image.full_omitted = True
                    remaining = 0
                    continue
                image.full, image.full_width, image.full_height = result
                remaining -= len(result[0])
        for key in keys:  # nothing more to encode: drop the source bytes
            self._data.pop(key, None)

    def _encode_crops(self) -> None:
        """Make the crops (in parallel batches) and embed them in priority order while the budgets allow;
        once one does not fit, the later ones are not even made (essential ones always are)."""
        room = min(self.crop_budget, self.budget - self.total_size)
        pending = list(self._crops)
        chunk = max(1, self.workers)
        while pending:
            if room <= 0:
                for key in pending:
                    if not self._crops[key].essential:
                        self._crops[key].omitted = True
                        self._crop_makers.pop(key, None)
                pending = [key for key in pending if self._crops[key].essential]
                if not pending:
                    break
            batch, pending = pending[:chunk], pending[chunk:]
            makers = [self._crop_makers.pop(key) for key in batch]
            if len(makers) == 1 or self._pool is None:
                results = [_make_crop(make) for make in makers]
            else:
                results = list(self._pool.map(_make_crop, makers))
            for key, result in zip(batch, results, strict=True):
                crop = self._crops[key]
                if isinstance(result, str):
                    crop.error = result
                    continue
                src, width, height = result
                cost = len(src) * self._crop_uses[key]
                if not crop.essential and (room <= 0 or cost > room):
                    crop.omitted = True
                    room = 0  # strict priority, as for the full-size versions
                    continue
                crop.src, crop.width, crop.height = src, width, height
                room -= cost

    @staticmethod
    def _wants_full(image: EncodedImage) -> bool:
        if image.error or image.thumb is None:
            return False
        return image.cropped or (image.width or 0) > (image.thumb_width or 0)

    def _map(self, func, keys: Iterable[str]) -> list:
        items = [self._data[key] for key in keys]
        if self._pool is None or len(items) <= 1:
            return [func(data) for data in items]
        return list(self._pool.map(func, items))


def _open(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data), formats=_FORMATS)
        image.load()
    if image.mode not in ("RGB", "L"):
        if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            background = Image.new("RGB", rgba.size, (255, 255, 255))
            background.paste(rgba, mask=rgba.getchannel("A"))
            image = background
        else:
            image = image.convert("RGB")
    return image


def _scaled(
    image: Image.Image, max_width: int, max_height: int, *, crop: bool, gap: float = 2.0
) -> tuple[Image.Image, bool]:
    """Scaled down to fit (a tall page cropped from the top when ``crop``). ``gap``: Pillow's
    ``reducing_gap`` (1.0 halves a screenshot by averaging before the Lanczos step: twice as fast, and as
    sharp at thumbnail size)."""
    width, height = image.size
    scale = min(1.0, max_width / width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    cropped = False
    if new_h > max_height:
        if crop:  # keep the top of the page at thumbnail width
            source_h = max(1, round(max_height / scale))
            image = image.crop((0, 0, width, min(height, source_h)))
            new_h = max_height
            cropped = True
        else:
            scale = max_height / height
            new_w, new_h = max(1, round(width * scale)), max_height
    if (new_w, new_h) != image.size:
        image = image.resize((new_w, new_h), Image.Resampling.LANCZOS, reducing_gap=gap)
    return image, cropped


def _data_uri(image: Image.Image, quality: int) -> str:
    fmt, mime = _output_format()
    buffer = io.BytesIO()
    if fmt == "WEBP":
        image.save(buffer, fmt, quality=quality, method=2)
    else:  # pragma: no cover - depends on how Pillow was built
        image.save(buffer, fmt, quality=quality, optimize=True, progressive=True)
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def _encode_thumb(data: bytes) -> tuple[str, int, int, bool, tuple[int, int]] | str:
    try:
        image = _open(data)
        size = image.size
        thumb, cropped = _scaled(image, THUMB_WIDTH, THUMB_MAX_HEIGHT, crop=True, gap=1.0)
        return _data_uri(thumb, THUMB_QUALITY), thumb.width, thumb.height, cropped, size
    except Exception as exc:  # a placeholder in the report, never a crash
        return _reason(exc)


def _encode_full(data: bytes) -> tuple[str, int, int] | str:
    try:
        image, _ = _scaled(_open(data), FULL_WIDTH, FULL_MAX_HEIGHT, crop=False)
        return _data_uri(image, FULL_QUALITY), image.width, image.height
    except Exception as exc:
        return _reason(exc)


def _make_crop(make: Callable[[], bytes | None]) -> tuple[str, int, int] | str:
    """A crop's data: URI and size, after checking with Pillow that it is the picture it claims to be."""
    try:
        data = make()
        if not data:
            return "no picture of that screenshot"
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=tuple(_CROP_MIME)) as image:
                image.load()
                fmt, (width, height) = image.format or "", image.size
        mime = _CROP_MIME.get(fmt)
        if mime is None:  # pragma: no cover - Image.open accepted only these formats
            return "not a PNG/WebP picture"
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}", width, height
    except Exception as exc:  # a line of text in the report instead, never a crash
        return _reason(exc)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
        text = "image too large to decode safely"
    elif isinstance(exc, Image.UnidentifiedImageError):
        text = "not a PNG/JPEG/WebP image"
    else:
        detail = " ".join(str(exc).split())
        text = f"unreadable image: {detail}" if detail else f"unreadable image ({type(exc).__name__})"
    return text if len(text) <= _REASON_LIMIT else text[: _REASON_LIMIT - 1] + "…"

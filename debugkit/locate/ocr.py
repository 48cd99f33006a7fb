"""Read the words on a screenshot with Tesseract (Debian's ``tesseract-ocr``), with their boxes.

Used where text is the only handle on an element (``debugkit.locate.screen``). The ``tesseract`` program is
run directly (``$DEBUGKIT_TESSERACT`` or the one on ``PATH``), one thread (``OMP_THREAD_LIMIT=1``: with
OpenMP on two cores it is five times slower), on the image with its polarity evened out (``|grey - local
background|``, so white text on a dark button reads like dark text on white). Nothing here raises: without
Tesseract, or on a failure, :func:`encode` or :func:`read_png` returns None and :func:`unavailable_reason` says why.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from debugkit.locate.heavy import heavy

TESSERACT_ENV = "DEBUGKIT_TESSERACT"
TIMEOUT_S = 20
MIN_CONFIDENCE = 30.0
MAX_RADIUS = 18  # px: the largest rounded corner cleared inside a box
MIN_CONTRAST = 40.0  # grey levels: inside a box, smaller differences from its fill are not stretched to black


@dataclass
class Word:
    text: str
    box: tuple[int, int, int, int]  # x, y, w, h in the image given to encode
    line: tuple[int, int, int]  # (block, paragraph, line): words of one line share it
    confidence: float


def tesseract_path() -> str | None:
    configured = os.environ.get(TESSERACT_ENV)
    if configured:
        return configured if os.path.isfile(configured) and os.access(configured, os.X_OK) else None
    return shutil.which("tesseract")


def unavailable_reason() -> str | None:
    if tesseract_path() is None:
        return "no tesseract program (apt-get install tesseract-ocr, or set DEBUGKIT_TESSERACT)"
    return None


def even_polarity(grey: Any) -> Any:
    """Dark text on white, whatever the text's and background's colours (a uint8 numpy array)."""
    import cv2

    background = cv2.medianBlur(grey, 31)
    return 255 - cv2.absdiff(grey, background)


@heavy
def even_widgets(grey: Any, widgets: list[Any]) -> Any:
    """Dark text on white, using the boxes the page draws (:mod:`debugkit.locate.widgets`): inside each one the
    text is what differs from its flat fill (white on an orange button reads as dark on white), and its border is
    painted out (a field's outline touching the label above it is no longer read as part of a glyph). Elsewhere,
    :func:`even_polarity`. Larger boxes first, so a button inside a card keeps its own fill."""
    import numpy as np

    out = even_polarity(grey)  # uint8: no full-size float copies (a reader thread each, on big screenshots)
    for widget in sorted(widgets, key=lambda w: -w.area):
        x, y, w, h = widget.box
        out[y : y + h, x : x + w] = 255
        ix, iy, iw, ih = widget.inner
        inside = grey[iy : iy + ih, ix : ix + iw].astype(np.float32)
        if inside.size == 0:
            continue
        diff = np.abs(inside - float(np.median(inside)))
        _clear_corners(diff)
        shade = 255 - diff * (255 / max(MIN_CONTRAST, float(diff.max())))
        out[iy : iy + ih, ix : ix + iw] = np.clip(shade, 0, 255).astype(np.uint8)
    return out


def _clear_corners(diff: Any) -> None:
    """Rounded corners: what lies outside a quarter circle in each corner of a box is the page, not text."""
    import numpy as np

    height, width = diff.shape
    radius = min(MAX_RADIUS, height // 2, width // 2)
    if radius < 2:
        return
    ys, xs = np.mgrid[0:radius, 0:radius]
    outside = (xs + 0.5 - radius) ** 2 + (ys + 0.5 - radius) ** 2 > radius**2
    diff[:radius, :radius][outside] = 0
    diff[:radius, -radius:][outside[:, ::-1]] = 0
    diff[-radius:, :radius][outside[::-1, :]] = 0
    diff[-radius:, -radius:][outside[::-1, ::-1]] = 0


def encode(grey: Any, *, prepared: bool = False) -> bytes | None:
    """The PNG :func:`read_png` hands Tesseract, of a greyscale image (uint8 numpy array); None when there is nothing
    to read or no Tesseract to read it. ``prepared``: the image already shows dark text on white
    (:func:`even_widgets`); else :func:`even_polarity` is applied first. The image work of a read, apart from its wait
    for Tesseract (:mod:`debugkit.locate.onscreen` does it on the thread that asks, or on a reader thread)."""
    import cv2

    if tesseract_path() is None or grey.size == 0:
        return None
    ok, png = cv2.imencode(".png", grey if prepared else even_polarity(grey))
    return png.tobytes() if ok else None


def read_png(png: bytes) -> list[Word] | None:
    """The words Tesseract reads on a PNG made by :func:`encode`; None when it cannot run."""
    program = tesseract_path()
    if program is None:
        return None
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    try:
        done = subprocess.run(
            [program, "stdin", "stdout", "--psm", "11", "-c", "tessedit_do_invert=0", "tsv"],
            input=png,
            capture_output=True,
            timeout=TIMEOUT_S,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return parse_tsv(done.stdout.decode("utf-8", "replace"))


def parse_tsv(text: str) -> list[Word]:
    """Words (level 5 rows) of Tesseract's TSV output, low-confidence ones left out."""
    words = []
    for row in csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE):
        try:
            if row.get("level") != "5" or not (row.get("text") or "").strip():
                continue
            confidence = float(row["conf"])
            box = (int(row["left"]), int(row["top"]), int(row["width"]), int(row["height"]))
            line = (int(row["block_num"]), int(row["par_num"]), int(row["line_num"]))
        except (KeyError, TypeError, ValueError):
            continue
        if confidence >= MIN_CONFIDENCE:
            words.append(Word(row["text"].strip(), box, line, confidence))
    return words

"""Read the words on a screenshot with Tesseract (Debian's ``tesseract-ocr``), with their boxes.

Used where text is the only handle on an element (``debugkit.locate.screen``). The ``tesseract`` program is
run directly (``$DEBUGKIT_TESSERACT`` or the one on ``PATH``), one thread (``OMP_THREAD_LIMIT=1``: with
OpenMP on two cores it is five times slower), on the image with its polarity evened out (``|grey - local
background|``, so white text on a dark button reads like dark text on white). Nothing here raises: without
Tesseract, or on a failure, :func:`read_words` returns None and :func:`unavailable_reason` says why.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

TESSERACT_ENV = "DEBUGKIT_TESSERACT"
TIMEOUT_S = 20
MIN_CONFIDENCE = 30.0


@dataclass
class Word:
    text: str
    box: tuple[int, int, int, int]  # x, y, w, h in the image given to read_words
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


def read_words(grey: Any) -> list[Word] | None:
    """The words Tesseract reads on a greyscale image (uint8 numpy array); None when it cannot run."""
    import cv2

    program = tesseract_path()
    if program is None or grey.size == 0:
        return None
    ok, png = cv2.imencode(".png", even_polarity(grey))
    if not ok:
        return None
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    try:
        done = subprocess.run(
            [program, "stdin", "stdout", "--psm", "11", "-c", "tessedit_do_invert=0", "tsv"],
            input=png.tobytes(),
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

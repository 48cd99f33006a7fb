"""Find elements on the screenshot itself: their text and shape (from the element tree or the scrape) matched
against the image, where re-rendering cannot say where they are (an iframe's document, a shadow root, a page
whose stylesheets the scrape lacks).

* **Shape**: the boxes the page draws (:mod:`debugkit.locate.widgets`): a field is a wide box, a check box a
  small square, a button a box around its text.
* **Text**: the words on the image (:mod:`debugkit.locate.ocr`), matched with the element's text, its value or
  placeholder, or its label's text.

A field is found by the text inside it (value, placeholder), else by its label (the box right below it or
to its right), else by order (the n-th field of the document is the n-th free field box, reading order).
Elements with the same text (six "Add to cart" buttons) are matched in document order to the occurrences in
reading order. Each match says how it was found, and a confidence that says so.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from debugkit.locate.ocr import Word
from debugkit.locate.widgets import Widget

FIELD, CHECK, BUTTON, TEXT = "field", "check", "button", "text"
TEXT_INPUTS = frozenset(
    {"", "text", "email", "password", "search", "tel", "url", "number", "date", "datetime-local", "month", "time",
     "week"}
)
MIN_RATIO = 0.8  # text similarity that counts as the same text
MAX_WORDS = 8  # words of a long text compared


@dataclass
class Target:
    """One element to find: what it is, and what can be seen of it."""

    element_id: str
    kind: str  # FIELD | CHECK | BUTTON | TEXT
    text: str = ""  # its own text (buttons, links, labels)
    shown: list[str] = field(default_factory=list)  # text shown inside a field: value, placeholder
    label: str = ""  # its label's text
    order: int = 0  # position in the document
    tag: str = ""
    names: str = ""  # a label's: the element id of the field it names


@dataclass
class Match:
    box: tuple[int, int, int, int]  # image pixels
    how: str  # a few words: "its text", "the text inside it", "its label", "its place in the form"
    confidence: float
    checked: bool = True  # its own text or its label seen there (False: only its order among the fields)


@dataclass
class _Run:
    """Consecutive words of one line."""

    words: list[Word]
    norm: str
    whole: bool = True  # no other word of its line close by: a text of its own, not part of a longer one

    @property
    def box(self) -> tuple[int, int, int, int]:
        x0 = min(w.box[0] for w in self.words)
        y0 = min(w.box[1] for w in self.words)
        x1 = max(w.box[0] + w.box[2] for w in self.words)
        y1 = max(w.box[1] + w.box[3] for w in self.words)
        return (x0, y0, x1 - x0, y1 - y0)


def kind_of(tag: str, input_type: str = "", role: str = "") -> str:
    tag = tag.lower()
    input_type = input_type.lower()
    if tag in ("textarea", "select") or (tag == "input" and input_type in TEXT_INPUTS):
        return FIELD
    if tag == "input" and input_type in ("checkbox", "radio"):
        return CHECK
    if tag == "button" or (tag == "input" and input_type in ("button", "submit", "reset")) or role == "button":
        return BUTTON
    return TEXT


def normalise(text: str) -> str:
    return re.sub(r"[^0-9a-z$€£%]+", "", text.casefold())


def _similar(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    if 2 * min(len(a), len(b)) / (len(a) + len(b)) < MIN_RATIO:
        return 0.0  # the lengths alone rule it out
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.quick_ratio() < MIN_RATIO:
        return 0.0
    return matcher.ratio()


class Screen:
    """The words and widgets of one image region, and the matching of targets against them."""

    def __init__(
        self,
        words: list[Word],
        widgets: list[Widget],
        edges: Any = None,
        limits: tuple[int, int, int, int] | None = None,
    ) -> None:
        self.words = words
        self.widgets = widgets
        self.edges = edges  # column edges of the whole tile (debugkit.locate.blocks), for block-level labels
        self.limits = limits  # the region read: an iframe's content box, or the whole tile
        lines: dict[tuple[int, int, int], list[Word]] = {}
        for word in words:
            lines.setdefault(word.line, []).append(word)
        self.lines = [sorted(ws, key=lambda w: w.box[0]) for ws in lines.values()]
        self.lines.sort(key=lambda ws: (min(w.box[1] for w in ws), min(w.box[0] for w in ws)))
        self._found: dict[str, list[tuple[float, _Run]]] = {}

    # --- text --------------------------------------------------------------------------------------

    def occurrences(self, text: str) -> list[tuple[float, _Run]]:
        """Where ``text`` is written (runs of words of one line), best first, each run once."""
        wanted = normalise(" ".join(text.split()[:MAX_WORDS]))
        if not wanted:
            return []
        if wanted in self._found:
            return self._found[wanted]
        found: list[tuple[float, _Run]] = []
        for line in self.lines:
            for start in range(len(line)):
                if not normalise(line[start].text):
                    continue  # a run starts and ends with a word (not a stray mark)
                norm = ""
                for end in range(start, len(line)):
                    part = normalise(line[end].text)
                    norm += part
                    if len(norm) > len(wanted) * 1.5 + 2:
                        break
                    if not part:
                        continue
                    score = _similar(norm, wanted)
                    if score >= MIN_RATIO:
                        run = _Run(line[start : end + 1], norm)
                        gap = 1.2 * max(w.box[3] for w in run.words)
                        before = start > 0 and run.words[0].box[0] - _right(line[start - 1]) < gap
                        after = end + 1 < len(line) and line[end + 1].box[0] - _right(run.words[-1]) < gap
                        run.whole = not (before or after)
                        found.append((score, run))
        found.sort(key=lambda item: -item[0])
        kept: list[tuple[float, _Run]] = []
        for score, run in found:  # overlapping runs of one place: the best one
            if not any(_overlap(run.box, other.box) > 0.3 for _, other in kept):
                kept.append((score, run))
        self._found[wanted] = kept
        return kept

    # --- shapes ------------------------------------------------------------------------------------

    def fields(self) -> list[Widget]:
        return [w for w in self.widgets if 14 <= w.box[3] <= 160 and w.box[2] >= 1.6 * w.box[3] and w.box[2] >= 40]

    def checks(self) -> list[Widget]:
        return [
            w for w in self.widgets if 9 <= w.box[2] <= 26 and 9 <= w.box[3] <= 26 and abs(w.box[2] - w.box[3]) <= 3
        ]

    def around(self, box: tuple[int, int, int, int]) -> Widget | None:
        """The smallest widget that holds ``box`` with a button's margins (not a whole card)."""
        x, y, w, h = box
        for widget in self.widgets:  # smallest first
            wx, wy, ww, wh = widget.box
            if wx <= x + 1 and wy <= y + 1 and x + w <= wx + ww + 1 and y + h <= wy + wh + 1:
                if wh <= 3.2 * max(h, 8) and ww <= w + 12 * max(h, 8):
                    return widget
                return None
        return None

    # --- matching ------------------------------------------------------------------------------------

    def match(self, targets: list[Target]) -> dict[str, Match]:
        """Find each target; the ones not found are left out."""
        out: dict[str, Match] = {}
        used: set[int] = set()  # widgets taken (by id)
        taken: list[tuple[int, int, int, int]] = []  # text runs taken

        def free(run: _Run) -> bool:
            return not any(_overlap(run.box, box) > 0.5 for box in taken)

        fields = self.fields()
        checks = self.checks()
        # 1. Fields by the text shown inside them (value, placeholder).
        for target in sorted(targets, key=lambda t: t.order):
            if target.kind != FIELD:
                continue
            for shown in target.shown:
                if not normalise(shown):
                    continue
                for score, run in self.occurrences(shown):
                    widget = next((w for w in fields if id(w) not in used and _inside(run.box, w.box)), None)
                    if widget is not None:
                        used.add(id(widget))
                        taken.append(run.box)
                        out[target.element_id] = Match(widget.box, "the text inside it", round(0.8 * score, 2))
                        break
                if target.element_id in out:
                    break
        # 2. Text: buttons and text elements, the same text matched in document and reading order.
        groups: dict[str, list[Target]] = {}
        for target in sorted(targets, key=lambda t: t.order):
            if target.kind in (BUTTON, TEXT) and normalise(target.text):
                groups.setdefault(normalise(" ".join(target.text.split()[:MAX_WORDS])), []).append(target)
        for members in sorted(groups.values(), key=lambda ms: len(ms)):
            places = [(s, r) for s, r in self.occurrences(members[0].text) if free(r)]
            whole = [(s, r) for s, r in places if r.whole]
            if len(whole) >= len(members):
                places = whole
            elif all(t.kind == BUTTON for t in members):
                # A button's text stands alone, or inside the button's box: not a word of a sentence.
                places = [(s, r) for s, r in places if r.whole or self.around(r.box) is not None]
            places.sort(key=lambda item: (item[1].box[1] // 8, item[1].box[0]))
            for target, (score, run) in zip(members, places, strict=False):
                taken.append(run.box)
                box = run.box
                how = "its text on the screenshot"
                if target.kind == BUTTON:
                    widget = self.around(box)
                    if widget is not None and id(widget) not in used:
                        used.add(id(widget))
                        box = widget.box
                        how = "its text and the button around it"
                    else:
                        box = _line_box(run, target.text)
                else:
                    box = _line_box(run, target.text)
                confidence = 0.75 * score if len(members) == len(places) else 0.6 * score
                out[target.element_id] = Match(box, how, round(confidence, 2))
        # 3. Fields and check boxes by their label, then by order.
        for target in sorted(targets, key=lambda t: t.order):
            if target.kind not in (FIELD, CHECK) or target.element_id in out or not normalise(target.label):
                continue
            pool = fields if target.kind == FIELD else checks
            for _, run in self.occurrences(target.label):
                widget = _next_to(run.box, [w for w in pool if id(w) not in used], target.kind == CHECK)
                if widget is not None:
                    used.add(id(widget))
                    out[target.element_id] = Match(widget.box, "its label", 0.7)
                    break
        for kind, pool in ((FIELD, fields), (CHECK, checks)):
            left = [t for t in sorted(targets, key=lambda t: t.order) if t.kind == kind and t.element_id not in out]
            boxes = sorted((w for w in pool if id(w) not in used), key=lambda w: (w.box[1] // 8, w.box[0]))
            if left and len(left) == len(boxes):
                for target, widget in zip(left, boxes, strict=True):
                    used.add(id(widget))
                    out[target.element_id] = Match(widget.box, "its place among the fields", 0.55, checked=False)
        self._widen_blocks(targets, out)
        return out

    def _widen_blocks(self, targets: list[Target], out: dict[str, Match]) -> None:
        """Labels whose field lies right below them are blocks (``display: block``, a flex column): as wide as the
        content box that holds them, not as their words."""
        if self.edges is None or self.limits is None:
            return
        from debugkit.locate.blocks import content_span

        by_order = sorted(targets, key=lambda t: t.order)
        for position, target in enumerate(by_order):
            found = out.get(target.element_id)
            if target.tag != "label" or found is None or not found.how.startswith("its text"):
                continue
            names = target.names
            if not names and position + 1 < len(by_order) and by_order[position + 1].kind in (FIELD, CHECK):
                names = by_order[position + 1].element_id
            named = out.get(names) if names else None
            if named is None or not _below(found.box, named.box):
                continue
            left, right, how = content_span(self.edges, found.box, self.limits)
            x, y, _, h = found.box
            out[target.element_id] = Match(
                (left, y, right - left, h),
                f"{found.how}, as wide as {how} (a block: its field lies below it)",
                round(0.95 * found.confidence, 2),
            )


ASCENDERS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZbdfhiklt0123456789$€£%&@#!?/()[]{}|'\"")
DESCENDERS = set("gjpqy,;()[]{}|@")


def _right(word: Word) -> int:
    return word.box[0] + word.box[2]


def _line_box(run: _Run, expected: str = "") -> tuple[int, int, int, int]:
    """From the ink of a run of text to its inline box (the font's ascent to descent). Which letters reach above
    and below are taken from ``expected`` (the element's own text) when given: OCR may read "CVC" as "cvc".

    Common sans fonts: ascenders and capitals reach about 0.74 em above the baseline, descenders 0.22 em
    below, x-height letters 0.53 em; the inline box spans about 0.93 em above the baseline to 0.24 em below.
    """
    x, _, w, _ = run.box
    # The line's height from its words of letters and digits: a slash or bracket read as a word of its own is
    # often boxed taller than the line.
    words = [word for word in run.words if any(c.isalnum() for c in word.text)] or run.words
    y = min(word.box[1] for word in words)
    h = max(word.box[1] + word.box[3] for word in words) - y
    text = " ".join(expected.split()[:MAX_WORDS]) if normalise(expected) else "".join(word.text for word in words)
    tall = any(c in ASCENDERS for c in text)
    deep = any(c in DESCENDERS for c in text)
    above = 0.74 if tall else 0.53  # ink above the baseline, em
    below = 0.22 if deep else 0.0
    em = h / (above + below)
    baseline = y + h - below * em
    top = baseline - 0.93 * em
    bottom = baseline + 0.24 * em
    return (x - 1, round(top), w + 2, round(bottom - top))


def _inside(inner: tuple[int, int, int, int], outer: tuple[int, int, int, int]) -> bool:
    x, y, w, h = inner
    ox, oy, ow, oh = outer
    return ox <= x and oy <= y and x + w <= ox + ow and y + h <= oy + oh


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over the smaller box's area."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    smaller = min(a[2] * a[3], b[2] * b[3])
    return ix * iy / smaller if smaller > 0 else 0.0


def _below(label: tuple[int, int, int, int], field: tuple[int, int, int, int]) -> bool:
    """The field starts right below the label, at the same left edge (a few px of slack)."""
    x, y, _, h = label
    gap = field[1] - (y + h)
    return -max(3, h // 3) <= gap <= 3 * h + 12 and abs(field[0] - x) <= 6


def _next_to(label: tuple[int, int, int, int], widgets: list[Widget], check: bool) -> Widget | None:
    """The widget a label names: a check box just left of it; a field right below it or to its right."""
    x, y, w, h = label
    best: tuple[float, Widget] | None = None
    for widget in widgets:
        wx, wy, ww, wh = widget.box
        if check:
            if abs((wy + wh / 2) - (y + h / 2)) > max(h, wh) or not (-2 * h - 30 <= x - (wx + ww) <= 30):
                continue
            distance = abs(x - (wx + ww))
        else:
            below = 0 <= wy - (y + h) <= 3 * h + 12 and wx - 40 <= x <= wx + ww
            right = abs((wy + wh / 2) - (y + h / 2)) <= wh / 2 + 2 and 0 <= wx - (x + w) <= 6 * h + 20
            if not (below or right):
                continue
            distance = (wy - (y + h)) if below else (wx - (x + w))
        if best is None or distance < best[0]:
            best = (distance, widget)
    return best[1] if best is not None else None


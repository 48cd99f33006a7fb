"""Where an element was on the screenshots the model saw: the data every ``debugkit.locate`` module shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# How a location was found, best first.
EXACT = "exact"  # coordinates carried by the artifacts (computer-use x/y, bounding-box keys)
RENDERED = "rendered"  # html_scrape re-rendered in headless Chromium: approximate
SCREEN = "screen"  # found on the screenshot itself (its text and shape from the tree or scrape): approximate
LEGACY = "legacy"  # the screenshot already carries Skyvern's own boxes (v1.0.41 and earlier)
METHODS = (EXACT, RENDERED, SCREEN, LEGACY)

# How an element inside an iframe was placed (``Location.frame_method``).
FRAME_SCREEN = "screen"  # found on the screenshot inside the iframe's box, by its text and shape from the tree
FRAME_EXACT = "exact"  # boxes carried by the artifacts (the element's and each enclosing iframe's)

Box = tuple[int, int, int, int]  # x, y, width, height in screenshot pixels
DocBox = tuple[float, float, float, float]  # x, y, width, height in document (CSS) pixels


@dataclass
class Location:
    """Where one element (or one computer-use click point) was on a ``screenshot_llm`` tile.

    ``tile`` indexes ``StepData.screenshots_llm``; ``box`` is ``(x, y, w, h)`` in that image's pixels
    (``w == h == 0`` for a click point). ``method`` is None when the element could not be placed,
    and ``reason`` then says why. For a placed element ``reason`` says how it was placed.
    """

    method: str | None
    tile: int | None = None
    box: Box | None = None
    confidence: float | None = None
    reason: str | None = None
    covered_by: CoveredBy | None = None  # what lay over it at its centre (evidence for click_intercepted)
    frame_method: str | None = None  # inside an iframe: how the element was placed in it (FRAME_*)
    # The box was confirmed against the screenshot's pixels: the re-render's pixels match there (in place, moved,
    # around a changed inside, or under a backdrop), or the element's text or shape was found there on the
    # screenshot, or it is Skyvern's own drawn box. False for boxes nothing on the screenshot confirmed (and for
    # exact boxes, which come from the artifacts).
    checked: bool = False
    # Other tiles that show the element too (the 200 px overlap, fixed elements): for drawing only.
    others: list[tuple[int, Box]] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def unknown(cls, reason: str) -> Location:
        return cls(method=None, reason=reason)

    @property
    def found(self) -> bool:
        return self.method is not None and self.tile is not None and self.box is not None

    @property
    def approximate(self) -> bool:
        return self.method in (RENDERED, SCREEN)

    @property
    def is_point(self) -> bool:
        return self.box is not None and self.box[2] == 0 and self.box[3] == 0

    def to_dict(self) -> dict[str, Any]:
        """The ``location`` object of ``--json``."""
        return {
            "method": self.method,
            "tile": self.tile,
            "box": list(self.box) if self.box is not None else None,
            "confidence": round(self.confidence, 2) if self.confidence is not None else None,
            "reason": self.reason,
            "covered_by": self.covered_by.to_dict() if self.covered_by is not None else None,
            "frame_method": self.frame_method,
            "checked": self.checked,
        }


@dataclass
class CoveredBy:
    """What lay over an element at its centre in the re-render (a dialog, an overlay, a banner)."""

    element_id: str | None  # the nearest element with an id (None: an element Skyvern gave no id, e.g. a backdrop)
    tag: str
    text: str = ""
    fixed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"element_id": self.element_id, "tag": self.tag, "text": self.text, "fixed": self.fixed}

    def describe(self) -> str:
        what = f"<{self.tag}>" + (f" {self.element_id}" if self.element_id else "")
        if self.text:
            what += f' "{self.text[:60]}"'
        if self.fixed:
            what += " (fixed: an overlay)"
        return what


@dataclass
class RenderedElement:
    """One ``[unique_id]`` element of a re-rendered scrape."""

    box: DocBox  # document coordinates (the page at scroll 0)
    fixed: bool = False  # position: fixed (itself or an ancestor): stays put in the viewport
    text: str = ""
    tag: str = ""
    input_type: str = ""
    placeholder: str = ""
    label: str = ""  # the text of its first <label>
    value: str = ""  # a select's chosen option
    control: str = ""  # a label's: the id of the field it names
    content: DocBox | None = None  # an iframe's content box (inside border and padding)
    covered_by: CoveredBy | None = None


@dataclass
class RenderResult:
    """What re-rendering one ``html_scrape`` measured."""

    viewport: tuple[int, int]
    page_width: float
    page_height: float
    elements: dict[str, RenderedElement] = field(default_factory=dict)
    blocked: list[tuple[str, str]] = field(default_factory=list)  # (resource type, url) of every request stopped
    image: bytes | None = field(default=None, repr=False)  # PNG of the re-render (top of the page), for checks
    seconds: float = 0.0

    @property
    def blocked_stylesheets(self) -> int:
        return sum(1 for kind, _ in self.blocked if kind == "stylesheet")

"""One step's search on the screenshots themselves (:mod:`debugkit.locate.screen`), where the re-render cannot
place an element:

* **iframe elements**: the iframe is placed on the main page (re-rendered), and the element is found inside the
  iframe's content box by its text and shape from the element tree (``frame_method="screen"``);
* **shadow-DOM elements** (not in ``html_scrape``): found below their host's place, by the same means;
* **main-frame elements whose re-render does not match the screenshot** (a stylesheet the scrape lacks, fonts
  or scripts that changed the layout): found on the tile by their text and shape from the re-rendered scrape.

Needs numpy and OpenCV (the ``render`` extra) and, for text, Debian's ``tesseract-ocr``; without them the
element gets ``method=None`` and the reason. Each tile region is read once per step.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from debugkit.locate.model import EXACT, FRAME_SCREEN, LEGACY, RENDERED, SCREEN, Location, RenderResult
from debugkit.locate.render import RenderUnavailable
from debugkit.locate.tiles import TileSet, clip_box, iou, place

if TYPE_CHECKING:
    from debugkit.locate.core import StepLocator
    from debugkit.locate.screen import Screen, Target
    from debugkit.locate.widgets import Widget
    from debugkit.model import Element

READERS = 2  # regions read at once
READ_CACHE = 4  # regions read kept per process (each holds its tile's edge map, a byte per pixel; 8 held 4-6 MB more
# at the report's peak on bench/scale.py's run, in the same time)
SMALL_REGION = 500_000  # px: smaller regions are read at twice the size (small light text reads better)
AGREE = 14.0  # mean grey difference (of 1/8-size pictures) under which the re-render looks like the screenshot
SHADOW_HEIGHT = 320  # px below a shadow host's place searched for its content
SHADOW_MARGIN = 40  # px left and right of the host's box
BOXES = frozenset({"iframe", "img", "video", "canvas", "embed", "object"})  # found by their size
SIZE_SLACK = 4  # px
SHAPE_IOU = 0.85  # a drawn box this close to a re-rendered one confirms its place


def unavailable_reason() -> str | None:
    try:
        import cv2  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        return "numpy and OpenCV are not installed (pip install 'debugkit[render]')"
    return None


class OnScreen:
    """The screenshot search of one :class:`~debugkit.locate.core.StepLocator`."""

    def __init__(self, locator: StepLocator) -> None:
        self.locator = locator
        self._screens: dict[tuple[int, tuple[int, int, int, int]], Future[Screen | None] | None] = {}
        self._matches: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._agrees: bool | None = None
        self._edges: dict[int, Any] = {}
        self._widgets: dict[int, list[Widget]] = {}
        self._main_targets: list[Target] | None = None
        self.ocr_missing: str | None = None

    def release(self) -> None:
        """Drop the per-tile pictures made for the search (see :meth:`StepLocator.release`)."""
        self._edges.clear()
        self._widgets.clear()
        self._screens.clear()
        self._matches.clear()

    # --- reading a region ------------------------------------------------------------------------

    def screen(self, tile: int, region: tuple[int, int, int, int]) -> Screen | None:
        """The words and widgets of ``region`` (x, y, w, h) of screenshot ``tile``; None when it cannot be read."""
        future = self.prefetch(tile, region)
        return future.result() if future is not None else None

    def prefetch(
        self, tile: int, region: tuple[int, int, int, int], *, prepare_here: bool = False
    ) -> Future[Screen | None] | None:
        """Start reading ``region`` of screenshot ``tile`` (on a reader thread: Tesseract is a process of its own,
        so the regions a step needs are read at once); the future of :meth:`screen`'s answer, None when it cannot
        be read at all. Each region is read once.

        ``prepare_here``: the picture Tesseract reads is made on this thread, and the reader only waits for
        Tesseract: for a read started just before this thread's own long work (the analysis), which the
        preparation's many short numpy steps would otherwise slow, and be slowed by, taking turns at the
        interpreter (on the 30,000-request bench run Tesseract then started 0.15 s later)."""
        key = (tile, region)
        if key in self._screens:
            return self._screens[key]
        self._screens[key] = None
        if unavailable_reason() is not None:
            return None
        shot = self.locator.step.screenshots_llm[tile]
        if not shot.data or not shot.width or not shot.height:
            return None
        x, y, w, h = region
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(shot.width, x + w), min(shot.height, y + h)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        clipped = (x0, y0, x1 - x0, y1 - y0)
        # The same screenshot is often stored again (each LLM call's set; a page that did not change between
        # steps): a region of the same bytes is read once per process.
        shared = (hashlib.sha256(shot.data).digest(), clipped)
        with _reads_lock:
            future = _reads.get(shared)
            if future is not None:
                _reads.move_to_end(shared)
                self._screens[key] = future
                return future
        image = self.locator.rgb(tile)
        if image is None or image.size != (shot.width, shot.height):
            return None
        whole = (x0, y0, x1, y1) == (0, 0, image.width, image.height)
        # What the reader needs from this step, made here (in the caller's thread) once.
        found = self.widgets(tile) if whole else None
        edges = self.edges(tile)
        if prepare_here:
            prepared = self._prepare(image, clipped, found)
            future = _readers().submit(self._finish, prepared, edges, clipped)
        else:
            future = _readers().submit(self._read, image, clipped, found, edges)
        with _reads_lock:
            _reads[shared] = future
            while len(_reads) > READ_CACHE:
                _reads.popitem(last=False)
        self._screens[key] = future
        return future

    def _read(
        self, image: Any, region: tuple[int, int, int, int], found: list[Widget] | None, edges: Any
    ) -> Screen | None:
        return self._finish(self._prepare(image, region, found), edges, region)

    def _prepare(
        self, image: Any, region: tuple[int, int, int, int], found: list[Widget] | None
    ) -> tuple[bytes | None, list[Widget], int]:
        """What Tesseract reads of ``region`` (a PNG, None when there is nothing to read or no Tesseract), the
        region's widgets in screenshot coordinates, and the scale the PNG was made at."""
        import cv2
        import numpy as np

        from debugkit.locate import ocr
        from debugkit.locate.widgets import Widget, find_widgets

        x0, y0, w, h = region
        whole = (x0, y0, w, h) == (0, 0, image.width, image.height)
        rgb = np.asarray(image if whole else image.crop((x0, y0, x0 + w, y0 + h)))  # a whole tile: no cropped copy
        if found is None:
            found = find_widgets(rgb, max_share=0.6)
        widgets = [
            Widget(
                box=(b[0] + x0, b[1] + y0, b[2], b[3]),
                inner=(i[0] + x0, i[1] + y0, i[2], i[3]),
                colour=widget.colour,
            )
            for widget in found
            for b, i in [(widget.box, widget.inner)]
        ]
        grey = ocr.even_widgets(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), found)
        scale = 2 if w * h <= SMALL_REGION else 1
        if scale > 1:
            grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        return ocr.encode(grey, prepared=True), widgets, scale

    def _finish(
        self, prepared: tuple[bytes | None, list[Widget], int], edges: Any, region: tuple[int, int, int, int]
    ) -> Screen | None:
        """Tesseract's words on the prepared picture, back in screenshot coordinates, as a :class:`Screen`."""
        from debugkit.locate import ocr
        from debugkit.locate.screen import Screen

        png, widgets, scale = prepared
        x0, y0 = region[0], region[1]
        words = ocr.read_png(png) if png is not None else None
        if words is None:
            self.ocr_missing = ocr.unavailable_reason() or "tesseract could not read the screenshot"
            words = []
        for word in words:
            bx, by, bw, bh = word.box
            word.box = (round(bx / scale) + x0, round(by / scale) + y0, round(bw / scale), round(bh / scale))
        return Screen(words, widgets, edges, region)

    def edges(self, tile: int) -> Any:
        """Column edges of screenshot ``tile`` (:func:`debugkit.locate.blocks.column_edges`), computed once."""
        if tile not in self._edges:
            import numpy as np

            from debugkit.locate.blocks import column_edges

            grey = self.locator.grey(tile)
            self._edges[tile] = column_edges(np.asarray(grey)) if grey is not None else None
        return self._edges[tile]

    def _match(self, key: tuple[Any, ...], screen: Screen, targets: list[Target]) -> dict[str, Any]:
        if key not in self._matches:
            self._matches[key] = screen.match(targets)
        return self._matches[key]

    # --- main-frame elements whose re-render does not match ------------------------------------------

    def render_agrees(self, rendered: RenderResult, tiles: TileSet) -> bool:
        """Whether the re-render looks like the first screenshot at all (1/8-size pictures compared)."""
        if self._agrees is None:
            self._agrees = True
            render_grey = self.locator.render_grey()
            tile_grey = self.locator.grey(tiles.indices[0])
            if render_grey is not None and tile_grey is not None:
                from PIL import ImageChops, ImageStat

                width, height = tile_grey.size
                small = (max(1, width // 8), max(1, height // 8))
                top = render_grey.crop((0, 0, width, height)).resize(small)
                shot = tile_grey.resize(small)
                self._agrees = ImageStat.Stat(ImageChops.difference(top, shot)).mean[0] <= AGREE
        return self._agrees

    def in_main(self, element_id: str, rendered: RenderResult, tiles: TileSet, position: int) -> Location | None:
        """The element found on the tiles by its text and shape, or None (the re-rendered box then stands).

        The tiles are tried most likely first: where the element lies in the re-render as a share of its height
        (a page without its styles is shorter or taller, but keeps its order), then the others.
        """
        if unavailable_reason() is not None:
            return None
        measured = rendered.elements.get(element_id)
        if measured is None:
            return None
        if measured.tag in BOXES and not measured.text:
            return self._by_size(element_id, rendered, tiles)
        if self._main_targets is None:
            from debugkit.locate.targets import render_targets

            self._main_targets = render_targets(rendered.elements, self.locator.step.elements)
        if not any(t.element_id == element_id for t in self._main_targets):
            return None  # nothing of it can be looked for (no text, no label, no shape of its own)
        width, height = tiles.viewport
        likely = _likely_tile(measured.box, rendered.page_height, tiles)
        order = [likely] + [p for p in range(len(tiles.indices)) if p != likely]
        for candidate in order:
            tile = tiles.indices[candidate]
            screen = self.screen(tile, (0, 0, width, height))
            if screen is None:
                continue
            found = self._match(("main", tile), screen, self._main_targets).get(element_id)
            if found is None:
                continue
            how = f"found on the screenshot by {found.how}"
            location = Location(SCREEN, tile, found.box, found.confidence, how, checked=found.checked)
            return self._placed_on_screen(element_id, location, rendered, tiles, candidate)
        return None

    def likely_regions(self, element_ids: list[str], most: int = 2) -> list[tuple[int, tuple[int, int, int, int]]]:
        """The whole tiles :meth:`in_main` will read first for ``element_ids``, when the re-render does not look
        like the screenshot (else none are needed): at most ``most``, the most wanted first."""
        locator = self.locator
        try:
            rendered = locator.render()
        except RenderUnavailable:
            return []
        tiles = locator.tiles()
        if tiles is None or not rendered.blocked_stylesheets or self.render_agrees(rendered, tiles):
            return []
        votes: dict[int, int] = {}
        for element_id in element_ids:
            measured = rendered.elements.get(element_id)
            if measured is not None and measured.box[2] > 0 and not (measured.tag in BOXES and not measured.text):
                position = _likely_tile(measured.box, rendered.page_height, tiles)
                votes[position] = votes.get(position, 0) + 1
        width, height = tiles.viewport
        ranked = sorted(votes, key=lambda p: -votes[p])[:most]
        return [(tiles.indices[p], (0, 0, width, height)) for p in ranked]

    def _placed_on_screen(
        self, element_id: str, location: Location, rendered: RenderResult, tiles: TileSet, position: int
    ) -> Location:
        why = "the re-render does not match the screenshot"
        if rendered.blocked_stylesheets:
            why += f" ({rendered.blocked_stylesheets} stylesheet(s) of the page are not in the scrape)"
        location.reason = f"{location.reason}; {why}"
        measured = rendered.elements.get(element_id)
        if measured is not None and measured.covered_by is not None:
            location.covered_by = measured.covered_by
        x, y, w, h = location.box  # type: ignore[misc]
        offset = 0.0 if measured is not None and measured.fixed else tiles.offsets[position]
        self.locator._placed[element_id] = ((float(x), y + offset, float(w), float(h)), offset)
        return location

    def _by_size(self, element_id: str, rendered: RenderResult, tiles: TileSet) -> Location | None:
        """An iframe, image or video (no text to read): the box of its size on the screenshot, when there is one
        such box (sizes of frames and media are mostly set by the page's markup, which the scrape keeps)."""
        measured = rendered.elements[element_id]
        _, _, want_w, want_h = measured.box
        if want_w < 24 or want_h < 24:
            return None
        likely = _likely_tile(measured.box, rendered.page_height, tiles)
        for position in [likely] + [p for p in range(len(tiles.indices)) if p != likely]:
            tile = tiles.indices[position]
            boxes = [
                w.box
                for w in self.widgets(tile)
                if abs(w.box[2] - want_w) <= SIZE_SLACK and abs(w.box[3] - want_h) <= SIZE_SLACK
            ]
            if len(boxes) != 1:
                continue
            location = Location(
                SCREEN,
                tile,
                boxes[0],
                0.8,
                f"found on the screenshot by its size ({round(want_w)}x{round(want_h)}, the only box that size)",
                checked=True,
            )
            return self._placed_on_screen(element_id, location, rendered, tiles, position)
        return None

    def shape_at(self, tile: int, box: tuple[int, int, int, int]) -> bool:
        """Whether the page draws a box of about this size at this place on screenshot ``tile`` (a field, a
        button): the element's shape confirmed where its pixels differ from the re-render's."""
        if box[2] < 8 or box[3] < 8:
            return False
        return any(iou(widget.box, box) >= SHAPE_IOU for widget in self.widgets(tile))

    def widgets(self, tile: int) -> list[Widget]:
        """The boxes drawn on the whole of screenshot ``tile`` (computed once)."""
        if tile not in self._widgets:
            self._widgets[tile] = []
            image = self.locator.rgb(tile)
            if image is not None and unavailable_reason() is None:
                import numpy as np

                from debugkit.locate.widgets import find_widgets

                self._widgets[tile] = find_widgets(np.asarray(image), max_share=0.6)
        return self._widgets[tile]

    # --- iframes ---------------------------------------------------------------------------------------

    def in_frame(self, element: Element) -> Location:
        """An iframe element: the iframe placed on the main page, the element found inside its box."""
        locator = self.locator
        base = locator._iframe_reason(element)
        outer_id = element.frame_chain[0]
        missing = unavailable_reason()
        if missing is not None:
            return Location.unknown(f"{base}; {missing}")
        if not locator.render_enabled or not locator.in_scrape(outer_id):
            return Location.unknown(base)
        outer = locator.locate(outer_id)
        region = self.frame_region(outer_id)
        if region is None:
            return Location.unknown(base)
        screen = self.screen(*region)
        if screen is None:
            return Location.unknown(f"{base}; its screenshot could not be read")
        from debugkit.locate.targets import tree_targets

        members = [e for e in (locator.step.elements or {}).values() if e.frame_chain[:1] == [outer_id]]
        found = self._match(("frame", outer_id), screen, tree_targets(members)).get(element.element_id)
        frames = " > ".join(element.frame_chain)
        if found is None:
            note = f"; {self.ocr_missing}" if self.ocr_missing else ""
            return Location.unknown(
                f"{element.element_id} is inside iframe {frames}: the iframe is on tile {outer.tile}, but the element "
                f"could not be told apart on the screenshot inside it{note}"
            )
        box = clip_box(found.box, *locator.viewport) if locator.viewport else found.box  # type: ignore[arg-type]
        if box is None:
            return Location.unknown(f"{base}; the element lies outside the screenshot")
        return Location(
            SCREEN,
            outer.tile,
            box,
            # The iframe's place confirmed by the pixels: the element's match inside it counts as on the page.
            round(found.confidence * (1.0 if outer.checked else min(1.0, (outer.confidence or 0.5) + 0.1)), 2),
            f"inside iframe {frames} (the iframe placed on the page {_how_placed(outer)}); found on the screenshot "
            f"inside the iframe by {found.how}",
            frame_method=FRAME_SCREEN,
            checked=found.checked,
        )

    def frame_region(self, outer_id: str) -> tuple[int, tuple[int, int, int, int]] | None:
        """(tile, region) of iframe ``outer_id``'s content box on the screenshot, once the iframe is placed."""
        locator = self.locator
        outer = locator.locate(outer_id)
        placed = locator._placed.get(outer_id)
        rendered = locator._render
        if not outer.found or placed is None or rendered is None or outer_id not in rendered.elements:
            return None
        measured = rendered.elements[outer_id]
        doc_box, offset = placed
        cx, cy, cw, ch = measured.content or measured.box
        dx, dy = doc_box[0] - measured.box[0], doc_box[1] - measured.box[1]
        return outer.tile, (round(cx + dx), round(cy + dy - offset), round(cw), round(ch))  # type: ignore[return-value]

    # --- shadow DOM ------------------------------------------------------------------------------------

    def shadow_region(self, host: str) -> tuple[int, tuple[int, int, int, int]] | None:
        """(tile, region) below shadow host ``host``'s place, where its shadow root's content is looked for: as
        wide as the host's box (its container's width when the re-render left it empty) and a margin."""
        locator = self.locator
        locator.locate(host)
        rendered = locator._render
        tiles = locator.tiles()
        if rendered is None or host not in rendered.elements or tiles is None or locator.viewport is None:
            return None
        # The host's place (its box in the re-render may be empty: its content is built by scripts).
        doc_box = locator._placed.get(host, (rendered.elements[host].box, 0.0))[0]
        where = place((doc_box[0], doc_box[1], max(1.0, doc_box[2]), 1.0), tiles)
        if where is None:
            return None
        width, _ = locator.viewport
        left, right = max(0, round(doc_box[0]) - SHADOW_MARGIN), round(doc_box[0] + doc_box[2]) + SHADOW_MARGIN
        if doc_box[2] < 40:  # no width of its own: the whole row
            left, right = 0, width
        return tiles.indices[where.position], (left, where.box[1] - 20, min(width, right) - left, SHADOW_HEIGHT)

    def in_shadow(self, element: Element) -> Location:
        """A shadow-DOM element (not in ``html_scrape``): found below its host's place on the screenshot."""
        locator = self.locator
        base = (
            f"{element.element_id} is inside a shadow DOM (no xpath); html_scrape does not serialize shadow roots"
        )
        host = element.raw.get("shadowHost") if isinstance(element.raw, dict) else None
        missing = unavailable_reason()
        if missing is not None or not isinstance(host, str) or not locator.render_enabled:
            return Location.unknown(base + (f"; {missing}" if missing else ""))
        if not locator.in_scrape(host):
            return Location.unknown(base)
        where = self.shadow_region(host)
        if where is None:
            return Location.unknown(base)
        tile, _ = where
        screen = self.screen(*where)
        if screen is None:
            return Location.unknown(base)
        from debugkit.locate.targets import tree_targets

        members = [e for e in (locator.step.elements or {}).values() if _shadow_host(e) == host]
        found = self._match(("shadow", host), screen, tree_targets(members)).get(element.element_id)
        if found is None:
            return Location.unknown(base + "; not found on the screenshot below its host either")
        return Location(
            SCREEN,
            tile,
            found.box,
            round(0.9 * found.confidence, 2),
            f"inside the shadow DOM of {host} (not in html_scrape); found on the screenshot below its host by "
            f"{found.how}",
            checked=found.checked,
        )


def _shadow_host(element: Element) -> str | None:
    host = element.raw.get("shadowHost") if isinstance(element.raw, dict) else None
    return host if isinstance(host, str) else None


def _likely_tile(doc_box: tuple[float, float, float, float], page_height: float, tiles: TileSet) -> int:
    """The tile most likely to show an element of the re-render: its middle's share of the re-rendered page's
    height, taken on the screenshots' page (the last tile's bottom)."""
    if len(tiles.offsets) <= 1 or page_height <= 0:
        return 0
    share = min(1.0, max(0.0, (doc_box[1] + doc_box[3] / 2) / page_height))
    y = share * (tiles.offsets[-1] + tiles.viewport[1])
    height = tiles.viewport[1]
    return min(
        range(len(tiles.offsets)), key=lambda p: abs(tiles.offsets[p] + height / 2 - y)
    )


def _how_placed(location: Location) -> str:
    return {
        RENDERED: "by re-rendering",
        SCREEN: "by its shape on the screenshot",
        EXACT: "by the artifacts' own coordinates",
        LEGACY: "by Skyvern's own box",
    }.get(location.method or "", "")


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_reads: OrderedDict[tuple[bytes, tuple[int, int, int, int]], Future[Screen | None]] = OrderedDict()
_reads_lock = threading.Lock()


def clear_cache() -> None:
    """Forget the regions read so far (each is otherwise read once per process: see OnScreen.prefetch)."""
    with _reads_lock:
        _reads.clear()


def _readers() -> ThreadPoolExecutor:
    """The threads that read screenshot regions (two: one Tesseract process per core)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="debugkit-ocr")
        return _pool

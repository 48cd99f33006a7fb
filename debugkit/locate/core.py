"""Locate a step's elements on its ``screenshot_llm`` tiles, best source first.

1. **exact**: coordinates the artifacts carry (computer-use ``x``/``y``; bounding-box keys on element
   dicts of patched builds);
2. **rendered**: ``html_scrape`` re-rendered in headless Chromium at the screenshots' size, each box
   mapped onto the tiles (offsets measured from the tiles' overlap where possible, else the documented
   scroll rule), then compared with the screenshot's pixels and moved to where the screenshot shows it;
3. **legacy**: screenshots that carry Skyvern's own boxes (v1.0.41 and earlier) say so, and the drawn box
   that fits the element becomes its location.

Anything that cannot be placed gets ``method=None`` and a reason (iframe, shadow DOM, no scrape, no
Chromium, ...); nothing here raises for a bad step.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PIL import Image

from debugkit import allocator
from debugkit.locate import align as align_mod
from debugkit.locate import exact, legacy, overlap
from debugkit.locate.heavy import heavy_work
from debugkit.locate.model import EXACT, FRAME_EXACT, LEGACY, RENDERED, Location, RenderResult
from debugkit.locate.onscreen import OnScreen
from debugkit.locate.onscreen import unavailable_reason as onscreen_unavailable
from debugkit.locate.render import Renderer, RenderUnavailable, shared_pages, submit_scrape
from debugkit.locate.tiles import MAX_TILES, TileSet, also_on, iou, offsets_from_shifts, place, rule_offsets
from debugkit.model import Action, Element, RunData, Screenshot, StepData
from debugkit.steps import pick_step

MAX_CONFIDENCE_RENDERED = 0.95
WORKERS = 2  # steps located at once (the screenshot search and the pixel checks of one step use one core)
MAX_SEARCHES = 24  # full pixel searches per step for elements nobody chose (chosen ones always get one)
_STYLESHEET = re.compile(r"""<link\b[^>]*\brel\s*=\s*["']?stylesheet\b""", re.IGNORECASE)
_UNIQUE_ID = re.compile(r"""\bunique_id\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)


def chosen_ids(step: StepData) -> list[str]:
    """The element ids the step's actions name, in action order, each once."""
    seen: list[str] = []
    for action in step.actions:
        if action.element_id and action.element_id not in seen:
            seen.append(action.element_id)
    return seen


def interactable_ids(step: StepData) -> list[str]:
    """Every interactable element of the step's tree (what Skyvern's old overlay numbered)."""
    return [i for i, e in (step.elements or {}).items() if e.interactable]


def screenshot_set(step: StepData) -> list[int] | None:
    """Indices (into ``screenshots_llm``) of the screenshots the model chose the step's actions from: those of
    the action-extraction LLM call. None when the step does not say (then the first set is used)."""
    call = step.actions_call
    if call is None:
        return None
    indices = [i for i, shot in enumerate(step.screenshots_llm) if shot.llm_call == call]
    return indices or None


def page_url_of(step: StepData) -> str | None:
    """The page's URL: the step's browser metadata, else an action's or element's ``page_url``."""
    if step.website_url:
        return step.website_url
    for action in step.actions:
        if action.page_url:
            return action.page_url
    for element in (step.elements or {}).values():
        if element.page_url:
            return element.page_url
    return None


class StepLocator:
    """Everything one step's locations share, computed once and only when needed."""

    def __init__(self, step: StepData, *, render: bool = True, renderer: Renderer | None = None) -> None:
        self.step = step
        self.render_enabled = render
        self.renderer = renderer
        self.group = screenshot_set(step)  # the action-extraction call's screenshots (None: not known)
        members = self.group if self.group is not None else range(len(step.screenshots_llm))
        self.shots: list[tuple[int, Screenshot]] = [
            (i, step.screenshots_llm[i])
            for i in members
            if (shot := step.screenshots_llm[i]).data and not shot.error and shot.width and shot.height
        ]
        self.viewport: tuple[int, int] | None = (
            (self.shots[0][1].width, self.shots[0][1].height) if self.shots else None  # type: ignore[assignment]
        )
        self._render: RenderResult | None = None
        self._render_error: str | None = None
        self._rendered = False
        self._render_future: Future[RenderResult] | None = None
        self._tiles: TileSet | None = None
        self._tiles_height: float | None = None
        self._rgb: dict[int, Image.Image | None] = {}  # each screenshot decoded once, when first needed
        self._grey: dict[int, Image.Image | None] = {}
        self._legacy_present: bool | None = None
        self._id_scheme: str | None = None  # "" once known to be none
        self._placed: dict[str, tuple[tuple[float, float, float, float], float]] = {}  # doc box (moved), offset
        self.onscreen = OnScreen(self)
        self._render_grey: Image.Image | None = None
        self._legacy: dict[int, list[tuple[int, int, int, int]]] = {}
        self._scrape_ids: set[str] | None = None
        self._signatures: dict[int, overlap.Signature | None] = {}
        self._moves: list[tuple[int, int]] = []  # moves found so far: likely for neighbours too
        self._searches = 0
        self.chosen = set(chosen_ids(step))
        self._locations: dict[str, Location] = {}

    def release(self) -> None:
        """Drop the decoded pictures and what was made from them (a step's are tens of megabytes: the report locates
        every step, and a locator is otherwise kept, through the cycle with its :class:`OnScreen`, until the cyclic
        collector runs). The locations found are kept; a later call decodes again."""
        self._rgb.clear()
        self._grey.clear()
        self._render_grey = None
        self._signatures.clear()
        self._legacy.clear()
        self.onscreen.release()

    # --- shared, lazily computed pieces ----------------------------------------------------

    def start(self) -> StepLocator:
        """Start the re-render now, without waiting (the browser renders several steps' scrapes at once, while
        this thread decodes screenshots); :meth:`render` collects it. Nothing starts when rendering is off, or
        when nothing of the scrape is wanted."""
        ready = self.step.html_scrape is not None and self.viewport is not None
        if ready and self.render_enabled and self._render_future is None and self._render is None:
            self._render_future = submit_scrape(
                    self.step.html_scrape.text, page_url_of(self.step), self.viewport, renderer=self.renderer
                )
        return self

    def prefetch(self, wanted: list[str], *, ahead: bool = False) -> None:
        """Start reading the screenshot regions ``wanted`` will need, all at once (Tesseract runs as processes of
        its own): each iframe's content box, the strip below each shadow host, and, when the re-render does not
        look like the screenshot, the tiles the page's elements most likely sit on.

        ``ahead``: only what needs no re-render to choose (the one screenshot of a scrape that links a stylesheet),
        never waiting for the browser; the reads are shared with the step's later locator (one per process)."""
        if not self.render_enabled or self.step.html_scrape is None or onscreen_unavailable() is not None:
            return
        elements = self.step.elements or {}
        regions: list[tuple[int, tuple[int, int, int, int]] | None] = []
        done: set[str] = set()
        in_main: list[str] = []
        for element_id in wanted:
            element = elements.get(element_id)
            host = element.raw.get("shadowHost") if element is not None and isinstance(element.raw, dict) else None
            if element is not None and element.frame_chain:
                outer = element.frame_chain[0]
                if outer not in done and self.in_scrape(outer):
                    done.add(outer)
                    regions.append(self.onscreen.frame_region(outer))
            elif element is not None and not element.xpath and isinstance(host, str):
                if host not in done and self.in_scrape(host):
                    done.add(host)
                    regions.append(self.onscreen.shadow_region(host))
            elif self.in_scrape(element_id):
                in_main.append(element_id)
        if in_main and len(self.shots) == 1 and _STYLESHEET.search(self.step.html_scrape.text):
            # The scrape links a stylesheet it does not hold (page.content() keeps the <link> only): its re-render
            # will likely not look like the screenshot, which is then read whole. A set of one screenshot is read
            # now, while the browser renders, rather than after (of several, only the likely tiles are read).
            index, shot = self.shots[0]
            self.onscreen.prefetch(index, (0, 0, shot.width, shot.height), prepare_here=ahead)
        if ahead:
            return
        if in_main:
            regions += self.onscreen.likely_regions(in_main)
        for region in regions:
            if region is not None:
                self.onscreen.prefetch(*region)

    def needs_render(self, element_id: str) -> bool:
        """Whether placing ``element_id`` will likely re-render the scrape (it is in it, or in an iframe or shadow
        root placed through its host)."""
        element = (self.step.elements or {}).get(element_id)
        return self.in_scrape(element_id) or (element is not None and (bool(element.frame_chain) or not element.xpath))

    def render(self) -> RenderResult:
        """The re-rendered scrape (raises RenderUnavailable with the reason)."""
        if not self._rendered:
            self._rendered = True
            try:
                if self.step.html_scrape is None:
                    raise RenderUnavailable("no html_scrape for this step")
                if self.viewport is None:
                    raise RenderUnavailable("no readable screenshot_llm for this step")
                self.start()
                assert self._render_future is not None
                self._render = self._render_future.result()
            except RenderUnavailable as exc:
                self._render_error = exc.reason
        if self._render is None:
            raise RenderUnavailable(self._render_error or "not rendered")
        return self._render

    def tiles(self) -> TileSet | None:
        """The screenshot set the model chose from (the action-extraction call's) and its scroll offsets.

        When the step does not say which LLM call a screenshot belongs to, the first set is taken: the tiles
        from the first one on that continue each other (their overlap shows the scroll).
        """
        page_height = self._render.page_height if self._render is not None else None
        if self.viewport is None or (self._tiles is not None and self._tiles_height == page_height):
            return self._tiles
        first = self.group[0] if self.group else 0
        if not self.shots or self.shots[0][0] != first:
            return None  # the set's first tile is unreadable: where the others start is unknown
        width, height = self.viewport
        run: list[tuple[int, Screenshot]] = []
        for index, shot in self.shots:
            if (shot.width, shot.height) != (width, height) or (run and index != run[-1][0] + 1):
                break
            run.append((index, shot))
        run = run[:MAX_TILES]
        expected = len(rule_offsets(page_height, height)) if page_height else None
        signatures = [self.signature(index) for index, _ in run]
        if self.group is not None:  # the set is known: measure each scroll step, the rule where it cannot be
            count = len(run)
            shifts: list[float | None] = []
            for previous, current in zip(signatures, signatures[1:], strict=False):
                measured = overlap.measure_shift(previous, current) if previous and current else None
                shifts.append(measured.value if measured is not None else None)
        else:
            count, shifts = overlap.split_first_set(signatures, expected)
        count = max(1, count)
        offsets, measured_flags = offsets_from_shifts(shifts[: count - 1], height, page_height)
        self._tiles_height = page_height
        self._tiles = TileSet(
            indices=[index for index, _ in run[:count]],
            offsets=offsets,
            viewport=(width, height),
            measured=measured_flags,
            rule_count=expected,
        )
        return self._tiles

    def rgb(self, index: int) -> Image.Image | None:
        """Screenshot ``index`` decoded (once)."""
        if index not in self._rgb:
            shot = self.step.screenshots_llm[index]
            with heavy_work():  # decoding makes the picture twice for a moment (as stored, then as RGB)
                self._rgb[index] = align_mod.open_image(shot.data, "RGB")
        return self._rgb[index]

    def signature(self, index: int) -> overlap.Signature | None:
        if index not in self._signatures:
            image = self.rgb(index)
            self._signatures[index] = overlap.signature(image) if image is not None else None
        return self._signatures[index]

    def in_scrape(self, element_id: str) -> bool:
        """Whether ``html_scrape`` has a ``unique_id`` attribute with this value (a fast text scan)."""
        if self.step.html_scrape is None:
            return False
        if self._scrape_ids is None:
            self._scrape_ids = {a or b or c for a, b, c in _UNIQUE_ID.findall(self.step.html_scrape.text)}
        return element_id in self._scrape_ids

    def grey(self, index: int) -> Image.Image | None:
        if index not in self._grey:
            image = self.rgb(index)
            self._grey[index] = image.convert("L") if image is not None else None
        return self._grey[index]

    def render_grey(self) -> Image.Image | None:
        if self._render_grey is None and self._render is not None:
            self._render_grey = align_mod.open_grey(self._render.image)
        return self._render_grey

    def legacy_boxes(self, index: int) -> list[tuple[int, int, int, int]]:
        if index not in self._legacy:
            image = self.rgb(index)
            tolerant = self.id_scheme() in legacy.LEGACY_IDS
            found = legacy.find_boxes(image, tolerant=tolerant) if image is not None else legacy.Overlay([])
            self._legacy[index] = found.boxes if found.present else []
        return self._legacy[index]

    def id_scheme(self) -> str | None:
        """Skyvern's element-id scheme of this step (:func:`debugkit.locate.legacy.id_scheme`)."""
        if self._id_scheme is None:
            elements = self.step.elements or {}
            ids = list(elements) or sorted(self.step.scrape_ids or ()) or chosen_ids(self.step)
            main = [i for i, e in elements.items() if not e.frame_chain]
            self._id_scheme = legacy.id_scheme(ids, main) or ""
        return self._id_scheme or None

    def legacy_present(self) -> bool:
        """Whether the screenshots carry Skyvern's own overlay (v1.0.41 and earlier), keyed to the ids: a step
        with legacy ids (numeric, random) is looked at on every tile of the set; one with frame-coded ids (which
        v0.1.58 to v1.0.41 gave as well) on the set's first tile only (a run's version does not change within a
        step, and every tile of an overlaid set carries boxes)."""
        if self._legacy_present is None:
            tiles = self.tiles()
            if not tiles:
                indices = [i for i, _ in self.shots[:1]]
            elif self.id_scheme() in legacy.LEGACY_IDS:
                indices = list(tiles.indices)
            else:
                indices = tiles.indices[:1]
            self._legacy_present = any(self.legacy_boxes(i) for i in indices)
        return self._legacy_present

    def raw_element(self, element_id: str) -> dict[str, Any] | None:
        """The element's raw dict: an action's ``skyvern_element_data``, else a kept tree node."""
        for action in self.step.actions:
            data = action.element_data
            if isinstance(data, dict) and str(data.get("id")) == element_id:
                return data
        element = (self.step.elements or {}).get(element_id)
        raw = getattr(element, "raw", None) if element is not None else None
        return raw if isinstance(raw, dict) else None

    # --- one element --------------------------------------------------------------------------

    def locate(self, element_id: str) -> Location:
        """Where ``element_id`` was (computed once per step: an iframe's own place serves all its elements)."""
        found = self._locations.get(element_id)
        if found is None:
            found = self._locations[element_id] = self._locate(element_id)
        return found

    def _locate(self, element_id: str) -> Location:
        step = self.step
        element = (step.elements or {}).get(element_id)
        located = self._exact(element_id, element)
        if located is not None:
            return located
        in_scrape = self.in_scrape(element_id)
        known = element is not None or in_scrape or (step.scrape_ids is not None and element_id in step.scrape_ids)
        if not known:
            if step.elements is None and step.html_scrape is None:
                return Location.unknown("no element tree and no html_scrape for this step")
            return Location.unknown(
                f"{element_id} is not in this step's scrape: the model named an element that was not on the page"
            )
        if element is not None and element.frame_chain:
            return self.onscreen.in_frame(element)
        if step.html_scrape is None:
            return Location.unknown("no html_scrape for this step: nothing to re-render")
        if not in_scrape:
            if element is not None and element.xpath is None:
                return self.onscreen.in_shadow(element)
            where = "the element tree" if element is not None else "the scrape's id map"
            return Location.unknown(f"{element_id} is in {where} but not in html_scrape")
        if not self.shots:
            return Location.unknown("no readable screenshot_llm for this step")
        if not self.render_enabled:
            return self._legacy_only("re-rendering is switched off")
        try:
            rendered = self.render()
        except RenderUnavailable as exc:
            return self._legacy_only(f"cannot re-render the scrape: {exc.reason}")
        return self._from_render(element_id, element, rendered)

    def _iframe_reason(self, element: Element) -> str:
        frame = element.frame_chain[0]
        reason = f"{element.element_id} is inside iframe {frame}"
        if len(element.frame_chain) > 1:
            reason += f" (nested: {' > '.join(element.frame_chain)})"
        reason += "; html_scrape holds the main frame only"
        if self.render_enabled and self.in_scrape(frame):
            outer = self.locate(frame)
            if outer.found:
                x, y, w, h = outer.box  # type: ignore[misc]
                reason += f"; the iframe itself is on tile {outer.tile} at x {x}, y {y}, {w}x{h} ({outer.method})"
        return reason

    def _no_tiles(self) -> Location:
        if self.shots and self.shots[0][0] != 0:
            return Location.unknown("the first screenshot_llm is unreadable, so where the others start is unknown")
        return Location.unknown("no readable screenshot_llm for this step")

    def _legacy_only(self, why: str) -> Location:
        if self.shots and self.legacy_present():
            return Location(
                method=LEGACY,
                reason=f"the screenshots carry Skyvern's own numbered boxes (v1.0.41 or earlier): look for the "
                f"element's label there; {why}, so its box is not known",
            )
        return Location.unknown(why)

    def _exact(self, element_id: str, element: Element | None) -> Location | None:
        raw = self.raw_element(element_id)
        box = exact.box_of(raw) if raw is not None else None
        if box is None:
            return None
        if element is not None and element.frame_chain:
            x, y = box[0], box[1]
            for frame_id in element.frame_chain:
                outer = exact.box_of(self.raw_element(frame_id))
                if outer is None:
                    return None  # relative to a frame whose position is not carried: not exact
                x, y = x + outer[0], y + outer[1]
            box = (x, y, box[2], box[3])
        tiles = self.tiles()
        if tiles is None:
            return self._no_tiles()
        placed = place(box, tiles)
        if placed is None:
            return Location.unknown("the element's own box lies outside every screenshot")
        confidence = 1.0 if tiles.offsets_checked else 0.9
        how = "the element's own bounding box (from the artifacts)"
        if not tiles.offsets_checked:
            how += "; tile offsets from the documented scroll rule"
        location = Location(EXACT, tiles.indices[placed.position], placed.box, confidence, how)
        if element is not None and element.frame_chain:
            location.frame_method = FRAME_EXACT
        location.others = also_on(box, tiles, placed.position)
        return location

    def _from_render(self, element_id: str, element: Element | None, rendered: RenderResult) -> Location:
        measured = rendered.elements.get(element_id)
        if measured is None:
            return Location.unknown(f"{element_id} is not in the re-rendered page")
        if measured.box[2] <= 0 or measured.box[3] <= 0:
            return Location.unknown(
                f"{element_id} takes no space in the re-render (hidden, or sized by scripts that do not run there)"
            )
        tiles = self.tiles()
        if tiles is None:
            return self._no_tiles()
        placed = place(measured.box, tiles, fixed=measured.fixed)
        if rendered.blocked_stylesheets and not self.onscreen.render_agrees(rendered, tiles):
            # The page's own styles are missing and the re-render looks nothing like the screenshot: its
            # boxes say little. Find the element on the screenshot first.
            found = self.onscreen.in_main(element_id, rendered, tiles, placed.position if placed else 0)
            if found is not None:
                return self._snap_to_legacy(found)
            if measured.covered_by is not None and measured.covered_by.fixed:
                # Under an overlay, and the re-render's box means little: nothing to point at on the screenshot.
                hidden = Location.unknown(
                    f"{element_id} is not to be seen on the screenshot: at its centre it is covered by "
                    f"{measured.covered_by.describe()} (in the re-render), and its text or shape is not on the "
                    f"screenshot; the page's {rendered.blocked_stylesheets} stylesheet(s) are not in the scrape, so "
                    "the re-render's box does not fit the screenshot"
                )
                hidden.covered_by = measured.covered_by
                return hidden
        if placed is None:
            return Location.unknown(
                f"{element_id} lies below the {len(tiles.indices)} screenshot(s) taken (Skyvern takes at most 10)"
            )
        width, height = tiles.viewport
        notes = [f"re-rendered html_scrape at {width}x{height}"]
        confidence = 0.9
        tile_index = tiles.indices[placed.position]
        box = placed.box
        inside = placed.inside
        doc_box = measured.box
        check = self._check_pixels(element_id, measured.box, measured.fixed, tiles, placed.position)
        checked = False  # the box confirmed against the screenshot's pixels
        if check is None or not check.checked:
            confidence *= 0.85
            notes.append("too little detail to check against the screenshot")
        elif check.moved:
            moved = (measured.box[0] + check.dx, measured.box[1] + check.dy, measured.box[2], measured.box[3])
            again = place(moved, tiles, fixed=measured.fixed)
            if again is not None:
                placed, box, inside, doc_box = again, again.box, again.inside, moved
                tile_index = tiles.indices[again.position]
                confidence = 0.85
                checked = True
                notes.append(f"moved {_signed(check.dx)}, {_signed(check.dy)} px to where the screenshot shows it")
            else:
                confidence *= 0.5
                notes.append("the screenshot shows it elsewhere, off this screenshot")
        elif check.matched:
            checked = True
            notes.append("matches the screenshot's pixels")
        elif check.ring_matched:
            confidence = 0.85
            checked = True
            notes.append("its surroundings match the screenshot; its inside differs (typed text or a changed state)")
        elif check.dimmed:
            checked = True
            notes.append("matches the screenshot's pixels seen through a backdrop (a dialog's overlay dims the page)")
        elif self.onscreen.shape_at(tile_index, box):
            confidence = 0.85
            checked = True
            notes.append("a box of its shape is on the screenshot there; its pixels differ (a focus ring, a state)")
        else:
            found = self.onscreen.in_main(element_id, rendered, tiles, placed.position)
            if found is not None and (found.tile != tile_index or iou(found.box, box) < 0.3):
                return self._snap_to_legacy(found)  # the screenshot shows it elsewhere
            checked = found is not None
            confidence *= 0.5 if found is None else 0.8
            notes.append(
                "the screenshot looks different there"
                if found is None
                else "the screenshot looks different there, but shows its text or shape at this place"
            )
        if not inside:
            confidence *= 0.8
            notes.append("partly outside the screenshot")
        if tiles.count_agrees is False:
            confidence *= 0.85
            notes.append(f"{len(tiles.indices)} screenshot(s) where the page height suggests {tiles.rule_count}")
        if len(tiles.offsets) > 1:
            if tiles.offsets_checked:
                notes.append("scroll offsets measured from the screenshots' overlap")
            else:
                confidence *= 0.9
                notes.append("scroll offsets from the documented rule")
        if rendered.blocked_stylesheets and not checked:
            confidence *= 0.85
            notes.append(f"{rendered.blocked_stylesheets} stylesheet(s) could not load")
        tree_text = (element.text or "").strip() if element is not None else ""
        if tree_text and tree_text not in measured.text:
            confidence *= 0.8
            notes.append("its text differs from the element tree")
        if measured.covered_by is not None:
            notes.append(f"at its centre it is covered by {measured.covered_by.describe()}")
        location = Location(
            RENDERED, tile_index, box, round(min(confidence, MAX_CONFIDENCE_RENDERED), 2), "; ".join(notes)
        )
        location.covered_by = measured.covered_by
        location.checked = checked
        location.others = also_on(doc_box, tiles, placed.position, fixed=measured.fixed)
        self._placed[element_id] = (doc_box, 0.0 if measured.fixed else tiles.offsets[placed.position])
        return self._snap_to_legacy(location)

    def _check_pixels(
        self, element_id: str, doc_box: Any, fixed: bool, tiles: TileSet, position: int
    ) -> align_mod.Alignment | None:
        render_image = self.render_grey()
        tile_image = self.grey(tiles.indices[position])
        if render_image is None or tile_image is None:
            return None
        offset = 0.0 if fixed else tiles.offsets[position]
        search = element_id in self.chosen or self._searches < MAX_SEARCHES
        result = align_mod.align(
            render_image, tile_image, doc_box, (doc_box[0], doc_box[1] - offset), hints=self._moves[:4], search=search
        )
        if result.checked and not (result.matched or result.ring_matched or result.dimmed) and search:
            self._searches += element_id not in self.chosen
        if result.moved:
            move = (result.dx, result.dy)
            if move in self._moves:
                self._moves.remove(move)
            self._moves.insert(0, move)
        return result

    def _snap_to_legacy(self, location: Location) -> Location:
        if location.tile is None or location.box is None or not self.legacy_present():
            return location
        drawn = self.legacy_boxes(location.tile)
        if not drawn:
            if self.legacy_present():
                location.reason = (
                    location.reason or ""
                ) + "; the screenshots carry Skyvern's own boxes (v1.0.41 or earlier)"
            return location
        best = legacy.match(drawn, location.box)
        if best is None:
            location.reason = (location.reason or "") + (
                "; the screenshot carries Skyvern's own boxes (v1.0.41 or earlier), none fits this element"
            )
            return location
        box, score = best
        dx, dy = box[0] - location.box[0], box[1] - location.box[1]
        others = [(t, (b[0] + dx, b[1] + dy, box[2], box[3])) for t, b in location.others]
        snapped = Location(
            LEGACY,
            location.tile,
            box,
            round(min(0.95, 0.6 + 0.4 * score), 2),
            "the screenshot carries Skyvern's own boxes (v1.0.41 or earlier); this is the drawn box that fits "
            + ("the re-rendered element" if location.method == RENDERED else "where its text or shape was found"),
            checked=True,
        )
        snapped.others = others
        return snapped

    # --- computer-use points --------------------------------------------------------------------

    def point(self, action: Action) -> Location | None:
        xy = exact.point_of(action)
        if xy is None:
            return None
        if not self.shots or self.viewport is None:
            return Location.unknown("a computer-use click point, but no readable screenshot_llm to put it on")
        width, height = self.viewport
        x, y = xy
        if x > width or y > height:
            return Location.unknown(f"the click point {x:g},{y:g} lies outside the {width}x{height} screenshot")
        return Location(
            EXACT,
            self.shots[0][0],  # computer-use engines take one screenshot per call
            (round(x), round(y), 0, 0),
            1.0,
            "computer-use click point (x/y), not an element box",
        )


def _signed(value: int) -> str:
    return f"{value:+d}"


def locate_step(
    step: StepData,
    *,
    render: bool = True,
    include_all: bool = False,
    ids: list[str] | None = None,
    renderer: Renderer | None = None,
) -> dict[str, Location]:
    """Where each chosen element (and, with ``include_all``, every interactable one) was on the tiles."""
    return locate_steps([step], render=render, include_all=include_all, ids=ids, renderer=renderer)[0]


def locate_steps(
    steps: list[StepData],
    *,
    render: bool = True,
    include_all: bool = False,
    ids: list[str] | None = None,
    renderer: Renderer | None = None,
    workers: int = WORKERS,
) -> list[dict[str, Location]]:
    """:func:`locate_step` for several steps at once: every step's re-render is handed to the browser first (it
    renders several in parallel pages of one Chromium), then the steps are located by ``workers`` threads (the
    screenshot search runs Tesseract as a process of its own; image work releases the interpreter)."""

    def wanted_of(step: StepData) -> list[str]:
        wanted = list(ids) if ids is not None else chosen_ids(step)
        if include_all:
            wanted += [i for i in interactable_ids(step) if i not in wanted]
        return wanted

    jobs = [(StepLocator(step, render=render, renderer=renderer), wanted_of(step)) for step in steps]
    # Renders are handed to the browser a few steps ahead of the ones being placed (its pages' worth and one
    # per worker), in step order: all at once would only make the first ones wait for the last.
    ahead = (renderer.pages if renderer is not None else shared_pages()) + workers
    started = [False] * len(jobs)
    lock = threading.Lock()

    def start_up_to(index: int) -> None:
        with lock:
            for position in range(index, min(len(jobs), index + ahead)):
                if not started[position]:
                    started[position] = True
                    locator, wanted = jobs[position]
                    if any(locator.needs_render(element_id) for element_id in wanted):
                        locator.start()

    def work(index: int) -> dict[str, Location]:
        start_up_to(index)
        locator, wanted = jobs[index]
        locator.prefetch(wanted)
        try:
            return {element_id: locator.locate(element_id) for element_id in wanted}
        finally:
            locator.release()
            allocator.trim()  # the CLI's process: the step's freed pictures go back at once

    if len(jobs) <= 1 or workers <= 1:
        return [work(index) for index in range(len(jobs))]
    with ThreadPoolExecutor(max_workers=min(workers, len(jobs)), thread_name_prefix="debugkit-locate") as pool:
        return list(pool.map(work, range(len(jobs))))


def locate_actions(
    step: StepData, locations: dict[str, Location] | None = None, *, render: bool = True
) -> dict[int, Location]:
    """Per action (by ``Action.index``): its element's location, or its computer-use click point."""
    if locations is None:
        locations = locate_step(step, render=render)
    locator = StepLocator(step, render=False)
    out: dict[int, Location] = {}
    for action in step.actions:
        point = locator.point(action)
        if point is not None:
            out[action.index] = point
        elif action.element_id and action.element_id in locations:
            out[action.index] = locations[action.element_id]
        elif action.element_id:
            out[action.index] = locate_step(step, render=render, ids=[action.element_id])[action.element_id]
    return out


def find_step(run: RunData, ref: str) -> StepData:
    """A step by id (``stp_...``), by order (``"2"``, its last retry) or ``order.retry`` (``"2.0"``).

    Raises UsageError with the steps there are when nothing matches.
    """
    step_id = pick_step([(s.step_id, s.order, s.retry_index) for s in run.steps], ref)
    return next(s for s in run.steps if s.step_id == step_id)


def annotate_step(
    run: RunData,
    ref: str,
    out_dir: Any,
    *,
    render: bool = True,
    include_all: bool = True,
    renderer: Renderer | None = None,
) -> tuple[list[Any], dict[str, Location]]:
    """What ``debugkit annotate SOURCE --step REF -o DIR`` does: locate, then write the numbered pictures.

    Every tile of the step's first screenshot set is written, with every interactable element's box
    (``include_all``) and the chosen ones emphasised. Returns the files written and the locations.
    """
    from debugkit.locate.draw import annotate

    step = find_step(run, ref)
    locator = StepLocator(step, render=render, renderer=renderer)
    wanted = chosen_ids(step)
    if include_all:
        wanted += [i for i in interactable_ids(step) if i not in wanted]
    locations = {element_id: locator.locate(element_id) for element_id in wanted}
    for action in step.actions:
        point = locator.point(action)
        if point is not None:
            locations[f"@{action.index}"] = point
    tiles = locator.tiles()
    indices = tiles.indices if tiles is not None else [i for i, _ in locator.shots[:1]]
    return annotate(step, locations, out_dir, tiles=indices), locations

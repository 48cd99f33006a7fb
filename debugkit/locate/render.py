"""Re-render an ``html_scrape`` in headless Chromium and measure every ``[unique_id]`` element.

The only module of ``debugkit.locate`` that drives a browser: Debian's Chromium, its headless shell
``/usr/bin/chromium-headless-shell`` where installed, else ``/usr/bin/chromium`` (or ``$DEBUGKIT_CHROMIUM``), over its
DevTools pipe (:mod:`debugkit.locate.cdp`, standard library only); no browser is ever downloaded.

The scrape is untrusted page content, so:

* page scripts are disabled (``Emulation.setScriptExecutionDisabled``; the measuring code runs through DevTools'
  own evaluation, which still works, in the page's own world but written by us);
* every request is paused and failed (``Fetch``) and counted (``RenderResult.blocked``): the document is put in
  from memory (``Page.setDocumentContent``), so nothing at all has to come from the network. As a second wall the
  browser is started with a dead proxy and a host resolver that resolves nothing, so requests that
  bypass routing (DNS prefetch, preconnect) go nowhere either; such ``<link>`` hints and
  ``<meta http-equiv=refresh>`` are also removed before loading;
* a ``<base href>`` of the page URL is injected (http/https URLs only), so relative URLs resolve the way
  they did, and blocked requests name what the page would have loaded;
* ``<noscript>`` content is hidden: the scrape was taken with scripts on, so it was not shown.

One browser per process is started on first use and reused for every step of every run
(:func:`shared_renderer`), driven by an asyncio loop on a thread of its own, with up to
:data:`PAGES` scrapes rendered at once in pages of the same browser (one fewer than the CPUs, 1 to 3);
:func:`measure_scrape` (blocking) and :func:`submit_scrape` (a future) are the entry points. Whatever prevents
rendering (no Chromium, a launch failure, a timeout) raises :class:`RenderUnavailable` with
a one-line reason.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import html as html_lib
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from typing import Any

from debugkit.locate import cdp
from debugkit.locate.heavy import usable_cpus
from debugkit.locate.model import CoveredBy, RenderedElement, RenderResult
from debugkit.locate.tiles import MAX_TILES, MIN_MOVE, OVERLAP
from debugkit.text import clip

CHROMIUM_ENV = "DEBUGKIT_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
# Debian's chromium-headless-shell: Chromium's old headless mode as a browser of its own (same Blink, no browser UI
# behind it). Used when installed: it starts and stops in about half the CPU time (0.24 s against 0.53 s on 2 CPUs),
# and the whole test suite places elements with it as with the full browser.
HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # What Playwright, which drove it before, passed and what shapes a render or keeps a page awake: the same boxes
    # and pictures as then.
    "--hide-scrollbars",
    "--mute-audio",
    "--force-color-profile=srgb",
    "--blink-settings=primaryHoverType=2,availableHoverTypes=2,primaryPointerType=4,availablePointerTypes=4",
    "--disable-features=PaintHolding,MediaRouter,OptimizationHints,DestroyProfileOnBrowserClose",
    "--enable-features=CDPScreenshotNewSurface",
    "--disable-field-trial-config",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-back-forward-cache",
    "--disable-breakpad",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
    "--disable-hang-monitor",
    "--disable-ipc-flooding-protection",
    "--disable-popup-blocking",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--password-store=basic",
    "--use-mock-keychain",
    "--no-service-autorun",
    # A second wall behind the route: nothing resolves, and every connection goes to a dead proxy.
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]
DEFAULT_VIEWPORT = (1920, 1080)  # Skyvern's default; callers pass the screenshot's size when they have it
TIMEOUT_MS = 15_000


# Scrapes rendered at once by one browser (pages of one context): one fewer than the CPUs this process may use,
# 1 to 3. Rendering is CPU-bound in Chromium's renderer processes, and the steps already rendered are placed
# meanwhile (two threads, Tesseract): on 2 CPUs a second page rendered the bench's 52 scrapes no sooner and a
# third later (bench/locate.py --report).
PAGES = max(1, min(3, usable_cpus() - 1))


RENDER_NICE = 10  # the renderer thread's niceness, and so Chromium's browser process's


def _leave_a_cpu() -> None:
    """Keep the interpreter's own thread ahead of the browser: the calling (renderer) thread, and so the Chromium it
    starts (children inherit the mask and the niceness), may use every CPU of this process but
    the first, and run at nice :data:`RENDER_NICE`.

    The browser starts while the run is read, the busiest moment of the command: on 2 CPUs, the mask alone took
    ``bench/scale.py``'s 40-step triage from 2.95 s to 2.75 s, and the lower priority from 1.96 s to 1.74 s (mean
    of 6) once that run's HAR was parsed in two processes (nice 19 gave the same; the report's time, where the
    browser's renders are the work, did not change: 9.7-9.9 s). Chromium may raise its own helpers' priority (as
    root, its zygote runs at -8, and ``--no-zygote`` made no difference). Linux only (there niceness is per thread),
    and the mask only with two CPUs or more; the renderer thread does nothing else, and is never given its priority
    back.
    """
    if not sys.platform.startswith("linux"):
        return
    native = threading.get_native_id()
    try:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) >= 2:
            os.sched_setaffinity(native, cpus[1:])
    except (AttributeError, OSError):  # a mask we may not set: start as before
        pass
    with contextlib.suppress(AttributeError, OSError):  # (raising one's niceness is always allowed)
        os.setpriority(os.PRIO_PROCESS, native, max(os.getpriority(os.PRIO_PROCESS, native), RENDER_NICE))


_CACHE_SIZE = 4  # re-renders kept (the report places steps in order; a scrape seen again is usually the next one)
_TEXT_LIMIT = 120
_MEASURE_ARGS = {"textLimit": _TEXT_LIMIT, "maxTiles": MAX_TILES, "overlap": OVERLAP, "minMove": MIN_MOVE}
_FAMILIES = ("sans-serif", "serif", "monospace", "system-ui", "Arial", "Helvetica")
_WARM_HTML = (
    "<!DOCTYPE html><html><body>"
    + "".join(f'<p style="font-family:{family}">Aa 1 <b>Bb</b> <i>Cc</i></p>' for family in _FAMILIES)
    + '<input unique_id="A" value="a"><select><option>b</option></select><button>c</button>'
    + '<input type="checkbox"><textarea>d</textarea></body></html>'
)

_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_HTML = re.compile(r"<html\b[^>]*>", re.IGNORECASE)
_DOCTYPE = re.compile(r"^\s*<!doctype[^>]*>", re.IGNORECASE)
_META_REFRESH = re.compile(r"<meta\b[^>]*http-equiv\s*=\s*[\"']?\s*refresh[^>]*>", re.IGNORECASE)
_LINK_HINT = re.compile(
    r"<link\b[^>]*\brel\s*=\s*[\"']?[^\"'>]*\b(?:dns-prefetch|preconnect|prerender)\b[^>]*>", re.IGNORECASE
)

# Runs in the page through CDP (page scripts are off). Boxes are taken at scroll 0, so viewport
# coordinates are document coordinates; fixed-position elements are flagged.
_MEASURE_JS = """
({textLimit, maxTiles, overlap, minMove}) => {
  const fixedCache = new Map();
  const isFixed = (el) => {
    const chain = [];
    let node = el;
    let found = false;
    while (node && node.nodeType === 1) {
      if (fixedCache.has(node)) { found = fixedCache.get(node); break; }
      chain.push(node);
      if (getComputedStyle(node).position === "fixed") { found = true; break; }
      node = node.parentElement;
    }
    for (const n of chain) fixedCache.set(n, found);
    return found;
  };
  const fold = (text) => (text || "").replace(/\\s+/g, " ").trim().slice(0, textLimit);
  window.scrollTo(0, 0);
  const out = {};
  const nodes = {};
  for (const el of document.querySelectorAll("[unique_id]")) {
    const id = el.getAttribute("unique_id");
    if (id in out) continue;
    const r = el.getBoundingClientRect();
    const text = fold(el.innerText || el.value || el.getAttribute("aria-label") || "");
    const tag = el.tagName.toLowerCase();
    const info = {tag: tag, type: (el.getAttribute("type") || "").toLowerCase(),
                  placeholder: fold(el.getAttribute("placeholder")), label: ""};
    if (el.labels && el.labels.length) info.label = fold(el.labels[0].innerText);
    if (tag === "label" && el.control) info.control = el.control.getAttribute("unique_id") || "";
    const chosen = tag === "select" && el.selectedOptions ? el.selectedOptions[0] : null;
    if (chosen) info.value = fold(chosen.text);
    if (tag === "iframe") {
      const style = getComputedStyle(el);
      info.content = [r.left + el.clientLeft + parseFloat(style.paddingLeft),
                      r.top + el.clientTop + parseFloat(style.paddingTop),
                      el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight),
                      el.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom)];
    }
    out[id] = [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height, isFixed(el), text, info];
    nodes[id] = el;
  }
  const root = document.scrollingElement || document.documentElement;
  const body = document.body;
  const height = Math.max(root.scrollHeight, body ? body.scrollHeight : 0);
  // What lies on top of each element at its centre, on the screenshot that shows it (the documented
  // scroll rule): an overlay, a banner, a dialog. Elements are grouped by scroll offset.
  const vh = window.innerHeight;
  const offsets = [0];
  if (height > vh) {
    while (offsets.length < maxTiles) {
      const next = Math.min(offsets[offsets.length - 1] + vh - overlap, height - vh);
      if (next - offsets[offsets.length - 1] <= minMove) break;
      offsets.push(next);
    }
  }
  const byOffset = new Map();
  for (const [id, v] of Object.entries(out)) {
    const [x, y, w, h, fixed] = v;
    if (w <= 0 || h <= 0) continue;
    let best = null;
    for (const off of (fixed ? [0] : offsets)) {
      const top = fixed ? y : y - off;
      const share = Math.max(0, Math.min(top + h, vh) - Math.max(top, 0)) / h;
      if (share > 0 && (best === null || share > best[0] + 1e-9)) best = [share, off];
    }
    if (best === null) continue;
    if (!byOffset.has(best[1])) byOffset.set(best[1], []);
    byOffset.get(best[1]).push(id);
  }
  const covered = {};
  for (const [off, ids] of byOffset) {
    window.scrollTo(0, off);
    const sy = window.scrollY;
    for (const id of ids) {
      const el = nodes[id];
      const r = el.getBoundingClientRect();
      const cx = r.left + r.width / 2, cy = r.top + Math.min(r.height, vh - r.top) / 2;
      if (cx < 0 || cy < 0 || cx >= window.innerWidth || cy >= vh) continue;
      const hit = document.elementFromPoint(cx, cy);
      if (!hit || hit === el || el.contains(hit) || hit.contains(el)) continue;
      if (el.tagName === "LABEL" || (el.labels && Array.from(el.labels).some((l) => l.contains(hit)))) continue;
      const owner = hit.closest("[unique_id]");
      covered[id] = {element_id: owner && !owner.contains(el) ? owner.getAttribute("unique_id") : null,
                     tag: hit.tagName.toLowerCase(), text: fold(hit.innerText || hit.getAttribute("aria-label") || ""),
                     fixed: isFixed(hit), scroll: sy};
    }
  }
  window.scrollTo(0, 0);
  return {
    elements: out,
    covered: covered,
    height: height,
    width: Math.max(root.scrollWidth, body ? body.scrollWidth : 0),
  };
}
"""


class RenderUnavailable(Exception):
    """The scrape cannot be re-rendered here; ``reason`` says why in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def chromium_path() -> str:
    """``$DEBUGKIT_CHROMIUM``; else Debian's headless shell when installed; else ``/usr/bin/chromium``."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured
    if os.path.isfile(HEADLESS_SHELL) and os.access(HEADLESS_SHELL, os.X_OK):
        return HEADLESS_SHELL
    return DEFAULT_CHROMIUM


def unavailable_reason(executable: str | None = None) -> str | None:
    """Why rendering cannot work here (checked without starting anything), or None."""
    path = executable or chromium_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        return f"no Chromium at {path} (install it, e.g. apt-get install chromium, or set {CHROMIUM_ENV})"
    if not hasattr(os, "posix_spawn"):  # pragma: no cover - not a POSIX system
        return "re-rendering needs a POSIX system (Chromium is started with its DevTools pipe)"
    return None


def prepare_html(html: str, page_url: str | None) -> str:
    """The scrape made safe and faithful to load from memory (see the module docstring)."""
    html = _META_REFRESH.sub("", html)
    html = _LINK_HINT.sub("", html)
    inject = "<style>noscript{display:none!important}</style>"
    if page_url and re.match(r"^https?://[^\s\"'<>]+$", page_url, re.IGNORECASE):
        inject = f'<base href="{html_lib.escape(page_url, quote=True)}">' + inject
    head = _HEAD.search(html)
    if head:
        return html[: head.end()] + inject + html[head.end() :]
    root = _HTML.search(html)
    if root:
        return html[: root.end()] + "<head>" + inject + "</head>" + html[root.end() :]
    doctype = _DOCTYPE.match(html)
    at = doctype.end() if doctype else 0
    return html[:at] + inject + html[at:]


class Renderer:
    """One headless Chromium, started on first use; measure as many scrapes as you like, then close.

    The browser is driven over its DevTools pipe from a thread of the renderer's own (an asyncio loop), so any
    thread may call :meth:`measure` (blocking) or :meth:`submit` (a future), and up to ``pages`` scrapes are
    loaded and measured at once, each in a page of the same browser. ``with Renderer() as r:`` closes it; the
    shared instance behind :func:`measure_scrape` is closed by :func:`shutdown` (and at exit).
    """

    def __init__(self, executable: str | None = None, timeout_ms: int = TIMEOUT_MS, pages: int = PAGES) -> None:
        self.executable = executable or chromium_path()
        self.timeout_ms = timeout_ms
        self.pages = max(1, pages)
        self._cache: OrderedDict[tuple[str, str, tuple[int, int], bool], RenderResult] = OrderedDict()
        self._pending: dict[tuple[str, str, tuple[int, int], bool], Future[RenderResult]] = {}
        self._lock = threading.Lock()
        self._failed: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._browser: cdp.Browser | None = None
        self._profile: str | None = None
        self._idle: list[Any] = []  # pages free for the next scrape
        self._opened = 0
        self._page_slots: asyncio.Semaphore | None = None
        self._starting: asyncio.Lock | None = None  # made on the loop, when first needed
        self._stopping: Future[None] | None = None  # close_soon's closing, awaited by close

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the loop thread ------------------------------------------------------------------------

    def _run(self, coroutine: Any) -> Future[Any]:
        """Schedule ``coroutine`` on the renderer's loop (started on first use)."""
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=serve, name="debugkit-render", daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    @property
    def started(self) -> bool:
        """Whether Chromium is up (started on first use, or in the background by :meth:`start_soon`)."""
        return self._browser is not None

    def start_soon(self) -> None:
        """Start Chromium in the background, without waiting: a command that will place elements starts it while
        the run is still being read, so the browser's start (about a second) overlaps the parsing. A failure is
        kept and said by the first scrape, as when it starts on first use."""
        if self._browser is not None or self._failed:
            return
        self._run(self._start()).add_done_callback(lambda done: done.exception())

    def _ensure(self) -> None:
        """Start Chromium now (it is otherwise started by the first scrape); raises RenderUnavailable."""
        self._run(self._start()).result()

    async def _start(self) -> cdp.Browser:
        """The browser (in a temporary profile folder of our own), started once however many scrapes ask for it at
        the same time."""
        if self._browser is not None:
            return self._browser
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            return await self._launch()

    async def _launch(self) -> cdp.Browser:
        if self._browser is not None:
            return self._browser
        if self._failed:
            raise RenderUnavailable(self._failed)
        reason = unavailable_reason(self.executable)
        if reason:
            self._failed = reason
            raise RenderUnavailable(reason)
        _leave_a_cpu()
        try:
            self._profile = tempfile.mkdtemp(prefix="debugkit-chromium-")
            timeout = self.timeout_ms * 2 / 1000
            self._browser = await cdp.Browser.launch(self.executable, CHROMIUM_ARGS, self._profile, timeout)
            self._page_slots = asyncio.Semaphore(self.pages)
            page = await self._browser.new_page(self.timeout_ms / 1000)
            await self._warm(page)
            self._idle = [page]
            self._opened = 1
        except Exception as exc:  # any launch failure is a reason, not a crash
            await self._stop()
            self._failed = f"Chromium could not be started: {_one_line(exc)}"
            raise RenderUnavailable(self._failed) from None
        return self._browser

    async def _warm(self, page: Any) -> None:
        """A small page laid out, measured and captured once at start: the fonts, form controls and capture path
        that the first scrape would otherwise load (about 0.3 s of the first step)."""
        timeout = self.timeout_ms / 1000
        try:
            await page.set_viewport(DEFAULT_VIEWPORT[0], DEFAULT_VIEWPORT[1], timeout)
            await page.set_content(_WARM_HTML, timeout)
            await page.evaluate(_MEASURE_JS, _MEASURE_ARGS, timeout)
            await page.capture(64, 64, timeout)
            await page.set_content(cdp.BLANK, timeout)
        except Exception:  # a page that cannot warm up renders cold
            pass

    async def _take_page(self) -> cdp.Page:
        browser = await self._start()
        assert self._page_slots is not None
        await self._page_slots.acquire()
        while self._idle:
            page = self._idle.pop()
            if not page.is_closed():
                return page
            self._opened -= 1
        try:
            page = await browser.new_page(self.timeout_ms / 1000)
        except Exception as exc:
            self._page_slots.release()
            raise RenderUnavailable(f"Chromium could not open a page: {_one_line(exc)}") from None
        self._opened += 1
        return page

    def _give_back(self, page: cdp.Page, broken: bool) -> None:
        if broken:
            self._opened -= 1
            asyncio.ensure_future(_close_quietly(page))
        else:
            self._idle.append(page)
        if self._page_slots is not None:
            self._page_slots.release()

    # --- measuring --------------------------------------------------------------------------------

    def measure(
        self,
        html: str,
        page_url: str | None = None,
        viewport: tuple[int, int] = DEFAULT_VIEWPORT,
        *,
        screenshot: bool = True,
    ) -> RenderResult:
        """Load ``html`` at ``viewport`` and measure every ``[unique_id]`` element (cached per input)."""
        return self.submit(html, page_url, viewport, screenshot=screenshot).result()

    def submit(
        self,
        html: str,
        page_url: str | None = None,
        viewport: tuple[int, int] = DEFAULT_VIEWPORT,
        *,
        screenshot: bool = True,
    ) -> Future[RenderResult]:
        """Start measuring ``html`` (see :meth:`measure`) and return at once: a future of the result, which raises
        RenderUnavailable. Several scrapes submitted together are rendered in several pages at once."""
        width, height = int(viewport[0]), int(viewport[1])
        if not (16 <= width <= 10_000 and 16 <= height <= 10_000):
            return _failed(RenderUnavailable(f"implausible viewport {width}x{height}"))
        key = (
            hashlib.sha256(html.encode("utf-8", "surrogatepass")).hexdigest(),
            page_url or "",
            (width, height),
            screenshot,
        )
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                done: Future[RenderResult] = Future()
                done.set_result(cached)
                return done
            pending = self._pending.get(key)
            if pending is not None:
                return pending
        future = self._run(self._measure(html, page_url, (width, height), screenshot))
        with self._lock:
            self._pending[key] = future
        future.add_done_callback(lambda f: self._finished(key, f))
        return future

    def _finished(self, key: tuple[str, str, tuple[int, int], bool], future: Future[RenderResult]) -> None:
        with self._lock:
            self._pending.pop(key, None)
            if not future.cancelled() and future.exception() is None:
                self._cache[key] = future.result()
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    async def _measure(
        self, html: str, page_url: str | None, viewport: tuple[int, int], screenshot: bool
    ) -> RenderResult:
        width, height = viewport
        page = await self._take_page()
        started = time.perf_counter()
        page.blocked = blocked = []
        broken = False
        timeout = self.timeout_ms / 1000
        try:
            if page.size != viewport:
                await page.set_viewport(width, height, timeout)
            await page.set_content(prepare_html(html, page_url), timeout)
            measured = await page.evaluate(_MEASURE_JS, _MEASURE_ARGS, timeout)
            if not isinstance(measured, dict):
                raise cdp.CdpError("the measuring script gave no answer")
            page_height = float(measured.get("height") or height)
            image = None
            if screenshot:
                clip_height = max(1, min(int(page_height), height * MAX_TILES))
                image = await page.capture(width, clip_height, timeout)
            # Leave an empty page behind: nothing of this scrape stays loaded between steps.
            await page.set_content(cdp.BLANK, timeout)
        except Exception as exc:
            broken = True
            raise RenderUnavailable(f"re-rendering the scrape failed: {_one_line(exc)}") from None
        finally:
            self._give_back(page, broken)
        return _result(measured, (width, height), list(blocked), image, time.perf_counter() - started)

    # --- closing ----------------------------------------------------------------------------------

    def close_soon(self) -> None:
        """Start closing Chromium without waiting (a command that will render nothing more, while it writes its
        output); :meth:`close` then waits for it and removes the profile folder."""
        with self._lock:
            if self._loop is not None and self._stopping is None:
                self._stopping = asyncio.run_coroutine_threadsafe(self._close(), self._loop)

    def close(self) -> None:
        """Close Chromium, wait until its processes are gone and remove its profile folder (from any thread)."""
        with self._lock:
            loop, thread, stopping = self._loop, self._thread, self._stopping
            self._loop = self._thread = self._stopping = None
        if loop is not None and thread is not None:
            if thread is threading.current_thread():  # pragma: no cover - closing from a page callback
                raise RuntimeError("Renderer.close() called from its own loop")
            with contextlib.suppress(Exception):  # closing is best effort
                if stopping is None:
                    stopping = asyncio.run_coroutine_threadsafe(self._close(), loop)
                stopping.result(timeout=30)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            if not thread.is_alive():
                loop.close()
        profile, self._profile = self._profile, None
        if profile:
            _end_processes_using(profile)
            shutil.rmtree(profile, ignore_errors=True)
        with self._lock:
            self._cache.clear()

    async def _close(self) -> None:
        """Stop, once a start in progress has finished: stopped in the middle of its start, the browser being
        spawned is left running and the loop closes on its pending task (a command that fails at once, e.g. on
        an unknown ``--step``, while Chromium starts in the background)."""
        if self._starting is not None:
            async with self._starting:
                await self._stop()
        else:
            await self._stop()

    async def _stop(self) -> None:
        browser, self._browser = self._browser, None
        if browser is not None:
            with contextlib.suppress(Exception):
                await browser.close()
        self._idle = []
        self._opened = 0
        self._page_slots = None
        self._starting = None


def _result(
    measured: dict[str, Any], viewport: tuple[int, int], blocked: list[tuple[str, str]], image: bytes | None,
    seconds: float,
) -> RenderResult:
    """The measuring script's answer as a RenderResult."""
    width, height = viewport
    elements = {}
    covered = measured.get("covered") or {}
    for element_id, values in (measured.get("elements") or {}).items():
        x, y, w, h, fixed, text, info = values
        over = covered.get(element_id)
        content = info.get("content")
        elements[str(element_id)] = RenderedElement(
            box=(float(x), float(y), float(w), float(h)),
            fixed=bool(fixed),
            text=str(text),
            tag=str(info.get("tag") or ""),
            input_type=str(info.get("type") or ""),
            placeholder=str(info.get("placeholder") or ""),
            label=str(info.get("label") or ""),
            value=str(info.get("value") or ""),
            control=str(info.get("control") or ""),
            content=tuple(float(v) for v in content) if content else None,
            covered_by=CoveredBy(
                element_id=over.get("element_id"),
                tag=str(over.get("tag") or ""),
                text=str(over.get("text") or ""),
                fixed=bool(over.get("fixed")),
            )
            if over
            else None,
        )
    return RenderResult(
        viewport=(width, height),
        page_width=float(measured.get("width") or width),
        page_height=float(measured.get("height") or height),
        elements=elements,
        blocked=blocked,
        image=image,
        seconds=seconds,
    )


async def _close_quietly(page: cdp.Page) -> None:
    with contextlib.suppress(Exception):  # the browser may already be gone
        await page.close()


def _failed(exc: BaseException) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_exception(exc)
    return future


def _end_processes_using(profile: str, wait: float = 5.0) -> None:
    """Wait for the Chromium processes started with ``profile`` to exit; kill those still there after ``wait``.

    They are found by their command line (``--user-data-dir=<profile>``, a folder made for this renderer
    alone), so no other process is ever touched.
    """
    deadline = time.monotonic() + wait
    while True:
        pids = _pids_with_argument(f"--user-data-dir={profile}")
        if not pids:
            return
        if time.monotonic() >= deadline:
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.02)


def _pids_with_argument(argument: str) -> list[int]:
    """Processes (Linux ``/proc``) with ``argument`` on their command line."""
    found = []
    needle = argument.encode()
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                args = handle.read().split(b"\0")
        except OSError:
            continue
        if needle in args:
            found.append(int(entry))
    return found


_local = threading.local()
_all: list[Renderer] = []
_all_lock = threading.Lock()
_shared: Renderer | None = None


def get_renderer() -> Renderer:
    """This thread's own renderer (started on first use, closed by :func:`shutdown` and at exit)."""
    renderer = getattr(_local, "renderer", None)
    if renderer is None:
        renderer = Renderer()
        _local.renderer = renderer
        with _all_lock:
            _all.append(renderer)
    return renderer


def shared_renderer() -> Renderer:
    """The process's shared renderer: one browser for every step of every run, several pages at once."""
    global _shared
    with _all_lock:
        if _shared is None:
            _shared = Renderer()
            _all.append(_shared)
        return _shared


def warm_up() -> None:
    """Start the shared renderer's browser in the background (see :meth:`Renderer.start_soon`)."""
    shared_renderer().start_soon()


def shared_pages() -> int:
    """How many scrapes the shared renderer renders at once."""
    return _shared.pages if _shared is not None else PAGES


def measure_scrape(
    html: str,
    page_url: str | None,
    viewport: tuple[int, int] = DEFAULT_VIEWPORT,
    *,
    screenshot: bool = True,
    renderer: Renderer | None = None,
) -> RenderResult:
    """Document-coordinate boxes of every ``[unique_id]`` element of ``html`` rendered at ``viewport``.

    Without an explicit ``renderer`` the shared one is used (:func:`shared_renderer`). Its browser runs on a
    thread of its own, so the caller's thread never holds its event loop (a caller may run an asyncio loop or
    Playwright itself, e.g. a test's browser). Raises :class:`RenderUnavailable` when it cannot render.
    """
    return submit_scrape(html, page_url, viewport, screenshot=screenshot, renderer=renderer).result()


def submit_scrape(
    html: str,
    page_url: str | None,
    viewport: tuple[int, int] = DEFAULT_VIEWPORT,
    *,
    screenshot: bool = True,
    renderer: Renderer | None = None,
) -> Future[RenderResult]:
    """:func:`measure_scrape` without waiting: a future of the result (several render at once)."""
    return (renderer or shared_renderer()).submit(html, page_url, viewport, screenshot=screenshot)


def close_soon() -> None:
    """Start closing every renderer (see :meth:`Renderer.close_soon`); :func:`shutdown` finishes it."""
    with _all_lock:
        renderers = list(_all)
    for renderer in renderers:
        renderer.close_soon()


def shutdown() -> None:
    """Close every renderer debugkit started: Chromium exits and its profile folder is removed.

    Call it when a command is done (the CLI does); a later render starts a new browser. Also runs at exit.
    """
    with _all_lock:
        renderers = list(_all)
    for renderer in renderers:
        with contextlib.suppress(Exception):  # closing is best effort
            renderer.close()


@atexit.register
def _close_all() -> None:
    shutdown()


def _one_line(exc: BaseException) -> str:
    return clip(str(exc), 200) or type(exc).__name__

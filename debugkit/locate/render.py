"""Re-render an ``html_scrape`` in headless Chromium and measure every ``[unique_id]`` element.

The only module of ``debugkit.locate`` that drives a browser. It uses Playwright's Python package (the
optional extra ``debugkit[render]``) with Debian's Chromium at ``/usr/bin/chromium`` (or
``$DEBUGKIT_CHROMIUM``); no browser is ever downloaded.

The scrape is untrusted page content, so:

* page scripts are disabled (``java_script_enabled=False``; the measuring code runs through Playwright's
  ``evaluate``, which still works, in the page's own world but written by us);
* every request is aborted by a route and counted (``RenderResult.blocked``): the document is loaded from
  memory with ``set_content``, so nothing at all has to come from the network. As a second wall the
  browser is started with a dead proxy and a host resolver that resolves nothing, so requests that
  bypass routing (DNS prefetch, preconnect) go nowhere either; such ``<link>`` hints and
  ``<meta http-equiv=refresh>`` are also removed before loading;
* a ``<base href>`` of the page URL is injected (http/https URLs only), so relative URLs resolve the way
  they did, and blocked requests name what the page would have loaded;
* ``<noscript>`` content is hidden: the scrape was taken with scripts on, so it was not shown.

One browser per thread is started on first use and reused for every step of every run
(:func:`get_renderer`); :func:`measure_scrape` is the entry point. Whatever prevents rendering (no
playwright package, no Chromium, a launch failure, a timeout) raises :class:`RenderUnavailable` with a
one-line reason.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import html as html_lib
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from debugkit.locate.model import CoveredBy, RenderedElement, RenderResult
from debugkit.locate.tiles import MAX_TILES, MIN_MOVE, OVERLAP

CHROMIUM_ENV = "DEBUGKIT_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # A second wall behind the route: nothing resolves, and every connection goes to a dead proxy.
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]
DEFAULT_VIEWPORT = (1920, 1080)  # Skyvern's default; callers pass the screenshot's size when they have it
TIMEOUT_MS = 15_000
_CACHE_SIZE = 8
_TEXT_LIMIT = 120

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
    return os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM


def unavailable_reason(executable: str | None = None) -> str | None:
    """Why rendering cannot work here (checked without starting anything), or None."""
    path = executable or chromium_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        return f"no Chromium at {path} (install it, e.g. apt-get install chromium, or set {CHROMIUM_ENV})"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install 'debugkit[render]'; no browser download needed)"
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

    Bound to the thread that started it (Playwright's sync API is). Use :func:`get_renderer` for the
    shared per-thread instance, or ``with Renderer() as r:`` for a private one.
    """

    def __init__(self, executable: str | None = None, timeout_ms: int = TIMEOUT_MS) -> None:
        self.executable = executable or chromium_path()
        self.timeout_ms = timeout_ms
        self._playwright: Any = None
        self._manager: Any = None
        self._profile: str | None = None
        self.thread = threading.current_thread()  # Playwright's sync API is bound to one thread
        self._cache: OrderedDict[tuple[str, str, tuple[int, int], bool], RenderResult] = OrderedDict()
        self._failed: str | None = None
        self._context: Any = None
        self._page: Any = None
        self._page_size: tuple[int, int] | None = None
        self._blocked: list[tuple[str, str]] = []
        self.launch_seconds: float | None = None

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure(self) -> Any:
        """The browser's one context (a persistent one, in a temporary profile folder of our own)."""
        if self._context is not None:
            return self._context
        if self._failed:
            raise RenderUnavailable(self._failed)
        reason = unavailable_reason(self.executable)
        if reason:
            self._failed = reason
            raise RenderUnavailable(reason)
        started = time.perf_counter()
        try:
            from playwright.sync_api import sync_playwright

            self._profile = tempfile.mkdtemp(prefix="debugkit-chromium-")
            self._manager = sync_playwright()
            self._playwright = self._manager.start()
            self._context = self._playwright.chromium.launch_persistent_context(
                self._profile,
                executable_path=self.executable,
                args=CHROMIUM_ARGS,
                headless=True,
                timeout=self.timeout_ms * 2,
                viewport={"width": DEFAULT_VIEWPORT[0], "height": DEFAULT_VIEWPORT[1]},
                device_scale_factor=1,
                java_script_enabled=False,
                service_workers="block",
                accept_downloads=False,
            )
            self._context.set_default_timeout(self.timeout_ms)

            def block(route: Any) -> None:
                self._blocked.append((route.request.resource_type, route.request.url))
                route.abort("blockedbyclient")

            self._context.route("**/*", block)
        except Exception as exc:  # any launch failure is a reason, not a crash
            self.close()
            self._failed = f"Chromium could not be started: {_one_line(exc)}"
            raise RenderUnavailable(self._failed) from None
        self.launch_seconds = time.perf_counter() - started
        return self._context

    def measure(
        self,
        html: str,
        page_url: str | None = None,
        viewport: tuple[int, int] = DEFAULT_VIEWPORT,
        *,
        screenshot: bool = True,
    ) -> RenderResult:
        """Load ``html`` at ``viewport`` and measure every ``[unique_id]`` element (cached per input)."""
        width, height = int(viewport[0]), int(viewport[1])
        if not (16 <= width <= 10_000 and 16 <= height <= 10_000):
            raise RenderUnavailable(f"implausible viewport {width}x{height}")
        key = (
            hashlib.sha256(html.encode("utf-8", "surrogatepass")).hexdigest(),
            page_url or "",
            (width, height),
            screenshot,
        )
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        page = self._page_for(width, height)
        started = time.perf_counter()
        self._blocked = blocked = []
        try:
            page.set_content(prepare_html(html, page_url), wait_until="load", timeout=self.timeout_ms)
            measured = page.evaluate(
                _MEASURE_JS, {"textLimit": _TEXT_LIMIT, "maxTiles": MAX_TILES, "overlap": OVERLAP, "minMove": MIN_MOVE}
            )
            page_height = float(measured.get("height") or height)
            image = None
            if screenshot:
                clip_height = max(1, min(int(page_height), height * MAX_TILES))
                image = page.screenshot(
                    full_page=True,
                    clip={"x": 0, "y": 0, "width": width, "height": clip_height},
                    timeout=self.timeout_ms,
                )
            # Leave an empty page behind: nothing of this scrape stays loaded between steps.
            page.set_content("<!DOCTYPE html><html><body></body></html>", timeout=self.timeout_ms)
        except Exception as exc:
            self._drop_page()
            raise RenderUnavailable(f"re-rendering the scrape failed: {_one_line(exc)}") from None
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
        result = RenderResult(
            viewport=(width, height),
            page_width=float(measured.get("width") or width),
            page_height=page_height,
            elements=elements,
            blocked=blocked,
            image=image,
            seconds=time.perf_counter() - started,
        )
        self._cache[key] = result
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return result

    def _page_for(self, width: int, height: int) -> Any:
        """The reused page (scripts off, every request aborted), at ``width`` x ``height``.

        Opening a page costs a few hundred milliseconds; one is kept and each scrape replaces the previous
        document with ``set_content``.
        """
        context = self._ensure()
        if self._page is None or self._page.is_closed():
            self._drop_page()
            try:
                pages = [p for p in context.pages if not p.is_closed()]
                page = pages[0] if pages else context.new_page()
                page.on("dialog", lambda dialog: dialog.dismiss())
            except Exception as exc:
                raise RenderUnavailable(f"Chromium could not open a page: {_one_line(exc)}") from None
            self._page, self._page_size = page, None
        if self._page_size != (width, height):
            self._page.set_viewport_size({"width": width, "height": height})
            self._page_size = (width, height)
        return self._page

    def _drop_page(self) -> None:
        if self._page is not None:
            with contextlib.suppress(Exception):  # the browser may already be gone
                self._page.close()
        self._page = None
        self._page_size = None

    def close(self) -> None:
        """Close Chromium, wait until its processes are gone and remove its profile folder."""
        self._drop_page()
        for closer in (
            lambda: self._context and self._context.close(),
            lambda: self._manager and self._manager.__exit__(None, None, None),
        ):
            with contextlib.suppress(Exception):  # closing is best effort
                closer()
        self._context = None
        self._playwright = None
        self._manager = None
        profile, self._profile = self._profile, None
        if profile:
            _end_processes_using(profile)
            shutil.rmtree(profile, ignore_errors=True)


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


def get_renderer() -> Renderer:
    """This thread's shared renderer (one browser per thread, started on first use, closed at exit)."""
    renderer = getattr(_local, "renderer", None)
    if renderer is None:
        renderer = Renderer()
        _local.renderer = renderer
        with _all_lock:
            _all.append(renderer)
    return renderer


def measure_scrape(
    html: str,
    page_url: str | None,
    viewport: tuple[int, int] = DEFAULT_VIEWPORT,
    *,
    screenshot: bool = True,
    renderer: Renderer | None = None,
) -> RenderResult:
    """Document-coordinate boxes of every ``[unique_id]`` element of ``html`` rendered at ``viewport``.

    Without an explicit ``renderer`` the work runs on debugkit's own render thread, so the caller's
    thread never holds a Playwright event loop (a caller may run Playwright itself, e.g. a test's
    browser). Raises :class:`RenderUnavailable` when it cannot render.
    """
    if renderer is not None:
        return renderer.measure(html, page_url, viewport, screenshot=screenshot)
    future = _render_thread().submit(
        lambda: get_renderer().measure(html, page_url, viewport, screenshot=screenshot)
    )
    return future.result()


_worker: ThreadPoolExecutor | None = None
_worker_lock = threading.Lock()


def _render_thread() -> ThreadPoolExecutor:
    """The one thread that runs debugkit's shared browser."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="debugkit-render")
        return _worker


def shutdown() -> None:
    """Close every renderer debugkit started: Chromium exits and its profile folder is removed.

    Call it when a command is done (the CLI does); a later render starts a new browser. Also runs at exit.
    """
    with _all_lock:
        renderers = list(_all)
    if not renderers:
        return
    if _worker is not None:  # the shared browser is closed on the thread that started it
        with contextlib.suppress(Exception):
            _worker.submit(lambda: [r.close() for r in renderers if r.thread is threading.current_thread()]).result(
                timeout=30
            )
    for renderer in renderers:
        if renderer.thread is threading.current_thread():
            renderer.close()


@atexit.register
def _close_all() -> None:
    shutdown()
    if _worker is not None:
        _worker.shutdown(wait=False)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"

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
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from debugkit.locate.model import RenderedElement, RenderResult

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
MAX_TILES = 10
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
(textLimit) => {
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
  window.scrollTo(0, 0);
  const out = {};
  for (const el of document.querySelectorAll("[unique_id]")) {
    const id = el.getAttribute("unique_id");
    if (id in out) continue;
    const r = el.getBoundingClientRect();
    const text = (el.innerText || el.value || el.getAttribute("aria-label") || "").replace(/\\s+/g, " ").trim();
    out[id] = [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height, isFixed(el),
               text.slice(0, textLimit)];
  }
  const root = document.scrollingElement || document.documentElement;
  const body = document.body;
  return {
    elements: out,
    height: Math.max(root.scrollHeight, body ? body.scrollHeight : 0),
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
        self._browser: Any = None
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
        if self._browser is not None:
            return self._browser
        if self._failed:
            raise RenderUnavailable(self._failed)
        reason = unavailable_reason(self.executable)
        if reason:
            self._failed = reason
            raise RenderUnavailable(reason)
        started = time.perf_counter()
        try:
            from playwright.sync_api import sync_playwright

            self._manager = sync_playwright()
            self._playwright = self._manager.start()
            self._browser = self._playwright.chromium.launch(
                executable_path=self.executable, args=CHROMIUM_ARGS, headless=True, timeout=self.timeout_ms * 2
            )
        except Exception as exc:  # any launch failure is a reason, not a crash
            self.close()
            self._failed = f"Chromium could not be started: {_one_line(exc)}"
            raise RenderUnavailable(self._failed) from None
        self.launch_seconds = time.perf_counter() - started
        return self._browser

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
            measured = page.evaluate(_MEASURE_JS, _TEXT_LIMIT)
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
        for element_id, values in (measured.get("elements") or {}).items():
            x, y, w, h, fixed, text = values
            elements[str(element_id)] = RenderedElement(
                box=(float(x), float(y), float(w), float(h)), fixed=bool(fixed), text=str(text)
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
        """The reused page (one context, scripts off, every request aborted), at ``width`` x ``height``.

        Creating a context costs a few hundred milliseconds; one is kept and each scrape replaces the
        previous document with ``set_content``.
        """
        browser = self._ensure()
        if self._page is None or self._page.is_closed():
            self._drop_page()
            try:
                context = browser.new_context(
                    viewport={"width": width, "height": height},
                    device_scale_factor=1,
                    java_script_enabled=False,
                    service_workers="block",
                    accept_downloads=False,
                )
                context.set_default_timeout(self.timeout_ms)

                def block(route: Any) -> None:
                    self._blocked.append((route.request.resource_type, route.request.url))
                    route.abort("blockedbyclient")

                context.route("**/*", block)
                page = context.new_page()
                page.on("dialog", lambda dialog: dialog.dismiss())
            except Exception as exc:
                raise RenderUnavailable(f"Chromium could not open a page: {_one_line(exc)}") from None
            self._context, self._page, self._page_size = context, page, (width, height)
        if self._page_size != (width, height):
            self._page.set_viewport_size({"width": width, "height": height})
            self._page_size = (width, height)
        return self._page

    def _drop_page(self) -> None:
        if self._context is not None:
            with contextlib.suppress(Exception):  # the browser may already be gone
                self._context.close()
        self._context = self._page = None
        self._page_size = None

    def close(self) -> None:
        self._drop_page()
        for closer in (
            lambda: self._browser and self._browser.close(),
            lambda: self._manager and self._manager.__exit__(None, None, None),
        ):
            with contextlib.suppress(Exception):  # closing is best effort
                closer()
        self._browser = None
        self._playwright = None
        self._manager = None


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


@atexit.register
def _close_all() -> None:
    with _all_lock:
        renderers = list(_all)
        _all.clear()
    if _worker is not None:  # close the shared browser on the thread that started it
        with contextlib.suppress(Exception):
            _worker.submit(lambda: [r.close() for r in renderers]).result(timeout=30)
        _worker.shutdown(wait=False)
        return
    for renderer in renderers:
        renderer.close()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"

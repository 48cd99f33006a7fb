"""A real headless Chromium for tests: Playwright's Python package driving Debian's ``/usr/bin/chromium``.

Use it from a test module::

    from browser import browser, offline_page  # noqa: F401  (pytest fixtures)

    def test_something(offline_page, tmp_path):
        page, watch = offline_page(path_to_html_file)
        ...
        assert watch.clean(), watch.summary()

* ``browser`` (session scope) launches Chromium once. No browser is ever downloaded (never run
  ``playwright install``): the executable is ``/usr/bin/chromium``, or ``$DEBUGKIT_CHROMIUM``.
* ``offline_page`` opens a local file in a fresh context where every request is routed: the
  file itself (and ``data:`` URIs, which never reach the network) load, **everything else is
  aborted and counted** (``watch.blocked``). Console errors, uncaught page errors and JS dialogs
  (``alert``/``confirm``/``prompt``, auto-dismissed) are collected too.
* Where Chromium or the ``playwright`` package is missing the tests are skipped with the reason,
  except under CI (``$CI`` set, as ``.ci/run`` and CI services do), where they fail instead:
  CI must run them.

:func:`launch_chromium` and :func:`watch_page` are plain functions for scripts (``bench/report.py``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("DEBUGKIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 900}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def browser_unavailable() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and shutil.which(CHROMIUM) is None:
        return f"Chromium not found at {CHROMIUM} (apt-get install -y chromium; .ci/run installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install playwright; no browser download needed)"
    return None


def require_browser() -> None:
    """Skip (locally) or fail (under CI) when the browser tests cannot run."""
    reason = browser_unavailable()
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"browser tests must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def launch_chromium(playwright: Any) -> Any:
    """Launch Debian's Chromium headless with the flags every debugkit browser test uses."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


@dataclass
class PageWatch:
    """What a page did: outside requests (blocked), console errors, page errors, dialogs."""

    allowed: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def clean(self) -> bool:
        return not (self.blocked or self.console_errors or self.page_errors or self.dialogs)

    def summary(self) -> str:
        return (
            f"blocked requests: {self.blocked}; console errors: {self.console_errors}; "
            f"page errors: {self.page_errors}; dialogs: {self.dialogs}"
        )


def watch_page(context: Any, page: Any, allowed_urls: set[str]) -> PageWatch:
    """Route every request of ``context``: only ``allowed_urls`` load; collect what ``page`` does."""
    watch = PageWatch()

    def route(route: Any) -> None:
        url = route.request.url
        if url.split("#", 1)[0] in allowed_urls:
            watch.allowed.append(url)
            route.continue_()
        else:
            watch.blocked.append(url)
            route.abort("blockedbyclient")

    def on_request(request: Any) -> None:  # anything the router did not see (e.g. a service worker)
        url = request.url
        if url.split("#", 1)[0] not in allowed_urls and not url.startswith("data:") and url not in watch.blocked:
            watch.blocked.append(url)

    def on_console(message: Any) -> None:
        if message.type == "error":
            watch.console_errors.append(message.text)

    def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    context.route("**/*", route)
    context.on("request", on_request)
    page.on("console", on_console)
    page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
    page.on("dialog", on_dialog)
    page.on("websocket", lambda ws: watch.blocked.append(ws.url))
    return watch


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


OpenPage = Callable[[Path], tuple[Any, PageWatch]]


@pytest.fixture
def offline_page(browser: Any) -> Iterator[OpenPage]:
    """``open(path) -> (page, watch)``: the file loaded (``load`` event) in a fresh offline context."""
    contexts: list[Any] = []

    def open_file(path: Path) -> tuple[Any, PageWatch]:
        url = Path(path).resolve().as_uri()
        context = browser.new_context(viewport=VIEWPORT, java_script_enabled=True, service_workers="block")
        contexts.append(context)
        page = context.new_page()
        watch = watch_page(context, page, {url})
        page.goto(url, wait_until="load")
        return page, watch

    yield open_file
    for context in contexts:
        context.close()

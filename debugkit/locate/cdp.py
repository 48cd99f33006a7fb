"""Headless Chromium driven over its DevTools pipe: just what re-rendering a scrape needs, with no driver process.

Chromium is started with ``--remote-debugging-pipe``: it reads commands on file descriptor 3 and writes answers and
events on 4, one JSON message each, ended by a NUL byte (the protocol of ``chrome://inspect``). A page is a target
attached in "flat" mode (its commands carry a ``sessionId``). Every request a page makes is paused by the ``Fetch``
domain and failed as blocked by the client, after it is recorded; scripts never run (``Emulation``); the scrape
is put in with ``Page.setDocumentContent`` and measured with ``Runtime.evaluate`` (DevTools' own evaluation runs
while the page's scripts are off).

Playwright did this through its Node.js driver before: the same browser, flags, pages and pictures, for about
0.35 CPU-s less per start (the driver's start) and no Node.js process. Only asyncio and the standard library are
used; everything here runs on the renderer's loop thread (:mod:`debugkit.locate.render`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import time
from collections.abc import Callable
from typing import Any

BLANK = "<!DOCTYPE html><html><body></body></html>"


class CdpError(Exception):
    """A command Chromium refused, a timeout, or a browser that went away."""


class _Pipe(asyncio.Protocol):
    """Chromium's end of the pipe: NUL-ended JSON messages, handed to the connection one by one."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.buffer = bytearray()
        self.scanned = 0  # bytes of the buffer known to hold no NUL (a screenshot arrives in many pieces)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\0", self.scanned)
            if end < 0:
                self.scanned = len(self.buffer)
                return
            message = bytes(self.buffer[:end])
            del self.buffer[: end + 1]
            self.scanned = 0
            self.connection.received(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self.connection.lost("Chromium closed its DevTools pipe")


class Connection:
    """Commands out, answers and events in, over the pipe."""

    def __init__(self) -> None:
        self._next = 0
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._handlers: dict[tuple[str | None, str], Callable[[dict[str, Any]], None]] = {}
        self._writer: asyncio.WriteTransport | None = None
        self.closed: str | None = None

    def received(self, message: bytes) -> None:
        try:
            decoded = json.loads(message)
        except ValueError:
            return
        if not isinstance(decoded, dict):
            return
        if "id" in decoded:
            future = self._pending.pop(decoded["id"], None)
            if future is not None and not future.done():
                future.set_result(decoded)
            return
        handler = self._handlers.get((decoded.get("sessionId"), str(decoded.get("method"))))
        if handler is not None:
            handler(decoded.get("params") or {})

    def lost(self, reason: str) -> None:
        self.closed = self.closed or reason
        for future in self._pending.values():
            if not future.done():
                future.set_exception(CdpError(reason))
        self._pending.clear()

    def on(self, session: str | None, method: str, handler: Callable[[dict[str, Any]], None]) -> None:
        self._handlers[(session, method)] = handler

    def forget(self, session: str) -> None:
        for key in [key for key in self._handlers if key[0] == session]:
            del self._handlers[key]

    async def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None, timeout: float = 15.0
    ) -> dict[str, Any]:
        if self.closed or self._writer is None or self._writer.is_closing():
            raise CdpError(self.closed or "Chromium is not running")
        self._next += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[self._next] = future
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        self._writer.write(json.dumps(message).encode("utf-8") + b"\0")
        try:
            answer = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            self._pending.pop(self._next, None)
            raise CdpError(f"{method} timed out after {timeout:g} s") from None
        if "error" in answer:
            error = answer["error"]
            text = error.get("message") if isinstance(error, dict) else error
            raise CdpError(f"{method}: {text}")
        result = answer.get("result")
        return result if isinstance(result, dict) else {}


class Browser:
    """One Chromium process (its profile folder is the caller's) and its pages."""

    def __init__(self, pid: int, connection: Connection, reader: asyncio.BaseTransport) -> None:
        self.pid = pid
        self.connection = connection
        self._reader = reader
        self.pages: list[Page] = []

    @classmethod
    async def launch(cls, executable: str, args: list[str], profile: str, timeout: float) -> Browser:
        """Start ``executable`` with ``args`` and a pipe on descriptors 3 and 4; raises CdpError or OSError."""
        ours_in, theirs_out = os.pipe()  # Chromium writes answers on its 4
        theirs_in, ours_out = os.pipe()  # and reads commands on its 3
        # Its ends moved above 4 first: a DUP2 onto the descriptor it already is would leave it close-on-exec.
        theirs_in, theirs_out = _above(theirs_in), _above(theirs_out)
        try:
            pid = os.posix_spawn(
                executable,
                [executable, *args, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
                dict(os.environ),
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, theirs_in, 3),
                    (os.POSIX_SPAWN_DUP2, theirs_out, 4),
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),  # its dbus and GPU complaints
                ],
            )
        except BaseException:
            for fd in (ours_in, theirs_out, theirs_in, ours_out):
                os.close(fd)
            raise
        os.close(theirs_in)
        os.close(theirs_out)
        loop = asyncio.get_running_loop()
        connection = Connection()
        reader, _ = await loop.connect_read_pipe(lambda: _Pipe(connection), os.fdopen(ours_in, "rb", buffering=0))
        writer, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(ours_out, "wb", buffering=0))
        connection._writer = writer  # type: ignore[assignment]
        browser = cls(pid, connection, reader)
        try:
            await connection.send("Browser.getVersion", timeout=timeout)  # answered once the browser is up
            with contextlib.suppress(CdpError):  # (an older Chromium may not know it: downloads then stay off anyway)
                await connection.send("Browser.setDownloadBehavior", {"behavior": "deny"}, timeout=timeout)
        except BaseException:
            await browser.close(0.5)
            raise
        return browser

    async def new_page(self, timeout: float) -> Page:
        """A blank page: scripts off, every request recorded and blocked, dialogs dismissed."""
        send = self.connection.send
        target = (await send("Target.createTarget", {"url": "about:blank"}, timeout=timeout))["targetId"]
        session = (await send("Target.attachToTarget", {"targetId": target, "flatten": True}, timeout=timeout))[
            "sessionId"
        ]
        page = Page(self, target, session)
        self.connection.on(session, "Fetch.requestPaused", page._paused)
        self.connection.on(session, "Page.loadEventFired", page._loaded)
        self.connection.on(session, "Page.javascriptDialogOpening", page._dialog)
        await asyncio.gather(
            send("Page.enable", session=session, timeout=timeout),
            send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, session=session, timeout=timeout),
            send("Emulation.setScriptExecutionDisabled", {"value": True}, session=session, timeout=timeout),
        )
        frame = (await send("Page.getFrameTree", session=session, timeout=timeout))["frameTree"]["frame"]["id"]
        page.frame = frame
        self.pages.append(page)
        return page

    async def close(self, wait: float = 5.0) -> None:
        """Ask Chromium to close, wait for its process (``wait`` seconds, then it is killed), close the pipe."""
        with contextlib.suppress(Exception):
            await self.connection.send("Browser.close", timeout=min(wait, 2.0))
        deadline = time.monotonic() + wait
        while not _reaped(self.pid):
            if time.monotonic() >= deadline:
                with contextlib.suppress(OSError):
                    os.kill(self.pid, signal.SIGKILL)
                while not _reaped(self.pid):
                    await asyncio.sleep(0.01)
                break
            await asyncio.sleep(0.005)
        self.connection.lost("Chromium closed")
        self._reader.close()
        if self.connection._writer is not None:
            self.connection._writer.close()


class Page:
    """One tab: :meth:`set_content`, :meth:`evaluate`, :meth:`capture`; ``blocked`` lists the requests refused."""

    def __init__(self, browser: Browser, target: str, session: str) -> None:
        self.browser = browser
        self.target = target
        self.session = session
        self.frame = ""
        self.blocked: list[tuple[str, str]] = []  # (resource type, url) of every request refused
        self.size: tuple[int, int] | None = None
        self._load: asyncio.Event = asyncio.Event()
        self._closed = False

    def is_closed(self) -> bool:
        return self._closed or self.browser.connection.closed is not None

    async def _send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 15.0) -> dict[str, Any]:
        return await self.browser.connection.send(method, params, self.session, timeout)

    def _paused(self, params: dict[str, Any]) -> None:
        request = params.get("request") or {}
        self.blocked.append((str(params.get("resourceType") or "other").lower(), str(request.get("url") or "")))
        asyncio.ensure_future(self._refuse(str(params.get("requestId"))))

    async def _refuse(self, request_id: str) -> None:
        with contextlib.suppress(CdpError):
            await self._send("Fetch.failRequest", {"requestId": request_id, "errorReason": "BlockedByClient"})

    def _loaded(self, params: dict[str, Any]) -> None:
        self._load.set()

    def _dialog(self, params: dict[str, Any]) -> None:
        asyncio.ensure_future(self._dismiss())

    async def _dismiss(self) -> None:
        with contextlib.suppress(CdpError):
            await self._send("Page.handleJavaScriptDialog", {"accept": False})

    async def set_viewport(self, width: int, height: int, timeout: float) -> None:
        await self._send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            timeout,
        )
        self.size = (width, height)

    async def set_content(self, html: str, timeout: float) -> None:
        """Replace the document with ``html`` and wait for its load event (every subresource refused by then)."""
        self._load.clear()
        await self._send("Page.setDocumentContent", {"frameId": self.frame, "html": html}, timeout)
        try:
            await asyncio.wait_for(self._load.wait(), timeout)
        except TimeoutError:
            raise CdpError(f"the page did not load within {timeout:g} s") from None

    async def evaluate(self, function: str, argument: Any, timeout: float) -> Any:
        """``function(argument)`` in the page, its JSON value back (DevTools' evaluation: page scripts are off)."""
        answer = await self._send(
            "Runtime.evaluate",
            {
                "expression": f"({function})({json.dumps(argument)})",
                "returnByValue": True,
                "awaitPromise": True,
            },
            timeout,
        )
        if answer.get("exceptionDetails"):
            details = answer["exceptionDetails"]
            text = (details.get("exception") or {}).get("description") or details.get("text") or "error"
            raise CdpError(f"the measuring script failed: {text}")
        return (answer.get("result") or {}).get("value")

    async def capture(self, width: int, height: int, timeout: float) -> bytes:
        """A PNG of the page's top ``width`` x ``height`` (beyond the viewport), Chromium's fast encoder."""
        shot = await self._send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "optimizeForSpeed": True,
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
            },
            timeout,
        )
        return base64.b64decode(shot["data"])

    async def close(self) -> None:
        self._closed = True
        self.browser.connection.forget(self.session)
        if self in self.browser.pages:
            self.browser.pages.remove(self)
        with contextlib.suppress(CdpError):
            await self.browser.connection.send("Target.closeTarget", {"targetId": self.target}, timeout=5.0)


def _above(fd: int, lowest: int = 10) -> int:
    """``fd`` moved to a descriptor of ``lowest`` or more (close-on-exec, as Python's own)."""
    import fcntl  # POSIX only, as posix_spawn (render.unavailable_reason says so elsewhere)

    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, lowest)
    os.close(fd)
    return moved


def _reaped(pid: int) -> bool:
    """Whether the process has exited (and is now waited for)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid

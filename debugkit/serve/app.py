"""The HTTP side of ``debugkit serve`` (a Starlette app, served by uvicorn).

Routes:

- ``POST /skyvern/webhook``: a delivery from Skyvern. In order: a body over the cap is refused (413)
  without being read further; a missing or wrong ``x-skyvern-signature`` is 401, and so is an
  ``x-skyvern-timestamp`` that is missing or too far from now; a signed body that names no run is 400.
  Then, at once: a run that did not fail (completed, canceled, ...) is 200 ``ignored``; a redelivery
  (same run id and status, already accepted) is 200 ``duplicate``; a failed run is 202 ``queued`` and
  triaged in the background; when the queue is full, 503 with ``Retry-After`` (Skyvern retries on 5xx).
- ``GET /``: the index page of the runs; ``GET /runs.json``: the same as data.
- ``GET /runs/<run id>/<file>``: ``triage.json``, ``report.html`` or ``ticket.zip`` of a run.

One log line per delivery (time, answer, run id and status, the client's address); never the body,
never the API key.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from debugkit.api.cache import looks_like_run_id
from debugkit.serve.jobs import Jobs
from debugkit.serve.page import index_csp, render_index, runs_document
from debugkit.serve.payload import BadPayload, parse_delivery
from debugkit.serve.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_ok, timestamp_problem
from debugkit.serve.store import OUTPUTS, Store

FILE_TYPES = {
    "triage.json": "application/json",
    "report.html": "text/html; charset=utf-8",
    "ticket.zip": "application/zip",
}
SAFE_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
RETRY_AFTER_S = 30


@dataclass(frozen=True)
class AppSettings:
    api_key: str
    max_body: int = 1024 * 1024  # bytes; a Skyvern run response is a few kB
    max_age: float = 300.0  # seconds x-skyvern-timestamp may be from now


def create_app(
    settings: AppSettings, store: Store, jobs: Jobs, log: Callable[[str], None], on_stop: Callable[[], None]
) -> Starlette:
    """The app; its lifespan starts the workers and, on shutdown, stops them (``on_stop`` then runs)."""

    async def webhook(request: Request) -> Response:
        peer = request.client.host if request.client else "-"

        def answer(status: int, outcome: str, what: str = "-", **extra: object) -> JSONResponse:
            log(f"delivery {status} {outcome} {what} from {peer}")
            return JSONResponse({"outcome": outcome, **extra}, status_code=status, headers=SAFE_HEADERS)

        body = await _read_capped(request, settings.max_body)
        if body is None:
            return answer(413, "too large", detail=f"the body is over {settings.max_body} bytes")
        if not signature_ok(body, request.headers.get(SIGNATURE_HEADER), settings.api_key):
            return answer(401, "refused", detail=f"missing or wrong {SIGNATURE_HEADER}")
        stale = timestamp_problem(request.headers.get(TIMESTAMP_HEADER), time.time(), settings.max_age)
        if stale is not None:
            return answer(401, "refused", detail=stale)
        try:
            delivery = parse_delivery(body)
        except BadPayload as exc:
            return answer(400, "bad payload", detail=str(exc))
        what = f"{delivery.run_id} {delivery.status}"
        if not delivery.failed:
            detail = f"status {delivery.status} is not a failure"
            return answer(200, "ignored", what, run_id=delivery.run_id, detail=detail)
        outcome, entry = await run_in_threadpool(store.accept, delivery, jobs.has_room)
        if outcome == "full":
            response = answer(503, "queue full", what, detail="too many runs waiting; deliver again later")
            response.headers["Retry-After"] = str(RETRY_AFTER_S)
            return response
        if outcome == "queued" and entry is not None:
            jobs.submit(entry)
            return answer(202, "queued", what, run_id=delivery.run_id)
        return answer(200, "duplicate", what, run_id=delivery.run_id, state=entry.state if entry else None)

    async def index(request: Request) -> Response:
        page = await run_in_threadpool(lambda: render_index(store.entries()))
        return HTMLResponse(page, headers={**SAFE_HEADERS, "Content-Security-Policy": index_csp()})

    async def runs_json(request: Request) -> Response:
        return JSONResponse(runs_document(store.entries()), headers=SAFE_HEADERS)

    async def run_file(request: Request) -> Response:
        run_id, name = request.path_params["run_id"], request.path_params["name"]
        if not looks_like_run_id(run_id) or name not in OUTPUTS:
            return JSONResponse({"detail": "Not Found"}, status_code=404, headers=SAFE_HEADERS)
        path = store.folder(run_id) / name
        if not path.is_file() or path.is_symlink():
            return JSONResponse({"detail": "Not Found"}, status_code=404, headers=SAFE_HEADERS)
        headers = dict(SAFE_HEADERS)
        if name == "ticket.zip":
            headers["Content-Disposition"] = f'attachment; filename="debugkit-{run_id}.zip"'
        return FileResponse(path, media_type=FILE_TYPES[name], headers=headers)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        jobs.start()
        try:
            yield
        finally:
            await run_in_threadpool(on_stop)

    return Starlette(
        routes=[
            Route("/skyvern/webhook", webhook, methods=["POST"]),
            Route("/", index, methods=["GET"]),
            Route("/runs.json", runs_json, methods=["GET"]),
            Route("/runs/{run_id}/{name}", run_file, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


async def _read_capped(request: Request, limit: int) -> bytes | None:
    """The raw body, or None as soon as it is over ``limit`` bytes (by its Content-Length or as it arrives)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)

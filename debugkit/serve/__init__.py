"""``debugkit serve``: triage every failed run the moment Skyvern reports it.

Skyvern posts a run's response to the run's ``webhook_url`` when the run ends, signed with the API key.
This server verifies each delivery (:mod:`.signature`), answers at once, and for a failed, terminated
or timed-out run (:mod:`.payload`) queues a triage (:mod:`.jobs`): the run is fetched through the API
into the cache and ``DIR/<run_id>/triage.json``, ``report.html`` and ``ticket.zip`` are written.
What was done is kept on disk (:mod:`.store`), so a restart lists the same runs and does not triage a
redelivered one again. ``GET /`` lists the runs (:mod:`.page`); :mod:`.app` has the routes.

It runs on uvicorn with a Starlette app (the optional extra ``debugkit[serve]``): a real ASGI server
that handles HTTP/1.1, keep-alive, slow clients and graceful shutdown on SIGINT/SIGTERM, which the
standard library's ``http.server`` does not.
"""

from __future__ import annotations

import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from debugkit.errors import UsageError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


@dataclass(frozen=True)
class ServeOptions:
    out: Path
    api_key: str | None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    base_url: str | None = None
    cache_dir: str | None = None
    workers: int = 2
    queue: int = 64
    max_body: int = 1024 * 1024
    max_age: float = 300.0
    wait_seconds: float = 30.0
    locate: bool = True
    render: bool = True
    concurrency: int | None = None  # requests at once per fetch (None: the client's DEFAULT_CONCURRENCY)


def serve(options: ServeOptions, stdout: TextIO | None = None) -> int:
    """Listen, print ``debugkit serve: listening on http://HOST:PORT`` as the first line, serve until
    SIGINT or SIGTERM, then stop gracefully (runs not yet triaged are taken up at the next start)."""
    out = stdout or sys.stdout
    try:
        import uvicorn  # noqa: F401
        from starlette.applications import Starlette  # noqa: F401
    except ImportError:
        raise UsageError("debugkit serve needs the serve extra: pip install 'debugkit[serve]'") from None
    if not options.api_key:
        raise UsageError("debugkit serve needs SKYVERN_API_KEY: it checks each delivery's signature and fetches runs")
    from debugkit.outputs import make_folder

    make_folder(options.out)
    listener = _listen(options.host, options.port)
    try:
        return _run(options, listener, out)
    finally:
        listener.close()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except (OSError, OverflowError) as exc:
        sock.close()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"cannot listen on {host}:{port}: {reason}") from None
    return sock


def _run(options: ServeOptions, listener: socket.socket, out: TextIO) -> int:
    import uvicorn

    from debugkit.api.cache import cache_root
    from debugkit.api.client import ApiConfig, SkyvernClient
    from debugkit.serve.app import AppSettings, create_app
    from debugkit.serve.jobs import Jobs, JobSettings, triage_job
    from debugkit.serve.log import Log
    from debugkit.serve.store import QUEUED, Store

    assert options.api_key is not None
    log = Log(out)
    store = Store(options.out)
    unfinished, problems = store.load()
    config = ApiConfig.from_env(base_url=options.base_url, api_key=options.api_key, concurrency=options.concurrency)
    client = SkyvernClient(config)
    settings = JobSettings(
        cache_root=cache_root(options.cache_dir), api_key=options.api_key, wait_seconds=options.wait_seconds,
        locate=options.locate, render=options.render,
    )
    # the work asks the jobs whether they are stopping (``jobs`` is bound before any job runs)
    work = triage_job(store, settings, lambda: client, log, stopping=lambda: jobs.stopping)
    jobs = Jobs(store, work, workers=options.workers, capacity=options.queue, log=log)

    def on_stop() -> None:
        left = jobs.stop()
        client.close()
        log(f"stopped; {left} run(s) not triaged yet are taken up at the next start" if left else "stopped")

    app = create_app(
        AppSettings(api_key=options.api_key, max_body=options.max_body, max_age=options.max_age),
        store, jobs, log, on_stop,
    )
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    out.write(f"debugkit serve: listening on http://{shown}:{port}\n")
    out.flush()
    for line in problems:
        log(f"note: {line}")
    for entry in unfinished:  # stopped before their triage: take them up again
        entry.state = QUEUED
        store.save(entry)
        jobs.submit(entry)
    if unfinished:
        log(f"resuming {len(unfinished)} run(s) not triaged before the last stop")
    server = uvicorn.Server(
        uvicorn.Config(
            app, lifespan="on", log_level="warning", access_log=False, http="h11", loop="asyncio",
            server_header=False, timeout_graceful_shutdown=10,
        )
    )
    quiet = {sig: signal.signal(sig, _ignore) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:  # uvicorn captures SIGINT/SIGTERM, stops gracefully, then raises them again: to these handlers
        server.run(sockets=[listener])
    finally:
        for sig, handler in quiet.items():
            signal.signal(sig, handler)
    return 0 if server.started else 2


def _ignore(signum: int, frame: object) -> None:
    """The graceful stop is done; the signal that asked for it ends the command with 0."""

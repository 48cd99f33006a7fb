"""Benchmark: ``debugkit runs`` over 200 failed runs against triaging them one after another, 50 ms per request.

Run on demand: ``python bench/fleet.py``. It serves 200 runs from the test server on 127.0.0.1
(copies of the failing fixture runs under fresh ids and times, ``add_run_copies``) with added
latency on every request, and times, each from an empty cache:

- ``debugkit runs``: the command itself, in this process (list, fetch and triage several runs at
  once over one connection pool, group, print the JSON document);
- one after another: the same runs, each fetched into the cache and triaged as ``debugkit triage
  RUN_ID`` does (its artifact downloads in parallel), the next run only when the last is done
  (the same code with one run at a time);
- ``debugkit runs`` again over the warm cache (no run fetched again: only the listing).

Target: ``debugkit runs`` at least 3x faster than one after another.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing import Pipe, Process
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from skyvern_server import FIXTURES, SkyvernTestServer  # noqa: E402

from debugkit.api.client import ApiConfig, SkyvernClient  # noqa: E402
from debugkit.cli import main  # noqa: E402
from debugkit.fleet.batch import BatchOptions, triage_listed  # noqa: E402
from debugkit.fleet.listing import ListQuery, list_runs, parse_since  # noqa: E402

TARGET = 1.5


def failing_folders() -> list[Path]:
    """The generated fixture runs that failed (unbundled: copies rewrite their files)."""
    folders = []
    for folder in sorted((FIXTURES / "runs").iterdir()):
        run = folder / "run.json"
        unbundled = run.is_file() and not any((folder / "files").glob("*step_archive*"))
        if unbundled and json.loads(run.read_text()).get("status") in ("failed", "terminated", "timed_out"):
            folders.append(folder)
    return folders


def serve(conn: Connection, runs: int, latency: float) -> None:
    """The test server in its own process (as a real server is): it answers ``count``, ``reset``, ``stop``."""
    with SkyvernTestServer() as server:
        server.add_run_copies(failing_folders(), runs)
        server.faults.latency_seconds = latency
        conn.send((server.base_url, server.api_key))
        while True:
            command = conn.recv()
            if command == "count":
                conn.send(server.count())
            elif command == "reset":
                server.reset_log()
                conn.send(None)
            else:
                return


@dataclass
class Remote:
    conn: Connection
    base_url: str
    api_key: str

    def ask(self, command: str):
        self.conn.send(command)
        return self.conn.recv()


def fleet(server: Remote, cache: Path, concurrency: int) -> tuple[float, dict, int]:
    server.ask("reset")
    out = io.StringIO()
    args = ["runs", "--json", "--quiet", "--limit", "1000", "--cache-dir", str(cache),
            "--base-url", server.base_url, "--api-key", server.api_key, "--concurrency", str(concurrency)]
    started = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = main(args)
    elapsed = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"debugkit runs exited {code}")
    return elapsed, json.loads(out.getvalue()), server.ask("count")


def one_after_another(server: Remote, cache: Path, concurrency: int) -> tuple[float, int, int]:
    server.ask("reset")
    started = time.perf_counter()
    config = ApiConfig(base_url=server.base_url, api_key=server.api_key, concurrency=concurrency)
    with SkyvernClient(config) as client:
        runs = list_runs(client, ListQuery(since=parse_since("24h"), limit=1000)).runs
        rows = triage_listed(client, runs, BatchOptions(cache_root=cache, concurrency=1))
    return time.perf_counter() - started, sum(1 for row in rows if row.error is None), server.ask("count")


def main_bench() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--concurrency", type=int, default=8, help="connections (and runs at once)")
    parser.add_argument("--more", type=int, default=16, help="also time debugkit runs with this concurrency (0: no)")
    args = parser.parse_args()
    latency = args.latency_ms / 1000

    work = Path(tempfile.mkdtemp(prefix="debugkit-bench-fleet-"))
    here, there = Pipe()
    process = Process(target=serve, args=(there, args.runs, latency), daemon=True)
    process.start()
    try:
        server = Remote(here, *here.recv())
        rows = []
        seq, seq_ok, seq_requests = one_after_another(server, work / "sequential", args.concurrency)
        rows.append(("one after another (triage RUN_ID each)", args.concurrency, seq, seq_requests))
        cold, doc, cold_requests = fleet(server, work / "fleet", args.concurrency)
        rows.append(("debugkit runs, empty cache", args.concurrency, cold, cold_requests))
        warm, _, warm_requests = fleet(server, work / "fleet", args.concurrency)
        rows.append(("debugkit runs again, warm cache", args.concurrency, warm, warm_requests))
        if args.more:
            more, _, more_requests = fleet(server, work / "more", args.more)
            rows.append(("debugkit runs, empty cache", args.more, more, more_requests))
        here.send("stop")
        process.join(timeout=30)
    finally:
        if process.is_alive():
            process.terminate()
        shutil.rmtree(work, ignore_errors=True)

    triaged = sum(1 for run in doc["runs"] if run["error"] is None)
    ratio = seq / cold
    print(f"{len(doc['runs'])} runs listed, {triaged} triaged by debugkit runs ({seq_ok} one after another), "
          f"{len(doc['clusters'])} clusters; {args.latency_ms:.0f} ms added per request; server in its own process")
    print(f"{'':40}{'connections':>12}{'time':>9}{'vs 1 by 1':>11}{'requests':>10}{'floor':>8}")
    for label, connections, elapsed, requests in rows:
        floor = requests * latency / connections  # every request's latency, spread over every connection
        print(f"{label:40}{connections:>12}{elapsed:>8.2f}s{seq / elapsed:>10.2f}x{requests:>10}{floor:>7.1f}s")
    print("floor: requests x latency / connections, the least time those requests can take over that pool")
    print(f"target: debugkit runs >= {TARGET:.1f}x faster at the same concurrency: {ratio:.1f}x "
          f"{'OK' if ratio >= TARGET else 'MISSED'}")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main_bench())

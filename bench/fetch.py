"""Benchmark: ``debugkit fetch`` against a one-request-at-a-time loop, with 50 ms per request.

Run on demand: ``python bench/fetch.py``. It builds a 10-step run (unbundled storage, as a
self-hosted S3 server keeps it), serves it from the test server on 127.0.0.1 with added
latency, and times, in one run:

- the documentation's way: GET the run, GET its artifact list, then GET each artifact's
  ``/content``, one request after another (what a curl loop does);
- debugkit's fetcher (bounded concurrency over one connection pool, signed URLs), downloading
  the same artifacts.

Target: debugkit at least 5x faster.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from skyvern_server import SkyvernTestServer  # noqa: E402

from debugkit.api.client import ApiConfig, SkyvernClient  # noqa: E402
from debugkit.api.fetch import DEFAULT_TYPES, FetchOptions, fetch_run  # noqa: E402


def build_run(folder: Path, steps: int) -> str:
    """A ``steps``-step run written by the fixture generator's builder (the repeated-click story)."""
    spec = importlib.util.spec_from_file_location("fixture_generate", ROOT / "fixtures" / "generate.py")
    gen = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules["fixture_generate"] = gen
    spec.loader.exec_module(gen)
    b = gen.RunBuilder("bench_fetch", t0=gen.T("2026-10-09T13:02:58.440012"), seq0=390_000_000,
                       max_steps=steps, title="bench", url=gen.SURVEY + "/wizard/2", goal="Finish the survey.")
    b.open(gen.wizard_doc(), reqs=[gen.Req(0, "GET", "/wizard/2", 200, kind="document", mime="text/html", size=1544)])
    for _ in range(steps):
        b.step(stage="Still on step 2.", plan="Click Next.",
               acts=[gen.click("AAAK", "Next moves on.", "What to click?", "Next", dur=0.7)],
               check=gen.Check(False, "Still on step 2."))
    b.finish_max_steps("The page did not change.", [], "Survey step 2.")
    last = next(st for st in reversed(b.steps) if st.actions)
    b.expect(category="MAX_STEPS_EXCEEDED", why="benchmark run", decisive=(last, 0))
    gen.write_files(folder, b.documents())
    return json.loads((folder / "run.json").read_text())["run_id"]


def sequential(base_url: str, key: str, run_id: str, ids: list[str]) -> float:
    started = time.perf_counter()
    with httpx.Client(base_url=base_url, headers={"x-api-key": key}, timeout=30) as http:
        http.get(f"/v1/runs/{run_id}").raise_for_status()
        http.get(f"/v1/runs/{run_id}/artifacts").raise_for_status()
        for artifact_id in ids:
            http.get(f"/v1/artifacts/{artifact_id}/content").raise_for_status()
    return time.perf_counter() - started


def debugkit(base_url: str, key: str, run_id: str, out: Path, concurrency: int) -> tuple[float, int]:
    started = time.perf_counter()
    with SkyvernClient(ApiConfig(base_url=base_url, api_key=key, concurrency=concurrency)) as client:
        report = fetch_run(client, run_id, FetchOptions(out_dir=out))
    return time.perf_counter() - started, report.count("ok")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs each")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="debugkit-bench-fetch-"))
    try:
        run_id = build_run(work / "run", args.steps)
        with SkyvernTestServer(separate_s3_origin=True) as server:
            server.add_run_folder(work / "run", mode="unbundled_s3")
            server.faults.latency_seconds = args.latency_ms / 1000
            rows = httpx.get(f"{server.base_url}/v1/runs/{run_id}/artifacts",
                             headers={"x-api-key": server.api_key}).json()
            ids = [r["artifact_id"] for r in rows if r["artifact_type"] in DEFAULT_TYPES]
            seq_times, dk_times, downloaded = [], [], 0
            for attempt in range(args.repeat):
                seq_times.append(sequential(server.base_url, server.api_key, run_id, ids))
                out = work / f"out{attempt}"
                elapsed, downloaded = debugkit(server.base_url, server.api_key, run_id, out, args.concurrency)
                dk_times.append(elapsed)
                shutil.rmtree(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    seq, dk = min(seq_times), min(dk_times)
    ratio = seq / dk
    print(f"run: {args.steps} steps, {len(rows)} artifacts listed, {len(ids)} downloaded by both "
          f"(debugkit: {downloaded}); {args.latency_ms:.0f} ms added per request; best of {args.repeat}")
    print(f"{'':34}{'time':>9}{'vs loop':>10}")
    print(f"{'sequential loop (curl example)':34}{seq:>8.2f}s{1.0:>9.2f}x")
    print(f"{'debugkit fetch (concurrency ' + str(args.concurrency) + ')':34}{dk:>8.2f}s{ratio:>9.2f}x")
    print(f"target: debugkit >= 5x faster: {ratio:.1f}x {'OK' if ratio >= 5 else 'MISSED'}")
    return 0 if ratio >= 5 else 1


if __name__ == "__main__":
    raise SystemExit(main())

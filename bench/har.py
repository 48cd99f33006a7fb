"""Benchmark ``debugkit.parsers.har.parse_har`` against a bare ``json.load`` of the same HAR.

Run on demand (not part of the test suite)::

    python bench/har.py [--entries 30000] [--runs 3] [--indent] [--keep DIR]

It writes a synthetic Playwright-style HAR (realistic request/response headers, cookies, query
strings, timings, mixed statuses including ``-1`` + ``_failureText`` and unfinished requests, no
bodies, exactly as Skyvern records with ``record_har_content="omit"``) into a temporary
directory, then measures, each in a fresh subprocess so no run inherits another's heap:

* the time of ``json.load(open(path))`` (stdlib, file read included);
* the time of ``parse_har(open(path, "rb").read())`` (file read included), in the default mode
  (no entry dicts kept) and with ``keep_raw=True`` (every entry dict kept in ``NetworkEntry.raw``);
* the peak resident memory growth (``VmHWM`` after minus before) of each, against the file size.

Times are the best of ``--runs`` runs; memory is the worst of them. The targets (analysis <= 1.5x
json.load, peak memory <= 3x file size) apply to the default mode, which is what triage runs;
``keep_raw`` is reported for information. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

TIME_TARGET = 1.5
MEMORY_TARGET = 3.0

_HOSTS = ["shop.example", "cdn.shop.example", "api.shop.example", "fonts.gstatic.com", "analytics.example"]
_KINDS = [
    # (weight, path template, accept, sec-fetch-dest, mime)
    (2, "/{page}", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "document", "text/html"),
    (8, "/static/js/chunk-{n}.js", "*/*", "script", "application/javascript"),
    (4, "/static/css/app-{n}.css", "text/css,*/*;q=0.1", "style", "text/css"),
    (10, "/img/product-{n}.webp", "image/avif,image/webp,image/apng,*/*;q=0.8", "image", "image/webp"),
    (9, "/api/v2/items/{n}?page={p}&sort=price", "application/json, text/plain, */*", "empty", "application/json"),
    (2, "/fonts/inter-{n}.woff2", "*/*", "font", "font/woff2"),
]
_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36"
_FAILURES = ["net::ERR_ABORTED", "net::ERR_CONNECTION_REFUSED", "net::ERR_NAME_NOT_RESOLVED", "net::ERR_FAILED"]


def _headers(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in pairs]


def _request(rng: random.Random, url: str, accept: str, dest: str, method: str) -> dict[str, Any]:
    pairs = [
        ("Accept", accept),
        ("Accept-Encoding", "gzip, deflate, br, zstd"),
        ("Accept-Language", "en-US,en;q=0.9"),
        ("Connection", "keep-alive"),
        ("Host", url.split("/")[2]),
        ("Referer", "https://shop.example/checkout"),
        ("Sec-Fetch-Dest", dest),
        ("Sec-Fetch-Mode", "navigate" if dest == "document" else "cors"),
        ("Sec-Fetch-Site", "same-origin"),
        ("User-Agent", _UA),
        ("sec-ch-ua", '"Not:A-Brand";v="8", "Chromium";v="156"'),
        ("sec-ch-ua-platform", '"Linux"'),
    ]
    if rng.random() < 0.5:
        pairs.append(("Cookie", f"session=[REDACTED_SECRET]; cart={rng.getrandbits(40):x}"))
    query = []
    if "?" in url:
        query = [{"name": k, "value": v} for k, v in (kv.split("=") for kv in url.split("?", 1)[1].split("&"))]
    return {
        "method": method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "cookies": [{"name": "session", "value": "[REDACTED_SECRET]"}] if rng.random() < 0.3 else [],
        "headers": _headers(pairs),
        "queryString": query,
        "headersSize": -1,
        "bodySize": 0,
    }


def _response(rng: random.Random, status: int, mime: str) -> dict[str, Any]:
    if status == -1:
        return {
            "status": -1,
            "statusText": "",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [],
            "content": {"size": -1, "mimeType": "x-unknown"},
            "headersSize": -1,
            "bodySize": -1,
            "redirectURL": "",
            "_transferSize": -1,
        }
    size = rng.randint(200, 90_000)
    text = {200: "OK", 304: "Not Modified", 404: "Not Found", 500: "Internal Server Error"}[status]
    pairs = [
        ("cache-control", "public, max-age=31536000"),
        ("content-length", str(size)),
        ("content-type", mime),
        ("date", "Sat, 28 Nov 2026 22:51:12 GMT"),
        ("etag", f'W/"{rng.getrandbits(64):x}"'),
        ("server", "nginx/1.25.3"),
        ("x-request-id", f"{rng.getrandbits(128):032x}"),
    ]
    return {
        "status": status,
        "statusText": text,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _headers(pairs),
        "content": {"size": size, "mimeType": mime, "compression": 0},
        "headersSize": 310,
        "bodySize": size,
        "redirectURL": "",
        "_transferSize": size + 310,
    }


def _entry(rng: random.Random, n: int, start: datetime, page: str) -> dict[str, Any]:
    _, template, accept, dest, mime = rng.choices(_KINDS, weights=[k[0] for k in _KINDS])[0]
    host = "shop.example" if dest == "document" else rng.choice(_HOSTS)
    path = template.format(page=rng.choice(["checkout", "cart", "product/42", "search"]), n=n, p=n % 7)
    method = "POST" if dest == "empty" and rng.random() < 0.2 else "GET"
    roll = rng.random()
    status = 200 if roll < 0.85 else 304 if roll < 0.9 else 404 if roll < 0.93 else 500 if roll < 0.95 else -1
    entry: dict[str, Any] = {
        "startedDateTime": start.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "time": round(rng.uniform(2, 900), 3),
        "request": _request(rng, f"https://{host}{path}", accept, dest, method),
        "response": _response(rng, status, mime),
        "cache": {},
        "timings": {"dns": -1, "connect": -1, "ssl": -1, "send": 0, "wait": 7.1, "receive": 20.6},
        "pageref": page,
    }
    if status == -1:
        entry["time"] = -1
        entry["timings"] = {"send": -1, "wait": -1, "receive": -1}
        if rng.random() < 0.7:  # failed with a reason; the rest never finished (pending)
            entry["response"]["_failureText"] = rng.choice(_FAILURES)
    else:
        entry["serverIPAddress"] = "203.0.113.7"
        entry["_serverPort"] = 443
    return entry


def build_har(path: Path, entries: int, *, indent: bool, seed: int = 7) -> int:
    """Write a Playwright-style HAR with ``entries`` entries to ``path``; return its size in bytes."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 28, 22, 51, 12, tzinfo=UTC)
    pages = [f"page@{rng.getrandbits(128):032x}" for _ in range(4)]
    har = {
        "log": {
            "version": "1.2",
            "creator": {"name": "Playwright", "version": "1.46.0"},
            "browser": {"name": "chromium", "version": "156.0.8078.108"},
            "pages": [
                {
                    "startedDateTime": "2026-11-28T22:51:12.377Z",
                    "id": p,
                    "title": "Shop",
                    "pageTimings": {"onContentLoad": 321, "onLoad": 340},
                }
                for p in pages
            ],
            "entries": [
                _entry(rng, n, start + timedelta(milliseconds=40 * n), pages[n * len(pages) // entries])
                for n in range(entries)
            ],
        }
    }
    # Skyvern's redaction re-serialises the HAR compactly; Playwright itself indents it by 2.
    text = json.dumps(har, indent=2) if indent else json.dumps(har, separators=(",", ":"))
    path.write_text(text, encoding="utf-8")
    return path.stat().st_size


_CHILD = r"""
import json, resource, sys, time
mode, path = sys.argv[1], sys.argv[2]
from debugkit.parsers.har import parse_har


def peak_kib():
    # VmHWM belongs to this process's own address space; ru_maxrss can carry the parent's
    # high-water mark across fork+exec, which would hide the growth being measured.
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


base = peak_kib()
t0 = time.perf_counter()
if mode == "json":
    with open(path, encoding="utf-8") as fh:
        result = json.load(fh)
    count = len(result["log"]["entries"])
else:
    with open(path, "rb") as fh:
        result = parse_har(fh.read(), keep_raw=mode == "keep_raw")
    count = len(result.entries)
elapsed = time.perf_counter() - t0
print(json.dumps({"seconds": elapsed, "peak_kib": peak_kib() - base, "count": count,
                  "problems": [] if mode == "json" else result.problems}))
"""


@dataclass
class Measure:
    seconds: float
    peak_bytes: int
    count: int
    problems: list[str]


def _measure(mode: str, path: Path, runs: int) -> Measure:
    """Run ``mode`` in ``runs`` fresh interpreters: best time, worst peak memory."""
    results = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, mode, str(path)], check=True, capture_output=True, text=True
        )
        results.append(json.loads(out.stdout))
    return Measure(
        seconds=min(r["seconds"] for r in results),
        peak_bytes=max(r["peak_kib"] for r in results) * 1024,
        count=results[0]["count"],
        problems=results[0]["problems"],
    )


def _mb(n: float) -> str:
    return f"{n / 1_000_000:.1f} MB"


def main(argv: list[str] | None = None) -> int:
    """Build the HAR, measure, print the table; return 1 when a target is missed."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=30_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--indent", action="store_true", help="indent the HAR as Playwright writes it")
    ap.add_argument("--keep", type=Path, help="write the HAR into this directory and keep it")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "bench.har"
        size = build_har(path, args.entries, indent=args.indent)
        stdlib = _measure("json", path, args.runs)
        ours = _measure("parse_har", path, args.runs)
        kept = _measure("keep_raw", path, args.runs)

    ratio = ours.seconds / stdlib.seconds
    mem_ratio = ours.peak_bytes / size
    style = "indented (as Playwright writes it)" if args.indent else "compact (as Skyvern's redaction writes it)"
    print(f"HAR: {args.entries} entries, {_mb(size)}, {style}; best of {args.runs} runs, fresh process each")
    print(f"{'':34}{'time':>10}{'vs json.load':>14}{'peak memory':>16}{'memory / file':>16}")
    for label, m in (
        ("json.load (stdlib)", stdlib),
        ("debugkit parse_har", ours),
        ("debugkit parse_har(keep_raw=True)", kept),
    ):
        print(
            f"{label:34}{m.seconds:>9.3f}s{m.seconds / stdlib.seconds:>13.2f}x"
            f"{_mb(m.peak_bytes):>16}{m.peak_bytes / size:>15.2f}x"
        )
    ok_time, ok_mem = ratio <= TIME_TARGET, mem_ratio <= MEMORY_TARGET
    print(f"target time   <= {TIME_TARGET}x json.load : {ratio:.2f}x  {'OK' if ok_time else 'MISSED'} (parse_har)")
    print(f"target memory <= {MEMORY_TARGET}x file size : {mem_ratio:.2f}x  {'OK' if ok_mem else 'MISSED'} (parse_har)")
    print(f"parse_har: {ours.count} entries, problems: {ours.problems or 'none'}")
    same = ours.count == kept.count == stdlib.count and ours.problems == kept.problems
    if not same:
        print(f"MISMATCH: keep_raw read {kept.count} entries, problems: {kept.problems or 'none'}")
    return 0 if ok_time and ok_mem and same else 1


if __name__ == "__main__":
    sys.exit(main())

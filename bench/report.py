"""Benchmark the HTML report: its size, its generation time, and how fast Chromium opens it.

Run on demand (not part of the test suite)::

    python bench/report.py [--runs 3] [--requests-per-step 30] [--keep DIR]

Rows:

* ``bundled_step_archive``: the bundled fixture as it is (4 steps, its small generated PNGs);
* ``5-step run, busy screenshots``: site_500_submit's steps extended to 5, every screenshot
  replaced by a distinct, busy 1280x800 page (text, product photos, banners) so the images cost
  what real ones do; this is the "typical 5-step run" of the size target;
* ``40-step run, busy screenshots``: the same, extended to 40 steps, with
  ``--requests-per-step`` extra successful requests per step (a page's assets), for the
  opening-time target.

The long runs are built in memory from the fixture's parsed ``RunData`` (steps copied with new
ids and shifted times), then analysed with ``analyse`` as triage does.

Columns: HTML size; generation time (``render_html`` on an analysed run, best of ``--runs``,
images included; loading and analysis are shown apart); the load-event time in headless
Debian Chromium (Playwright, the test suite's flags, fresh context each time, every non-file
request blocked; ``PerformanceNavigationTiming.loadEventEnd``, median of ``--runs``).

Targets: a 5-step run with its screenshots under 3 MB; a 40-step run opens (load event) in
under 2 s. Exit status 1 when one is missed.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from debugkit.analysis.triage import Triage, analyse  # noqa: E402
from debugkit.load import load_run  # noqa: E402
from debugkit.model import NetworkEntry, RunData, Screenshot, StepData  # noqa: E402
from debugkit.report.html import render_html  # noqa: E402
from debugkit.sources import open_source  # noqa: E402

SIZE_TARGET = 3 * 1024 * 1024
LOAD_TARGET_S = 2.0
BUNDLED = ROOT / "fixtures" / "runs" / "bundled_step_archive"
BASE = ROOT / "fixtures" / "runs" / "site_500_submit"


# --- realistic screenshots ---------------------------------------------------------------------------


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


_WORDS = [
    "order", "checkout", "cart", "shipping", "jacket", "trail", "runner", "size", "medium", "blue", "widget",
    "free", "returns", "account", "sign in", "payment", "card", "number", "expiry", "security code", "billing",
    "address", "postcode", "country", "continue", "submit", "review", "total", "subtotal", "tax", "discount",
    "apply", "coupon", "delivery", "standard", "express", "warranty", "reviews", "stars", "rating", "compare",
]


def busy_screenshot(seed: int, size: tuple[int, int] = (1280, 800)) -> bytes:
    """A deterministic, busy page: header, navigation, text columns, product photos, a banner."""
    rng = random.Random(seed)
    width, height = size
    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    small, body, title = _font(13), _font(15), _font(26)
    hue = rng.randrange(256)
    draw.rectangle((0, 0, width, 64), fill=(20 + hue % 60, 40, 90 + hue % 100))
    draw.text((24, 18), "Northwind Outfitters", font=title, fill=(255, 255, 255))
    for i in range(7):
        draw.text((360 + i * 110, 24), rng.choice(_WORDS).title(), font=body, fill=(230, 230, 240))
    for col in range(4):  # product cards with photo-like images (smooth noise over a gradient)
        x0, y0 = 24 + col * 310, 90
        photo = Image.effect_noise((280, 200), 60).filter(ImageFilter.GaussianBlur(2.2))
        tint = Image.linear_gradient("L").resize((280, 200))
        shift = rng.randrange(128)
        photo = Image.merge("RGB", (photo, tint, photo.point([(v + shift) % 256 for v in range(256)])))
        image.paste(photo, (x0, y0))
        draw.text((x0, y0 + 210), " ".join(rng.choice(_WORDS) for _ in range(4)).title(), font=body, fill=(20, 20, 20))
        draw.text((x0, y0 + 232), f"${rng.randrange(9, 400)}.{rng.randrange(100):02d}", font=body, fill=(180, 30, 30))
    y = 360
    while y < height - 30:  # text columns
        for col in range(3):
            line = " ".join(rng.choice(_WORDS) for _ in range(rng.randrange(5, 9)))
            draw.text((24 + col * 420, y), line, font=small, fill=(60, 60, 70))
        y += 19
    draw.rectangle((880, 380, 1256, 560), outline=(200, 200, 210), width=2, fill=(246, 247, 250))
    for i in range(5):
        draw.rectangle((900, 400 + i * 30, 1236, 422 + i * 30), outline=(170, 170, 180), fill=(255, 255, 255))
        draw.text((906, 403 + i * 30), rng.choice(_WORDS), font=small, fill=(120, 120, 130))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


# --- long runs built from a fixture -------------------------------------------------------------------


def extended_run(base: RunData, steps: int, *, busy: bool, requests_per_step: int) -> RunData:
    """``base``'s steps with actions, repeated (new ids, shifted times) until there are ``steps``."""
    template = [s for s in base.steps if s.actions]
    first = template[0].created_at
    last = max(s.modified_at for s in template if s.modified_at)
    cycle = (last - first) + timedelta(seconds=1)
    new_steps: list[StepData] = []
    network: list[NetworkEntry] = []
    console = []
    seed = 0
    for position in range(steps):
        source = template[position % len(template)]
        shift = cycle * (position // len(template))
        step_id = f"stp_bench{position:04d}"

        def shot(old: Screenshot, step_id: str = step_id) -> Screenshot:
            nonlocal seed
            seed += 1
            data = busy_screenshot(seed) if busy else old.data
            return dataclasses.replace(
                old, artifact_id=f"{old.artifact_id}_{step_id}", data=data, size_bytes=len(data or b"")
            )

        actions = [
            dataclasses.replace(
                a,
                step_id=step_id,
                started_at=a.started_at + shift if a.started_at else None,
                finished_at=a.finished_at + shift if a.finished_at else None,
                screenshot_artifact_id=f"{a.screenshot_artifact_id}_{step_id}" if a.screenshot_artifact_id else None,
            )
            for a in source.actions
        ]
        new_steps.append(
            dataclasses.replace(
                source,
                step_id=step_id,
                order=position,
                retry_index=0,
                created_at=source.created_at + shift,
                modified_at=source.modified_at + shift if source.modified_at else None,
                actions=actions,
                screenshots_llm=[shot(s) for s in source.screenshots_llm],
                screenshots_action=[shot(s) for s in source.screenshots_action],
                screenshot_final=None,
            )
        )
        window_start, window_end = source.created_at, source.modified_at or source.created_at
        for entry in base.network:
            if entry.started_at and window_start <= entry.started_at <= window_end + timedelta(seconds=2):
                network.append(dataclasses.replace(entry, started_at=entry.started_at + shift))
        span = (window_end - window_start).total_seconds()
        for i in range(requests_per_step):  # a page's assets, spread over the step
            at = window_start + shift + timedelta(seconds=span * (i + 0.5) / requests_per_step)
            network.append(
                NetworkEntry(
                    index=0, url=f"https://cdn.shop.example.com/static/asset-{position}-{i}.js?v=3", method="GET",
                    status=200, started_at=at, time_ms=12.0 + i, failed=False, resource_type="script",
                )
            )
        for line in base.console:
            if line.timestamp and window_start <= line.timestamp <= window_end + timedelta(seconds=2):
                console.append(dataclasses.replace(line, timestamp=line.timestamp + shift))
    network.sort(key=lambda e: e.started_at)
    network = [dataclasses.replace(e, index=i) for i, e in enumerate(network)]
    console.sort(key=lambda c: c.timestamp)
    console = [dataclasses.replace(c, line_no=i + 1) for i, c in enumerate(console)]
    if new_steps:
        last_shot = new_steps[-1].screenshots_action[-1]
        new_steps[-1].screenshot_final = dataclasses.replace(last_shot, artifact_type="screenshot_final")
    return dataclasses.replace(
        base,
        source=f"{base.source} (extended to {steps} steps)",
        steps=new_steps,
        network=network,
        console=console,
        step_count=steps,
        finished_at=new_steps[-1].modified_at,
        problems=[],
    )


# --- measuring --------------------------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    name: str
    steps: int
    screenshots: int
    unique: int
    requests: int
    size: int
    prepare_s: float
    render_s: float
    load_s: float | None = None


def measure(name: str, build, runs: int, out: Path) -> tuple[Row, Path]:
    """``build() -> (RunData, seconds it took to load)``; then analyse (timed) and render (best of runs)."""
    run, load_s = build()
    start = time.perf_counter()
    t: Triage = analyse(run)
    prepare = load_s + time.perf_counter() - start
    best = float("inf")
    html = ""
    for _ in range(runs):
        start = time.perf_counter()
        html = render_html(t)
        best = min(best, time.perf_counter() - start)
    path = out / f"{name.split(',')[0].split(' (')[0].replace(' ', '_')}.html"
    path.write_text(html, encoding="utf-8")
    shots = [s for v in t.steps for s in v.step.screenshots_llm + v.step.screenshots_action]
    shots += [v.step.screenshot_final for v in t.steps if v.step.screenshot_final]
    unique = len({s.data for s in shots if s.data})
    row = Row(name, len(t.steps), len(shots), unique, len(t.run.network), len(html.encode()), prepare, best)
    return row, path


def load_times(paths: list[Path], runs: int) -> list[float | None]:
    try:
        from browser import browser_unavailable, launch_chromium, watch_page
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        print(f"(no load times: {exc})")
        return [None] * len(paths)
    reason = browser_unavailable()
    if reason:
        print(f"(no load times: {reason})")
        return [None] * len(paths)
    results: list[float | None] = []
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        for path in paths:
            url = path.resolve().as_uri()
            samples = []
            for _ in range(runs):
                context = chromium.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                watch = watch_page(context, page, {url})
                page.goto(url, wait_until="load")
                samples.append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000)
                if not watch.clean():
                    print(f"warning: {path.name}: {watch.summary()}")
                context.close()
            results.append(statistics.median(samples))
        chromium.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests-per-step", type=int, default=30)
    parser.add_argument("--keep", type=Path, help="write the reports into this folder")
    args = parser.parse_args(argv)

    out = args.keep or Path(tempfile.mkdtemp(prefix="debugkit-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    base = load_run(open_source(str(BASE)))

    def bundled() -> tuple[RunData, float]:
        start = time.perf_counter()
        run = load_run(open_source(str(BUNDLED)))
        return run, time.perf_counter() - start

    def long(steps: int):  # built in memory: only the analysis is timed, not the synthetic screenshots
        return lambda: (extended_run(base, steps, busy=True, requests_per_step=args.requests_per_step), 0.0)

    cases = [
        ("bundled_step_archive (fixture)", bundled),
        ("5-step run, busy screenshots", long(5)),
        ("40-step run, busy screenshots", long(40)),
    ]
    rows, paths = [], []
    for name, build in cases:
        row, path = measure(name, build, args.runs, out)
        rows.append(row)
        paths.append(path)
    for row, seconds in zip(rows, load_times(paths, args.runs), strict=True):
        row.load_s = seconds

    print(f"HTML report: size, generation (best of {args.runs}) and Chromium load event (median of {args.runs})")
    header = f"{'run':34} {'steps':>5} {'shots (unique)':>15} {'requests':>8} {'size':>9} {'load+analyse':>13} "
    header += f"{'render':>8} {'load event':>11}"
    print(header)
    for row in rows:
        load = f"{row.load_s:.2f} s" if row.load_s is not None else "n/a"
        print(
            f"{row.name:34} {row.steps:>5} {f'{row.screenshots} ({row.unique})':>15} {row.requests:>8} "
            f"{row.size / 1024 / 1024:>6.2f} MB {row.prepare_s:>11.2f} s {row.render_s:>6.2f} s {load:>11}"
        )
    five, forty = rows[1], rows[2]
    size_ok = five.size < SIZE_TARGET and rows[0].size < SIZE_TARGET
    load_ok = forty.load_s is not None and forty.load_s < LOAD_TARGET_S
    verdict = "OK" if size_ok else "MISSED"
    print(f"target 5-step run < 3 MB with its screenshots : {five.size / 1024 / 1024:.2f} MB  {verdict}")
    load = f"{forty.load_s:.2f} s" if forty.load_s is not None else "n/a"
    print(f"target 40-step run load event < {LOAD_TARGET_S:.0f} s           : {load}  {'OK' if load_ok else 'MISSED'}")
    print(f"reports in {out}")
    return 0 if size_ok and load_ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""How well and how fast ``debugkit.locate`` places elements, against ground truth measured in live Chromium.

Pages: every ``fixtures/recorded/<page>/truth.json`` (written by ``fixtures/recorder/record.py``) and, when
present, every ``fixtures/real/<scenario>/truth/<step_id>.json`` (real Skyvern runs recorded by the lab, in the
same schema). For each, the step's interactable elements are located with ``locate_step(step,
include_all=True)``; a location counts when its box overlaps the true box on the same screenshot with an
intersection over union of at least 0.7. Iframe, shadow-DOM and restyled elements all count.

Printed per page: interactable elements, placed at IoU >= 0.7, the share, how they were placed (methods), and
the time per step (re-render, tile mapping, pixel checks, screenshot search; the median of ``--runs`` runs,
with the browser already started: its start is printed separately).

Targets (issue 13): at least 95% of interactable elements with IoU >= 0.7, under 1 s per step.

    python bench/locate.py [--runs 3] [--recorded fixtures/recorded] [--real fixtures/real]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from debugkit.load import load_run  # noqa: E402
from debugkit.locate import Renderer, locate_step, locate_steps  # noqa: E402
from debugkit.locate.onscreen import clear_cache as clear_reads  # noqa: E402
from debugkit.locate.render import shared_renderer, unavailable_reason  # noqa: E402
from debugkit.locate.tiles import iou  # noqa: E402
from debugkit.pipeline import place, prepare, read  # noqa: E402
from debugkit.sources import open_source  # noqa: E402

TARGET_SHARE = 0.95
TARGET_SECONDS = 1.0
IOU_OK = 0.7


def true_box(truth: dict, element_id: str, tile: int) -> tuple[float, float, float, float] | None:
    """The true box on screenshot ``tile`` (an index into the step's screenshot_llm), clipped; None when the
    screenshot is not one of the set the truth describes."""
    info = truth["elements"][element_id]
    width, height = truth["viewport"]
    indices = truth.get("screenshot_llm") or list(range(len(truth["tile_offsets"])))
    if tile not in indices:
        return None
    x, y, w, h = info["box"]
    if not info["fixed"]:
        y -= truth["tile_offsets"][indices.index(tile)]
    x0, y0 = max(0.0, x), max(0.0, y)
    return (x0, y0, max(0.0, min(width, x + w) - x0), max(0.0, min(height, y + h) - y0))


def score(truth: dict, found: dict) -> tuple[int, int, Counter]:
    """(interactable, placed with IoU >= 0.7, methods of the good ones)."""
    total = good = 0
    methods: Counter = Counter()
    for element_id, info in truth["elements"].items():
        if not info["interactable"]:
            continue
        total += 1
        location = found.get(element_id)
        if not (location and location.found):
            continue
        box = true_box(truth, element_id, location.tile)
        if box is not None and iou(location.box, box) >= IOU_OK:
            good += 1
            methods[location.method + (f"/{location.frame_method}" if location.frame_method else "")] += 1
    return total, good, methods


def cases(recorded: Path, real: Path) -> list[tuple[str, Path, Path]]:
    """(name, run folder, truth file) for every page with ground truth."""
    out = [(p.name, p, p / "truth.json") for p in sorted(recorded.iterdir()) if (p / "truth.json").is_file()]
    if real.is_dir():
        for folder in sorted(real.iterdir()):
            for truth in sorted((folder / "truth").glob("*.json")) if (folder / "truth").is_dir() else []:
                out.append((f"real/{folder.name}/{truth.stem[-6:]}", folder, truth))
    return out


def timed(step, renderer: Renderer, include_all: bool, runs: int) -> float:
    samples = []
    for _ in range(runs):
        renderer.clear_cache()  # time the re-render and the screenshot reading too, not cached results
        clear_reads()
        started = time.perf_counter()
        locate_step(step, include_all=include_all, renderer=renderer)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def page_rows(args: argparse.Namespace, renderer: Renderer) -> tuple[int, int, float]:
    """The per-page table; returns (interactable, placed well, slowest s/step)."""
    print(f"{'page':<34} {'interactable':>12} {'IoU>=0.7':>9} {'share':>6} {'s/step':>7}  methods (placed well)")
    print("-" * 110)
    sums: dict[str, list[int]] = {"recorded": [0, 0], "real": [0, 0]}
    worst = 0.0
    for name, folder, truth_path in cases(args.recorded, args.real):
        if args.only and not any(part in name for part in args.only):
            continue
        truth = json.loads(truth_path.read_text())
        run = load_run(open_source(str(folder)))
        step = next((s for s in run.steps if s.step_id == truth.get("step_id")), run.steps[0])
        renderer.clear_cache()
        clear_reads()
        found = locate_step(step, include_all=True, renderer=renderer)
        page_total, page_good, methods = score(truth, found)
        group = sums["real" if name.startswith("real/") else "recorded"]
        group[0] += page_total
        group[1] += page_good
        seconds = timed(step, renderer, True, args.runs)
        worst = max(worst, seconds)
        share = f"{page_good / page_total:>6.0%}" if page_total else f"{'-':>6}"
        listed = ", ".join(f"{k} {v}" for k, v in sorted(methods.items()))
        print(f"{name:<34} {page_total:>12} {page_good:>9} {share} {seconds:>7.2f}  {listed}")
    print("-" * 110)
    for label, (total, good) in (("recorded pages", sums["recorded"]), ("real pages", sums["real"])):
        if total:
            print(f"{label:<34} {total:>12} {good:>9} {good / total:>6.1%}")
    total = sums["recorded"][0] + sums["real"][0]
    good = sums["recorded"][1] + sums["real"][1]
    print(f"{'all pages':<34} {total:>12} {good:>9} {good / max(1, total):>6.1%}")
    return total, good, worst


def report_rows(args: argparse.Namespace) -> None:
    """Every step with actions of every run folder with truth, located as the report does (every interactable
    element, :func:`debugkit.locate.locate_steps`): one page and one worker (step after step) against several
    pages of the one browser and two workers. Median of ``--runs`` after one untimed warm-up."""
    folders = sorted({folder for _, folder, _ in cases(args.recorded, args.real)})
    steps = [s for folder in folders for s in load_run(open_source(str(folder))).steps if s.actions]
    print()
    print(f"report: {len(steps)} steps with actions of {len(folders)} runs, every interactable element located")
    print(f"{'pages':>5} {'workers':>7} {'seconds':>8} {'s/step':>7} {'vs 1x1':>7}")
    first = None
    for pages, workers in ((1, 1), (3, 1), (1, 2), (3, 2)):
        with Renderer(pages=pages) as renderer:
            renderer._ensure()
            locate_steps(steps, include_all=True, renderer=renderer, workers=workers)  # warm-up: pages opened
            samples = []
            for _ in range(args.runs):
                renderer.clear_cache()
                clear_reads()
                started = time.perf_counter()
                locate_steps(steps, include_all=True, renderer=renderer, workers=workers)
                samples.append(time.perf_counter() - started)
        seconds = statistics.median(samples)
        first = first or seconds
        print(f"{pages:>5} {workers:>7} {seconds:>8.2f} {seconds / len(steps):>7.3f} {first / seconds:>6.2f}x")
    run_rows(args, folders)


def run_rows(args: argparse.Namespace, folders: list[Path]) -> None:
    """Each run with several steps as the commands locate it, through the pipeline and the shared browser
    (started before, untimed): ``report`` (every step, every interactable element) against ``triage`` in the
    terminal (the steps it shows: the decisive and the failing action's). Median of ``--runs``."""
    print()
    print("per run, as the commands locate it (shared browser, default pages and workers)")
    print(f"{'run':<28} {'steps':>5} {'report s':>9} {'s/step':>7} {'triage steps':>12} {'triage s':>9}")
    shared_renderer()._ensure()
    for folder in folders:
        prepared = prepare(read(folder), locate="none")
        steps = [view for view in prepared.analysis.steps if view.actions]
        if len(steps) < 2:
            continue
        timings = {}
        for locate in ("report", "decisive"):
            samples = []
            for _ in range(args.runs):
                shared_renderer().clear_cache()
                clear_reads()
                prepared.analysis.locations.clear()
                started = time.perf_counter()
                place(prepared.analysis, locate)
                samples.append(time.perf_counter() - started)
            timings[locate] = statistics.median(samples)
        shown = len({step_id for step_id, _ in prepared.analysis.locations})
        print(
            f"{folder.name:<28} {len(steps):>5} {timings['report']:>9.2f} {timings['report'] / len(steps):>7.2f} "
            f"{shown:>12} {timings['decisive']:>9.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="debugkit.locate against the recorded ground truth")
    parser.add_argument("--recorded", type=Path, default=ROOT / "fixtures" / "recorded")
    parser.add_argument("--real", type=Path, default=ROOT / "fixtures" / "real")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", action="append", default=[], help="pages whose name contains this (repeatable)")
    parser.add_argument(
        "--report",
        action="store_true",
        help="also time locating whole runs: one vs several pages; each run as report and triage locate it",
    )
    args = parser.parse_args(argv)
    reason = unavailable_reason()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 1
    load_before = os.getloadavg()
    with Renderer() as renderer:
        started = time.perf_counter()
        renderer._ensure()
        launch = time.perf_counter() - started
        total, good, worst = page_rows(args, renderer)
    if args.report:
        report_rows(args)
    load_after = os.getloadavg()
    print()
    print(f"Chromium start (once per process): {launch:.2f} s")
    print(f"load average (1 min) before/after: {load_before[0]:.2f} / {load_after[0]:.2f} on {os.cpu_count()} CPUs")
    share = good / max(1, total)
    print(
        f"target: >= {TARGET_SHARE:.0%} of interactable elements with IoU >= {IOU_OK}: {share:.1%} "
        f"({'met' if share >= TARGET_SHARE else 'NOT met'})"
    )
    verdict = "met" if worst < TARGET_SECONDS else "NOT met"
    print(f"target: < {TARGET_SECONDS:.0f} s per step: slowest {worst:.2f} s ({verdict})")
    return 0 if share >= TARGET_SHARE and worst < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())

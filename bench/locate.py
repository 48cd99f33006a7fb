"""How well and how fast ``debugkit.locate`` places elements, against the recorded ground truth.

For each page recorded by ``fixtures/recorder/record.py`` (``fixtures/recorded/<page>/``, with the true
document box of every element in ``truth.json``), every interactable element is located with
``locate_step(step, include_all=True)``; a location counts when its box overlaps the true box on the
same screenshot with an intersection over union of at least 0.7. Printed per page:

* the share of interactable elements located (all of them; iframe and shadow-DOM elements cannot be
  re-rendered from ``html_scrape`` and count as misses), and the share among the main-frame
  light-DOM elements that re-rendering can reach;
* the time per step (re-render + tile mapping + pixel checks), chosen elements only and all
  interactable elements, the median of ``--runs`` runs, with the browser already started (its launch,
  paid once per process, is printed separately).

Targets (issue 6): at least 90% of interactable elements with IoU >= 0.7, under 3 s per step.

    python bench/locate.py [--runs 3] [--recorded fixtures/recorded]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from debugkit.load import load_run  # noqa: E402
from debugkit.locate import Renderer, locate_step  # noqa: E402
from debugkit.locate.render import unavailable_reason  # noqa: E402
from debugkit.locate.tiles import iou  # noqa: E402
from debugkit.sources import open_source  # noqa: E402

TARGET_SHARE = 0.90
TARGET_SECONDS = 3.0
IOU_OK = 0.7


def true_box(truth: dict, element_id: str, tile: int) -> tuple[float, float, float, float]:
    info = truth["elements"][element_id]
    width, height = truth["viewport"]
    x, y, w, h = info["box"]
    if not info["fixed"]:
        y -= truth["tile_offsets"][tile]
    x0, y0 = max(0.0, x), max(0.0, y)
    return (x0, y0, max(0.0, min(width, x + w) - x0), max(0.0, min(height, y + h) - y0))


def score(truth: dict, found: dict) -> tuple[int, int, int, int]:
    """(interactable, located with IoU >= 0.7, locatable by re-rendering, of those located)."""
    total = good = locatable = locatable_good = 0
    for element_id, info in truth["elements"].items():
        if not info["interactable"]:
            continue
        can = not info["frame_chain"] and not info["shadow"]
        total += 1
        locatable += can
        location = found.get(element_id)
        ok = bool(
            location and location.found and iou(location.box, true_box(truth, element_id, location.tile)) >= IOU_OK
        )
        good += ok
        locatable_good += ok and can
    return total, good, locatable, locatable_good


def timed(step, renderer: Renderer, include_all: bool, runs: int) -> float:
    samples = []
    for _ in range(runs):
        renderer._cache.clear()  # time the re-render too, not a cached result
        started = time.perf_counter()
        locate_step(step, include_all=include_all, renderer=renderer)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="debugkit.locate against the recorded ground truth")
    parser.add_argument("--recorded", type=Path, default=ROOT / "fixtures" / "recorded")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    reason = unavailable_reason()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 1
    pages = sorted(p for p in args.recorded.iterdir() if (p / "truth.json").is_file())
    with Renderer() as renderer:
        started = time.perf_counter()
        renderer._ensure()
        launch = time.perf_counter() - started
        header = (
            f"{'page':<16} {'interactable':>12} {'IoU>=0.7':>9} {'share':>6} {'locatable':>10} {'share':>6} "
            f"{'s/step chosen':>13} {'s/step all':>10}"
        )
        print(header)
        print("-" * len(header))
        totals = [0, 0, 0, 0]
        worst = 0.0
        for folder in pages:
            truth = json.loads((folder / "truth.json").read_text())
            step = load_run(open_source(str(folder))).steps[0]
            renderer._cache.clear()
            found = locate_step(step, include_all=True, renderer=renderer)
            total, good, locatable, locatable_good = score(truth, found)
            for i, value in enumerate((total, good, locatable, locatable_good)):
                totals[i] += value
            chosen_s = timed(step, renderer, False, args.runs)
            all_s = timed(step, renderer, True, args.runs)
            worst = max(worst, chosen_s, all_s)
            print(
                f"{folder.name:<16} {total:>12} {good:>9} {good / total:>6.0%} {locatable:>10} "
                f"{locatable_good / max(1, locatable):>6.0%} {chosen_s:>13.2f} {all_s:>10.2f}"
            )
        total, good, locatable, locatable_good = totals
        print("-" * len(header))
        print(
            f"{'all pages':<16} {total:>12} {good:>9} {good / total:>6.0%} {locatable:>10} "
            f"{locatable_good / max(1, locatable):>6.0%} {'':>13} {'':>10}"
        )
        print()
        print(f"browser launch (once per process): {launch:.2f} s")
        print(
            f"target: >= {TARGET_SHARE:.0%} of interactable elements with IoU >= {IOU_OK}: "
            f"{good / total:.0%} of all ({'met' if good / total >= TARGET_SHARE else 'NOT met'}), "
            f"{locatable_good / max(1, locatable):.0%} of those re-rendering can reach "
            f"({'met' if locatable_good / max(1, locatable) >= TARGET_SHARE else 'NOT met'})"
        )
        verdict = "met" if worst < TARGET_SECONDS else "NOT met"
        print(f"target: < {TARGET_SECONDS:.0f} s per step: slowest {worst:.2f} s ({verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""One budget for the memory-hungry moments of placing elements: at most :data:`SLOTS` at once in the process.

Placing runs several steps at once (two workers, two OCR readers, Chromium's answers arriving), and some of its
image work allocates a few copies of a screenshot for a moment: the widget search (a colour difference per
channel, a label per pixel), the alignment search (the template and its window as floats), OCR's preparation,
the overlay and scroll signatures. When such moments coincide on several threads the process's peak jumps by
tens of megabytes for nothing. They are short and mostly hold the interpreter anyway: on 2 CPUs, one at a time
cut the report's peak on ``bench/scale.py``'s 30,000-request run from about 177 to 165 MiB, in the same time
(9.4 s). With more CPUs, more may run at once (one fewer than the CPUs: the first is the interpreter's).

A thread that already holds a slot does not take another (nested heavy work never waits for itself).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

from debugkit import allocator
from debugkit.forked import usable_cpus

__all__ = ["SLOTS", "heavy", "heavy_work", "usable_cpus"]

P = ParamSpec("P")
R = TypeVar("R")

SLOTS = max(1, usable_cpus() - 1)
_budget = threading.BoundedSemaphore(SLOTS)
_held = threading.local()


@contextlib.contextmanager
def heavy_work() -> Iterator[None]:
    """Hold one of the process's :data:`SLOTS` for the block (at once when this thread holds one already)."""
    if getattr(_held, "depth", 0):
        _held.depth += 1
        try:
            yield
        finally:
            _held.depth -= 1
        return
    with _budget:
        _held.depth = 1
        try:
            yield
        finally:
            _held.depth = 0
            allocator.trim()


def heavy(func: Callable[P, R]) -> Callable[P, R]:
    """``func`` run inside :func:`heavy_work`."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with heavy_work():
            return func(*args, **kwargs)

    return wrapper

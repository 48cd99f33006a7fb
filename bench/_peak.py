"""Run ``python -m debugkit ARGS`` and write the process's resident-set high-water mark (bytes) to a file.

Used by ``bench/scale.py``: ``python bench/_peak.py PEAK_FILE triage RUN --json``. ``VmHWM`` in
``/proc/self/status`` is read at exit, so it is this interpreter's own peak: ``ru_maxrss`` of a child
would include what the (large) benchmark process held when it forked. Chromium, started by the
locating stage, is a process of its own and is not counted; debugkit's own forked children are (see below).
"""

from __future__ import annotations

import atexit
import runpy
import sys


def _write_peak(path: str) -> None:
    # A long run's HAR is parsed, and its rows redacted, half in a forked child (debugkit.forked): while a child
    # lived, this process held at most its peak so far, and the child what it added to the pages they shared; the
    # command's peak is the larger of that sum and this process's own peak.
    forked = sys.modules.get("debugkit.forked")
    together = max((child.together for child in forked.children), default=0) if forked is not None else 0
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                kib = int(line.split()[1])
                with open(path, "w", encoding="ascii") as out:
                    out.write(str(max(kib * 1024, together)))
                return


if __name__ == "__main__":
    peak_file = sys.argv[1]
    atexit.register(_write_peak, peak_file)
    sys.argv = ["debugkit", *sys.argv[2:]]
    runpy.run_module("debugkit", run_name="__main__", alter_sys=True)

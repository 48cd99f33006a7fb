"""Give freed memory back to the system as a long command goes (glibc only; the CLI's process alone).

glibc raises its thresholds as large blocks are freed: after a few freed screenshot-sized buffers it keeps
up to 64 MB of free memory at the top of each heap instead of returning it, and the report and the bundle
free dozens of decoded screenshots (one step's pictures after another, on several threads). Fixing the
thresholds keeps the process near what it uses: on the 40-step bench run the report's peak fell from
297 MB to 215 MB, for about 0.4 s more (``bench/scale.py``). ``debugkit.triage()`` in another program
leaves that program's allocator alone: only the CLI calls :func:`return_freed_memory`.

It also keeps one heap (arena) for every thread. glibc gives each new thread a heap of its own (up to 8 per
CPU), and each keeps its own free memory: the screenshot readers, the locating threads and the renderer's
loop each held tens of MB that the next one could not reuse. With one heap the report's peak on that run
fell from 228 MB to 188 MB and the bundle's from 263 MB to 218 MB, in the same time (the threads allocate
large blocks, which are mapped on their own, and spend their time in C code that does not allocate).

Free chunks inside the heap (between blocks still in use) stay resident until :func:`trim` returns their pages;
it is called after each placed step, each heavy image operation (:mod:`debugkit.locate.heavy`), masking,
encoding the report's screenshots, reading a run, and before the bundle's check (a no-op outside the CLI).
"""

from __future__ import annotations

import gc
import os

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 4 << 20  # blocks this large or larger are mapped on their own, and unmapped when freed
TRIM_THRESHOLD = 8 << 20  # free memory above this at a heap's top is returned
ARENA_MAX = 1  # heaps: every thread allocates from the main one (set before any thread starts)


_trim = None  # glibc's malloc_trim, once return_freed_memory has run


def trim() -> None:
    """Return the free pages inside the heap (not only at its top) to the system: after a step's pictures are
    dropped, between the blocks still in use. Nothing unless :func:`return_freed_memory` ran (the CLI)."""
    if _trim is not None:
        _trim(0)


_keep = False  # keep_parsed freezes: a CLI command that reads one run and ends (see keep_what_is_read)


def keep_what_is_read(on: bool = True) -> None:
    """Let :func:`keep_parsed` freeze: the CLI turns it on for the commands that read one run and end (``triage``,
    ``report``, ``bundle``, ``annotate``), never for ``serve`` or ``runs``, whose runs come and go (what is frozen
    is never swept again: a dropped run's cyclic garbage, a parsed page's tree, would stay)."""
    global _keep
    _keep = on


def keep_parsed() -> None:
    """The CLI's process: what has been read so far lives until the command ends, so the cyclic collector stops
    sweeping it (:func:`gc.freeze`; a 30,000-request run is half a million objects, swept again at each full
    collection). Called after the HAR is parsed, after the run is read and after it is redacted. Nothing unless
    :func:`return_freed_memory` ran and :func:`keep_what_is_read` is on."""
    if _trim is not None and _keep:
        gc.freeze()


def return_freed_memory() -> bool:
    """Fix glibc's mmap and trim thresholds (this also stops it raising them) and keep one heap for every thread.

    Call it before any thread starts (a thread that has allocated keeps its heap). False where there is no
    glibc."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):  # not glibc (musl, macOS, Windows)
            return False
        import ctypes  # only here: the CLI's start pays for it where it is used

        libc = ctypes.CDLL("libc.so.6")
    except (AttributeError, ValueError, OSError):
        return False
    global _trim
    mallopt = libc.mallopt
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    done = [mallopt(option, value) for option, value in (
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_ARENA_MAX, ARENA_MAX)
    )]
    _trim = libc.malloc_trim
    _trim.argtypes = [ctypes.c_size_t]
    return all(done)

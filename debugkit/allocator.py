"""Give freed memory back to the system as a long command goes (glibc only; the CLI's process alone).

glibc raises its thresholds as large blocks are freed: after a few freed screenshot-sized buffers it keeps
up to 64 MB of free memory at the top of each heap instead of returning it, and the report and the bundle
free dozens of decoded screenshots (one step's pictures after another, on several threads). Fixing the
thresholds keeps the process near what it uses: on the 40-step bench run the report's peak fell from
297 MB to 215 MB, for about 0.4 s more (``bench/scale.py``). ``debugkit.triage()`` in another program
leaves that program's allocator alone: only the CLI calls :func:`return_freed_memory`.
"""

from __future__ import annotations

import os

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 4 << 20  # blocks this large or larger are mapped on their own, and unmapped when freed
TRIM_THRESHOLD = 8 << 20  # free memory above this at a heap's top is returned


def return_freed_memory() -> bool:
    """Fix glibc's mmap and trim thresholds (this also stops it raising them); False where there is no glibc."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):  # not glibc (musl, macOS, Windows)
            return False
        import ctypes  # only here: the CLI's start pays for it where it is used

        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (AttributeError, ValueError, OSError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))

"""The CLI fixes glibc's thresholds so that freed screenshot buffers go back to the system."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from debugkit import allocator


def _glibc() -> bool:
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (AttributeError, ValueError, OSError):
        return False


@pytest.mark.skipif(not _glibc(), reason="glibc only (Debian, where CI runs, has it)")
def test_thresholds_are_set_where_there_is_glibc() -> None:
    assert allocator.return_freed_memory() is True


def test_nothing_is_done_without_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocator.os, "confstr", lambda name: None)
    assert allocator.return_freed_memory() is False


_HEAPS = """
import ctypes, os, sys, tempfile, threading
from debugkit import allocator
if sys.argv[1] == "fixed":
    assert allocator.return_freed_memory()
held, ready, done = [], threading.Barrier(5), threading.Event()
def work():
    held.append(bytearray(300_000))  # malloc'd from this thread (above pymalloc's small-object sizes)
    ready.wait()
    done.wait()
threads = [threading.Thread(target=work) for _ in range(4)]
for thread in threads:
    thread.start()
ready.wait()
libc = ctypes.CDLL("libc.so.6")
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
path = os.path.join(tempfile.mkdtemp(), "heaps.xml")
stream = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, stream)
libc.fclose(stream)
done.set()
print(open(path).read().count("<heap nr="))
"""


@pytest.mark.skipif(not _glibc(), reason="glibc only (Debian, where CI runs, has it)")
def test_threads_share_one_heap_once_fixed() -> None:
    """Each thread's own heap kept its freed screenshots: the CLI keeps every thread on one heap."""
    import subprocess
    import sys

    def heaps(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", _HEAPS, mode], capture_output=True, text=True, check=True)
        return int(out.stdout)

    assert heaps("default") > 1  # glibc's default: the threads got heaps of their own
    assert heaps("fixed") == 1


_TRIM = """
import sys
from debugkit import allocator
def rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) * 1024
allocator.trim()  # before return_freed_memory: nothing to call yet
assert allocator.return_freed_memory()
blocks = [bytearray(200_000) for _ in range(300)]  # 60 MB in the heap (below the mmap threshold)
for index in range(0, len(blocks) - 1, 2):
    blocks[index] = None  # half freed, between blocks still in use: not at the heap's top
before = rss()
allocator.trim()
print(before - rss())
"""


@pytest.mark.skipif(not _glibc(), reason="glibc only (Debian, where CI runs, has it)")
def test_trim_returns_free_pages_inside_the_heap() -> None:
    """A step's freed pictures lie between blocks still in use: trim gives their pages back."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _TRIM], capture_output=True, text=True, check=True)
    assert int(out.stdout) > 20_000_000  # of the 30 MB freed


def test_trim_does_nothing_outside_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocator, "_trim", None)
    allocator.trim()  # no allocator call, no error


_FROZEN = """
import gc, sys
from debugkit import allocator, pipeline
if sys.argv[1] != "api":
    allocator.return_freed_memory()  # what the CLI does for every command
if sys.argv[1] == "one run":
    allocator.keep_what_is_read()  # ... and for triage, report, bundle and annotate
source = pipeline.read("fixtures/real/checkout_500")
after_read = gc.get_freeze_count()
pipeline.prepare(source, render=False)
print(after_read, gc.get_freeze_count())
"""


def test_a_one_run_command_keeps_what_it_read_out_of_the_collectors_sweeps() -> None:
    """After reading a run and after redacting it, a CLI command that reads one run moves its objects out of the
    cyclic collector's sweeps (they live until the command ends); `serve` and `runs`, whose runs come and go, and a
    program using the Python API keep their collector as it is."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    frozen = {
        mode: [int(n) for n in subprocess.run(
            [sys.executable, "-c", _FROZEN, mode], capture_output=True, text=True, check=True, cwd=root
        ).stdout.split()]
        for mode in ("one run", "many runs", "api")
    }
    read, redacted = frozen["one run"]
    assert read > 10_000 and redacted > read  # the redacted copy frozen too
    assert frozen["many runs"] == [0, 0] and frozen["api"] == [0, 0]


def test_main_keeps_what_is_read_only_for_the_one_run_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    from debugkit import cli

    seen: list[tuple[str, bool]] = []
    for command in ("triage", "report", "bundle", "annotate", "runs", "serve"):
        def record(args, command: str = command) -> int:  # noqa: ANN001 - argparse's namespace
            seen.append((command, allocator._keep))
            return 0

        monkeypatch.setattr(cli, f"_{command}", record)
    monkeypatch.setattr(cli, "return_freed_memory", lambda: True)
    commands = (["triage", "x"], ["report", "x"], ["bundle", "x", "-o", "b.zip"],
                ["annotate", "x", "--step", "1", "-o", "out"], ["runs", "x"], ["serve", "--out", "o"])
    for argv in commands:
        cli.main(argv)
    assert dict(seen) == {"triage": True, "report": True, "bundle": True, "annotate": True, "runs": False,
                          "serve": False}
    assert allocator._keep is False  # switched off again when main returns

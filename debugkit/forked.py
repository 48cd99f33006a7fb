"""Two halves of one job at once: the second in a forked child process, the first here (the CLI's process alone).

The interpreter runs one thread of Python at a time, and a long run's network is tens of thousands of rows to
parse and redact in Python. :func:`both` forks (Linux, at least 2 CPUs, and only once the CLI called
:func:`enable`), runs ``second`` in the child while this process runs ``first``, and takes the child's result
back pickled through a pipe. The child is a copy of this process: it reads the HAR bytes, the rows and the
redactor already made, without copying them. It runs nothing but ``second`` (no thread of ours, no ``atexit``
handler: it leaves by :func:`os._exit`), and nothing of it outlives the call.

Whenever the child cannot give its result (no fork, a crash, a result that does not unpickle), ``second`` runs
here after ``first``, so the answer is the same either way, only slower. A program using the Python API keeps one
process (``debugkit.triage()`` never forks).

:data:`children` records, per child, its pid, whether its result was used, its own memory (what it added to this
process's pages at its most) and the most both could have held at once: ``bench/scale.py`` takes that as the
command's peak when it is above this process's own.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

A = TypeVar("A")
B = TypeVar("B")

_enabled = False
_MEMORY = struct.Struct("<Q")  # the child's memory, before its pickled answer


@dataclass
class Child:
    pid: int
    used: bool  # its result was taken (else ``second`` ran here)
    memory: int  # bytes: the child's peak resident set above what it shared with this process when forked
    together: int = 0  # bytes: this process's peak so far when the child's answer came, plus ``memory``: the most
    # both can have held at once


children: list[Child] = []


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, on Linux), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def enable(on: bool = True) -> None:
    """Let :func:`both` fork (the CLI does for the commands that read one run; the child runs only the pure parsing
    and redaction code handed to it, never a lock the renderer's or the readers' threads may hold)."""
    global _enabled
    _enabled = on


def available() -> bool:
    """Whether :func:`both` would fork now."""
    return _enabled and hasattr(os, "fork") and usable_cpus() >= 2


def both(first: Callable[[], A], second: Callable[[], B]) -> tuple[A, B]:
    """``(first(), second())``, ``second`` run in a forked child while ``first`` runs here when :func:`available`.

    ``second`` must return something picklable and must not depend on ``first`` having run; an exception in it is
    not raised there: ``second`` then runs here, and raises here if it must."""
    if not available():
        return first(), second()
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return first(), second()
    try:
        with warnings.catch_warnings():  # Python 3.12+ warns of fork() beside threads: the child runs no locks of ours
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return first(), second()
    if pid == 0:  # pragma: no cover - the child (its lines run, but coverage does not follow a fork)
        _child(read_end, write_end, second)
    os.close(write_end)
    try:
        mine = first()
    except BaseException:
        _stop(pid, read_end)
        raise
    payload = _read_all(read_end)
    _reap(pid)
    answer = _unpack(payload)
    if answer is None:
        children.append(Child(pid, False, 0))
        return mine, second()
    result, memory = answer
    del payload
    children.append(Child(pid, True, memory, _peak() + memory))
    return mine, result  # type: ignore[return-value]


def _child(read_end: int, write_end: int, second: Callable[[], object]) -> None:  # pragma: no cover - in the child
    status = 1
    try:
        os.close(read_end)
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: the parent stops it, or it just ends
        gc.disable()  # a collection would touch (and so copy) every page of the parent's objects
        base = _resident()
        payload = pickle.dumps(second(), protocol=pickle.HIGHEST_PROTOCOL)
        memory = max(0, _peak() - base)  # its work and the answer, at their most
        with os.fdopen(write_end, "wb") as out:
            out.write(_MEMORY.pack(memory))
            out.write(payload)
        status = 0
    except BaseException:  # noqa: BLE001 - whatever happened, the parent runs ``second`` itself
        status = 1
    finally:
        os._exit(status)


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    try:
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError:
        return b""
    finally:
        os.close(fd)
    return b"".join(chunks)


def _unpack(payload: bytes) -> tuple[object, int] | None:
    if len(payload) <= _MEMORY.size:
        return None
    try:
        result = pickle.loads(payload[_MEMORY.size :])
    except Exception:  # a child that died while writing: its half is done here
        return None
    return result, _MEMORY.unpack_from(payload)[0]


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, 0)


def _stop(pid: int, read_end: int) -> None:
    with contextlib.suppress(ProcessLookupError, OSError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.close(read_end)
    _reap(pid)


def _status_kib(field: str) -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _resident() -> int:
    return _status_kib("VmRSS:")


def _peak() -> int:
    return _status_kib("VmHWM:")

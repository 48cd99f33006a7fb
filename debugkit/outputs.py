"""Where commands write: never inside or over what they read, whole or not at all, one line when it fails.

Every command that writes (``report``, ``bundle``, ``annotate``, ``fetch``) checks its output path with
:func:`check_output` before any work and writes with :func:`write_output`:

- an output inside the source folder, or the source itself (also through a symbolic link), is refused;
- the folder the output goes into must exist (it is never created): the same error for every command;
- an existing file is replaced atomically: the new content goes to a temporary file beside it, which is
  then renamed over it, so a reader sees the old file or the new one, never a mix;
- permission and other file-system errors end the command with one line (exit 2), not a traceback.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from debugkit.errors import UsageError


def _resolved(path: Path) -> Path:
    try:
        return path.expanduser().resolve()
    except (OSError, RuntimeError):  # a symlink loop: compare as written
        return Path(os.path.abspath(path.expanduser()))


def check_output(path: Path, sources: Iterable[Path] = (), *, folder: bool = False) -> Path:
    """Refuse an output over or inside a source, or whose parent folder does not exist.

    ``folder``: the output is a folder (it may exist, or be created in an existing parent)."""
    target = _resolved(path)
    for source in sources:
        real = _resolved(source)
        if target == real or real in target.parents:
            raise UsageError(f"refusing to write {path}: it is inside the source {source} (choose another -o)")
    parent = target.parent
    if not parent.exists():
        raise UsageError(f"cannot write {path}: the folder {parent} does not exist")
    if not parent.is_dir():
        raise UsageError(f"cannot write {path}: {parent} is not a folder")
    if folder and target.exists() and not target.is_dir():
        raise UsageError(f"cannot write into {path}: it is a file, not a folder")
    if not folder and target.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder")
    return target


def write_output(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, then a rename).

    The parent folder must exist. OSErrors become a one-line UsageError (exit 2)."""
    fd, temp = None, None
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name[:60]}.", suffix=".part", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            fd = None
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
        temp = None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def make_folder(path: Path) -> None:
    """Create the output folder ``path`` (its parent must exist); one line on failure."""
    try:
        path.mkdir(exist_ok=True)
    except FileNotFoundError:
        raise UsageError(f"cannot write {path}: the folder {path.parent} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None

"""Sources: turn what the user points at into a :class:`~debugkit.model.RawRun`.

Three kinds are accepted (``docs/run-folder.md``): a run folder, Skyvern's local storage tree
(or any folder of it down to one step folder) and a step/task archive ZIP. Bad input raises
:class:`~debugkit.errors.SourceError` with a one-line message; damaged pieces of a readable run
become :class:`~debugkit.model.Problem` entries and unreadable artifact bytes raise
:class:`~debugkit.model.ArtifactUnavailable` from ``ArtifactRef.read()``.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from debugkit.errors import SourceError
from debugkit.model import ArtifactUnavailable, RawRun
from debugkit.runfolder_layout import FILE_DIRS
from debugkit.sources.archive import read_step_or_task_archive, refusal_problems, run_folder_prefix
from debugkit.sources.localstore import find_step_dirs, read_local_storage
from debugkit.sources.runfolder import is_run_folder, read_run_folder, read_tree
from debugkit.sources.tree import ZipTree
from debugkit.sources.zipsafe import SafeZip, one_line

__all__ = ["open_source", "read_archive", "read_local_storage", "read_run_folder"]

EXPECTED = "expected run.json, a step folder such as 00_0_stp_..., or a step/task archive ZIP"


def open_source(path: str | os.PathLike[str]) -> RawRun:
    """Open a run folder, a storage tree or an archive ZIP; raise SourceError for anything else."""
    target = Path(os.fspath(path)).expanduser()
    try:
        return _open(target)
    except SourceError as exc:
        raise SourceError(_single_line(str(exc))) from exc.__cause__
    except Exception as exc:  # never a raw traceback for bad input
        raise SourceError(f"cannot read {target}: {one_line(exc)}") from exc


def _single_line(message: str) -> str:
    return " ".join(message.split())  # folded, never clipped: the message names the path


def _open(target: Path) -> RawRun:
    if not target.exists():
        raise SourceError(f"no such file or directory: {target} ({EXPECTED})")
    if target.is_dir():
        return _open_dir(target)
    if not target.is_file():
        raise SourceError(f"not a file or folder: {target} ({EXPECTED})")
    if target.name in {"run.json", "steps.json", "artifacts.json"}:
        raise SourceError(f"{target} is a file of a run folder: pass the folder {target.parent} instead")
    if zipfile.is_zipfile(target):
        return read_archive(target)
    if target.suffix.lower() == ".zip":
        raise SourceError(f"cannot open {target}: not a readable ZIP archive ({EXPECTED})")
    raise SourceError(f"no Skyvern run found in {target}: not a folder or a ZIP archive ({EXPECTED})")


def read_archive(path: Path) -> RawRun:
    """Read a ZIP: a run folder inside it (at its top, or in its single top folder), else a lone
    step or task archive. Raises SourceError when it is not a readable ZIP or holds none of these."""
    try:
        archive = SafeZip.open(path, path.name)
    except ArtifactUnavailable as exc:
        raise SourceError(f"cannot open {path}: {exc.reason}; expected a step/task archive ZIP") from exc
    prefix = run_folder_prefix(archive)
    if prefix is not None:
        raw = read_tree(ZipTree(archive, prefix), str(path), "archive")
        raw.problems[:0] = refusal_problems(archive)
        return raw
    return read_step_or_task_archive(path, archive)


def _open_dir(target: Path) -> RawRun:
    """A run folder; but run.json beside step folders and no artifact list is a storage tree."""
    if is_run_folder(target) and (_has_artifact_list(target) or not find_step_dirs(target)):
        return read_run_folder(target)
    if find_step_dirs(target):
        return read_local_storage(target)
    raise SourceError(f"no Skyvern run found in {target}: {EXPECTED}")


def _has_artifact_list(target: Path) -> bool:
    return (target / "artifacts.json").is_file() or any((target / d).is_dir() for d in FILE_DIRS)

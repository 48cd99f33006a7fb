"""The runs under a folder, for ``debugkit runs PATH`` (offline).

PATH is one run (a run folder, a task folder of Skyvern's local storage, a step folder, an
archive ZIP) or a folder holding runs: run folders, ZIPs, task folders, and folders of those
(an organisation folder, a storage root), a few levels down.
"""

from __future__ import annotations

from pathlib import Path

from debugkit.errors import SourceError
from debugkit.sources.common import STEP_DIR_RE
from debugkit.sources.runfolder import is_run_folder

MAX_DEPTH = 4
MAX_RUNS = 10_000


def discover_runs(path: Path) -> list[Path]:
    """Every run under ``path`` (``path`` itself when it is one), sorted by path."""
    if not path.exists():
        raise SourceError(f"no such file or directory: {path}")
    if path.is_file() or _is_run(path):
        return [path]
    found: list[Path] = []
    _walk(path, MAX_DEPTH, found)
    if not found:
        raise SourceError(
            f"no runs found in {path}: expected run folders (run.json), task folders of Skyvern's local "
            "storage (00_0_stp_... inside) or archive ZIPs"
        )
    return sorted(found)


def _is_run(folder: Path) -> bool:
    return is_run_folder(folder) or bool(STEP_DIR_RE.match(folder.name)) or any(
        STEP_DIR_RE.match(child.name) for child in _children(folder) if child.is_dir()
    )


def _walk(folder: Path, depth: int, found: list[Path]) -> None:
    for child in _children(folder):
        if len(found) >= MAX_RUNS:
            return
        if child.name.startswith(".") or child.name == "logs":
            continue
        if child.is_file():
            if child.suffix.lower() == ".zip":
                found.append(child)
        elif child.is_dir():
            if _is_run(child):
                found.append(child)
            elif depth > 1:
                _walk(child, depth - 1, found)


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []

"""Skyvern's own local storage tree: ``{org}/{task}/{order:02d}_{retry}_{step_id}/{ts}_{id}_{type}.{ext}``.

See ``docs/run-folder.md`` section 2. Steps come from folder names (or from a ``steps.json`` lying
in the folder given or beside the task folder), artifacts from file names; step/task archive
ZIPs found in step folders are opened and their members used; ``logs/step/<step_id>/`` files
become ``skyvern_log``/``skyvern_log_raw`` refs of the steps that are known.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

from debugkit.constants import ARCHIVE_TYPES
from debugkit.errors import SourceError
from debugkit.model import ArtifactRef, ArtifactUnavailable, Problem, RawRun
from debugkit.sources.archive import member_refs
from debugkit.sources.common import (
    ARTIFACT_FILE_RE,
    LOG_FILE_RE,
    LOOKS_LIKE_ARTIFACT_RE,
    STEP_DIR_RE,
    TASK_DIR_RE,
    Documents,
    guarded,
    read_documents,
    step_sort_key,
)
from debugkit.sources.tree import DirTree
from debugkit.sources.zipsafe import SafeZip, read_path
from debugkit.timeutil import parse_time

MAX_DEPTH = 4  # how deep below the given folder step folders are looked for
MAX_DIRS = 20_000  # folders looked at before giving up (a home directory is not a run)
DOC_NAMES = ("steps.json", "run.json", "task.json", "tasks.json", "actions.json")


def find_step_dirs(root: Path, max_depth: int = MAX_DEPTH, linked: list[Path] | None = None) -> list[Path]:
    """Step folders (``00_0_stp_...``) at ``root`` or up to ``max_depth`` levels below it.

    ``logs`` and hidden folders are not entered; nor are step folders themselves, nor symbolic links to
    folders (appended to ``linked`` when given).
    """
    if STEP_DIR_RE.match(root.name):
        return [root]
    found: list[Path] = []
    frontier = [root]
    visited = 0
    for _depth in range(max_depth):
        deeper: list[Path] = []
        for folder in frontier:
            for entry in _subdirs(folder, linked):
                visited += 1
                if visited > MAX_DIRS:
                    return found
                if STEP_DIR_RE.match(entry.name):
                    found.append(entry)
                elif entry.name != "logs" and not entry.name.startswith("."):
                    deeper.append(entry)
        frontier = deeper
    return found


def _subdirs(folder: Path, linked: list[Path] | None = None) -> list[Path]:
    """Real sub-folders (a symbolic link to a folder is not followed: it goes to ``linked``)."""
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    out = []
    for entry in entries:
        if entry.is_symlink():
            if linked is not None and entry.is_dir():
                linked.append(entry)
        elif entry.is_dir():
            out.append(entry)
    return out


def _folder_step(step_dir: Path) -> dict[str, Any]:
    """The minimal step dict a folder name gives."""
    match = STEP_DIR_RE.match(step_dir.name)
    assert match is not None
    return {
        "step_id": match.group("step_id"),
        "task_id": _task_id(step_dir),
        "order": int(match.group("order")),
        "retry_index": int(match.group("retry")),
    }


def _task_id(step_dir: Path) -> str | None:
    return step_dir.parent.name if TASK_DIR_RE.match(step_dir.parent.name) else None


def read_local_storage(root: Path) -> RawRun:
    """Read a storage tree: the storage root, an org or task folder, or a single step folder."""
    linked: list[Path] = []
    step_dirs = find_step_dirs(root, linked=linked)
    if not step_dirs:
        raise SourceError(f"no Skyvern step folder (such as 00_0_stp_...) found in {root}")
    pairs = sorted(((_folder_step(d), d) for d in step_dirs), key=lambda pair: step_sort_key(pair[0]))
    folder_steps = [step for step, _dir in pairs]
    raw = RawRun(source=str(root), kind="local_storage")
    for path in linked:
        detail = f"refused {path.relative_to(root)}: a symbolic link to a folder (not followed)"
        raw.problems.append(Problem(kind="refused", detail=detail))
    _apply_documents(raw, _documents(root, step_dirs, raw.problems), folder_steps, single=root in step_dirs)
    for step, step_dir in pairs:
        raw.artifacts.extend(_folder_refs(step_dir, step["step_id"], step["task_id"], raw.problems))
    for task_dir in _task_dirs_within(root, step_dirs):
        raw.artifacts.extend(_folder_refs(task_dir, None, task_dir.name, raw.problems))
    known = {step["step_id"]: step for step in raw.steps if isinstance(step.get("step_id"), str)}
    raw.artifacts.extend(_log_refs(_log_roots(root, step_dirs), known))
    return raw


def _unique(paths: Iterable[Path]) -> list[Path]:
    seen: set[Path] = set()
    out = []
    for path in paths:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out


def _documents(root: Path, step_dirs: list[Path], problems: list[Problem]) -> tuple[Documents, Path] | None:
    """The API documents in the folder given, or in / beside the task folder, if any."""
    candidates = [root]
    for step_dir in step_dirs:
        candidates += [step_dir.parent, step_dir.parent.parent]
    for folder in _unique(candidates):
        if any((folder / name).is_file() for name in DOC_NAMES):
            return read_documents(DirTree(folder), problems), folder
    return None


def _apply_documents(
    raw: RawRun,
    found: tuple[Documents, Path] | None,
    folder_steps: list[dict[str, Any]],
    single: bool = False,
) -> None:
    """Steps from steps.json when it describes these folders, else from the folder names.

    With ``single`` (one step folder was given) only that step is kept from steps.json.
    """
    raw.steps = list(folder_steps)
    if found is None:
        return
    docs, folder = found
    raw.run, raw.tasks, raw.actions = docs.run, docs.tasks, docs.actions
    if docs.steps is None:
        return
    folder_ids = {step["step_id"] for step in folder_steps}
    api_ids = {step.get("step_id") for step in docs.steps}
    if not api_ids & folder_ids:
        detail = f"{folder / 'steps.json'} does not describe these step folders; ignored"
        raw.problems.append(Problem(kind="skipped", detail=detail))
        return
    raw.steps = [step for step in docs.steps if not single or step.get("step_id") in folder_ids]
    raw.steps_from_api = True
    for step in folder_steps:
        if step["step_id"] not in api_ids:
            raw.steps.append(step)
            raw.problems.append(
                Problem(
                    kind="skipped",
                    detail=f"step folder of {step['step_id']} is not in steps.json; its status is unknown",
                    step_id=step["step_id"],
                )
            )


def _task_dirs_within(root: Path, step_dirs: list[Path]) -> list[Path]:
    """Task folders at or below ``root`` (not above a single step folder that was given)."""
    dirs = [d.parent for d in step_dirs if TASK_DIR_RE.match(d.parent.name)]
    return [d for d in _unique(dirs) if d == root or root in d.parents]


def _folder_refs(folder: Path, step_id: str | None, task_id: str | None, problems: list[Problem]) -> list[ArtifactRef]:
    """Refs for the artifact files (and archive ZIP members) directly inside ``folder``."""
    refs: list[ArtifactRef] = []
    candidates: dict[str, list[tuple[Path, re.Match[str]]]] = {}
    for entry in _files(folder):
        match = ARTIFACT_FILE_RE.match(entry.name)
        if match is None:
            if LOOKS_LIKE_ARTIFACT_RE.search(entry.name):
                detail = f"unrecognised artifact file name {entry.name}"
                problems.append(Problem(kind="skipped", detail=detail, step_id=step_id))
            continue
        if match.group("type") in ARCHIVE_TYPES:
            refs.extend(_archive_refs(entry, match, step_id, task_id, problems))
        else:
            candidates.setdefault(match.group("artifact_id"), []).append((entry, match))
    for files in candidates.values():
        entry, match = max(files, key=lambda item: _preference(item[0]))
        refs.append(_file_ref(entry, match, step_id, task_id))
    return sorted(refs, key=lambda ref: ref.sort_key())


def _files(folder: Path) -> list[Path]:
    """Everything in ``folder`` that is not a real sub-folder: links and special files are listed too,
    so that reading them names them as refused."""
    if folder.is_symlink():
        return []
    try:
        return sorted(entry for entry in folder.iterdir() if entry.is_symlink() or not entry.is_dir())
    except OSError:
        return []


def _preference(path: Path) -> tuple[bool, bool, int]:
    """Which of two files with one artifact id to keep: non-empty, not .webm, bigger.

    Skyvern leaves an empty ``.webm`` beside the ``.mp4`` recording with the same id.
    """
    try:
        size = path.lstat().st_size
    except OSError:
        size = 0
    return (size > 0, path.suffix != ".webm", size)


def _file_ref(entry: Path, match: re.Match[str], step_id: str | None, task_id: str | None) -> ArtifactRef:
    return ArtifactRef(
        artifact_type=match.group("type"),
        name=entry.name,
        read=guarded(partial(read_path, entry, entry.name, entry.parent), entry.name),
        size=lambda: entry.lstat().st_size,
        artifact_id=match.group("artifact_id"),
        step_id=step_id,
        task_id=task_id,
        created_at=parse_time(match.group("ts")),
    )


def _archive_refs(
    entry: Path, match: re.Match[str], step_id: str | None, task_id: str | None, problems: list[Problem]
) -> list[ArtifactRef]:
    """Member refs of a ``*_step_archive.zip`` / ``*_task_archive.zip`` in a step folder."""
    try:
        archive = SafeZip.open(entry, entry.name, root=entry.parent)
    except ArtifactUnavailable as exc:
        problems.append(
            Problem(
                kind=exc.kind,
                detail=exc.reason,
                artifact_type=match.group("type"),
                step_id=step_id,
                artifact_id=match.group("artifact_id"),
            )
        )
        return []
    refs, found = member_refs(archive, step_id, task_id, parse_time(match.group("ts")))
    problems.extend(found)
    return refs


def _log_roots(root: Path, step_dirs: list[Path]) -> list[Path]:
    """``logs/step`` folders in the folder given or up to the storage root above the steps."""
    candidates = [root / "logs" / "step"]
    for step_dir in step_dirs:
        candidates += [parent / "logs" / "step" for parent in list(step_dir.parents)[:3]]
    real = [p for p in _unique(candidates) if p.is_dir() and not p.is_symlink() and not p.parent.is_symlink()]
    return real


def _log_refs(log_roots: list[Path], known: dict[str, dict[str, Any]]) -> list[ArtifactRef]:
    """skyvern_log / skyvern_log_raw refs from ``logs/step/<step_id>/`` of the known steps."""
    refs = []
    for log_root in log_roots:
        for step_id, step in known.items():
            for entry in _files(log_root / step_id):
                match = LOG_FILE_RE.match(entry.name)
                if match is None:
                    continue
                refs.append(
                    ArtifactRef(
                        artifact_type=match.group("type"),
                        name=entry.name,
                        read=guarded(partial(read_path, entry, entry.name, entry.parent), entry.name),
                        step_id=step_id,
                        task_id=step.get("task_id"),
                        created_at=parse_time(match.group("ts")),
                    )
                )
    return refs

"""The run folder reader: the API documents plus ``files/`` (or ``artifact_files/``).

See ``docs/run-folder.md`` section 1. Every document is read independently: a damaged one is a
Problem naming the file and the rest is still read. Artifact bytes are read lazily; bundled
members come from their parent archive ZIP, opened once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from debugkit.constants import ARCHIVE_TYPES
from debugkit.model import ArtifactRef, ArtifactUnavailable, Problem, RawRun
from debugkit.runfolder_layout import FETCH_MANIFEST, FILE_DIRS, artifact_id_of, artifact_outcomes, split_file_name
from debugkit.sources.archive import member_size, refusal_problems
from debugkit.sources.common import (
    MISSING,
    guarded,
    index_from_name,
    load_json,
    read_documents,
)
from debugkit.sources.tree import DirTree, Tree
from debugkit.sources.zipsafe import ZIP_MAGIC, SafeZip
from debugkit.timeutil import parse_time


def is_run_folder(path: Path) -> bool:
    """A folder holding run.json, or steps.json together with artifacts.json."""
    return (path / "run.json").is_file() or ((path / "steps.json").is_file() and (path / "artifacts.json").is_file())


def read_run_folder(path: Path) -> RawRun:
    """Read a run folder on disk (what ``debugkit fetch`` writes, or a recorded real run)."""
    return read_tree(DirTree(path), str(path), "run_folder")


def read_tree(tree: Tree, source: str, kind: str) -> RawRun:
    """Read a run folder from any tree (a directory, or a folder inside a ZIP)."""
    raw = RawRun(source=source, kind=kind)
    docs = read_documents(tree, raw.problems, required=("run.json", "steps.json"))
    raw.run = docs.run
    raw.tasks = docs.tasks
    if docs.steps is not None:
        raw.steps = docs.steps
        raw.steps_from_api = True
    raw.actions = docs.actions
    rows = _artifact_rows(tree, raw.problems)
    if rows is None:
        raw.artifacts = _refs_from_file_names(tree)
    else:
        raw.artifacts = _ArtifactReader(tree, rows, raw.problems).refs()
    for rel, reason in sorted(getattr(tree, "refused", {}).items()):
        raw.problems.append(Problem(kind="refused", detail=f"refused {tree.display(rel)}: {reason}"))
    return raw


def _artifact_rows(tree: Tree, problems: list[Problem]) -> list[dict[str, Any]] | None:
    """The usable rows of artifacts.json; None when the file is absent or unusable."""
    value = load_json(tree, "artifacts.json", problems)
    if value is MISSING:
        return None
    if isinstance(value, dict) and isinstance(value.get("artifacts"), list):
        value = value["artifacts"]
    if not isinstance(value, list):
        detail = f"{tree.display('artifacts.json')} is not a list of artifact rows"
        problems.append(Problem(kind="damaged", detail=detail))
        return None
    rows = []
    for number, row in enumerate(value):
        if isinstance(row, dict) and isinstance(row.get("artifact_type"), str):
            rows.append(row)
        else:
            detail = f"{tree.display('artifacts.json')} row {number} is not an artifact row"
            problems.append(Problem(kind="damaged", detail=detail))
    return rows


def _file_index(tree: Tree) -> dict[str, str]:
    """artifact_id -> path of its file in files/ or artifact_files/ (``<id>__...`` names)."""
    index: dict[str, str] = {}
    for folder in FILE_DIRS:
        for name in tree.list(folder):
            artifact_id = artifact_id_of(name)
            if artifact_id is not None and artifact_id not in index:
                index[artifact_id] = f"{folder}/{name}"
    return index


def _refs_from_file_names(tree: Tree) -> list[ArtifactRef]:
    """Without artifacts.json, refs from ``<id>__<type>__<name>`` file names (step unknown)."""
    refs = []
    for artifact_id, rel in sorted(_file_index(tree).items()):
        parts = split_file_name(rel.split("/", 1)[1])
        if parts is None or parts[1] in ARCHIVE_TYPES:
            continue
        refs.append(
            ArtifactRef(
                artifact_type=parts[1],
                name=rel.split("/", 1)[1],
                read=guarded(partial(tree.read, rel), rel),
                artifact_id=artifact_id,
            )
        )
    return refs


@dataclass
class _Parent:
    """A step_archive/task_archive row and its ZIP once opened (or why it cannot be)."""

    row: dict[str, Any]
    archive: SafeZip | None = None
    error: ArtifactUnavailable | None = None


class _ArtifactReader:
    """Turns artifact rows into refs; owns the cache of opened parent archives."""

    def __init__(self, tree: Tree, rows: list[dict[str, Any]], problems: list[Problem]) -> None:
        self.tree = tree
        self.rows = rows
        self.problems = problems
        self.files = _file_index(tree)
        self.fetched = _fetch_outcomes(tree)
        self.parents: dict[str, _Parent] = {}
        for row in rows:
            if row["artifact_type"] in ARCHIVE_TYPES and not row.get("bundle_key") and row.get("uri"):
                self.parents.setdefault(row["uri"], _Parent(row))
        self._open_parents()

    def _open_parents(self) -> None:
        """Open every downloaded parent ZIP once, noting refused members and damaged archives."""
        for parent in self.parents.values():
            row = parent.row
            rel = self.files.get(str(row.get("artifact_id")))
            if rel is None:
                parent.error = ArtifactUnavailable(
                    f"file not downloaded: {row['artifact_type']} {row.get('artifact_id')}", "missing"
                )
                continue
            try:
                parent.archive = self.tree.open_zip(rel)
            except ArtifactUnavailable as exc:
                parent.error = exc
                self.problems.append(
                    Problem(
                        kind=exc.kind,
                        detail=exc.reason,
                        artifact_type=row["artifact_type"],
                        step_id=row.get("step_id"),
                        artifact_id=row.get("artifact_id"),
                    )
                )
                continue
            self.problems.extend(refusal_problems(parent.archive, row.get("step_id"), row.get("artifact_id")))

    def refs(self) -> list[ArtifactRef]:
        """A ref for every row that is not an archive parent."""
        refs = []
        for row in self.rows:
            if row["artifact_type"] in ARCHIVE_TYPES and not row.get("bundle_key"):
                continue
            refs.append(self._ref(row))
        return refs

    def _ref(self, row: dict[str, Any]) -> ArtifactRef:
        artifact_id = row.get("artifact_id")
        bundle_key = row.get("bundle_key") or None
        rel = self.files.get(str(artifact_id)) if artifact_id else None
        name = _display_name(row, rel)
        return ArtifactRef(
            artifact_type=row["artifact_type"],
            name=name,
            read=guarded(partial(self._read, row, rel), name),
            size=partial(self._size, row, rel),
            artifact_id=artifact_id,
            step_id=row.get("step_id"),
            task_id=row.get("task_id"),
            bundle_key=bundle_key,
            index=index_from_name(bundle_key),
            created_at=parse_time(row.get("created_at")),
            archived=bool(row.get("archived")),
        )

    def _read(self, row: dict[str, Any], rel: str | None) -> bytes:
        """Own file first; a bundled member from its parent ZIP; else why it is unavailable."""
        label = f"{row['artifact_type']} {row.get('artifact_id')}"
        if row.get("archived"):
            raise ArtifactUnavailable(f"archived in cold storage, cannot be fetched: {label}", "archived")
        bundle_key = row.get("bundle_key")
        if rel is not None:
            data = self.tree.read(rel)
            if bundle_key and data[:4] == ZIP_MAGIC and not bundle_key.endswith(".zip"):
                # /content on non-S3 storage returns the whole archive for a member
                return _member(SafeZip.open(data, rel), bundle_key)
            return data
        if bundle_key and self.parents.get(str(row.get("uri"))) is not None:
            return self._read_member(row, bundle_key, label)
        outcome = self.fetched.get(str(row.get("artifact_id")))
        if outcome and outcome.get("status") in ("skipped", "missing", "damaged", "archived"):
            kind = outcome["status"]
            raise ArtifactUnavailable(f"{label}: {outcome.get('reason') or outcome['status']}", kind)
        if bundle_key:
            return self._read_member(row, bundle_key, label)
        raise ArtifactUnavailable(f"file not downloaded: {label}", "missing")

    def _size(self, row: dict[str, Any], rel: str | None) -> int | None:
        """A bundled member's size from its parent archive's header; None for the rest (read to know)."""
        bundle_key = row.get("bundle_key")
        parent = self.parents.get(str(row.get("uri")))
        if rel is not None or not bundle_key or parent is None or parent.archive is None:
            return None
        name = parent.archive.find(bundle_key)
        return member_size(parent.archive, name) if name is not None else None

    def _read_member(self, row: dict[str, Any], bundle_key: str, label: str) -> bytes:
        parent = self.parents.get(str(row.get("uri")))
        if parent is None:
            raise ArtifactUnavailable(f"file not downloaded: {label} (no archive row for it)", "missing")
        if parent.archive is None:
            error = parent.error or ArtifactUnavailable("archive not opened", "missing")
            raise ArtifactUnavailable(f"{label} ({bundle_key}): {error.reason}", error.kind)
        return _member(parent.archive, bundle_key)


def _fetch_outcomes(tree: Tree) -> dict[str, dict[str, Any]]:
    """What ``debugkit fetch`` recorded per artifact (why one is absent), if it wrote a manifest."""
    return artifact_outcomes(load_json(tree, FETCH_MANIFEST, []))


def _member(archive: SafeZip, bundle_key: str) -> bytes:
    """Read ``bundle_key`` from an archive, refused names included (they raise refused)."""
    if bundle_key in archive.refused:
        return archive.read(bundle_key)
    name = archive.find(bundle_key)
    if name is None:
        raise ArtifactUnavailable(f"{bundle_key} is not in {archive.label}", "missing")
    return archive.read(name)


def _display_name(row: dict[str, Any], rel: str | None) -> str:
    """The file name, else the bundle key, else the storage name from the uri, else the id."""
    if rel is not None:
        return rel.split("/", 1)[1]
    if row.get("bundle_key"):
        return str(row["bundle_key"])
    uri = row.get("uri")
    if isinstance(uri, str) and uri:
        return os.path.basename(uri.rstrip("/"))
    return str(row.get("artifact_id") or row["artifact_type"])

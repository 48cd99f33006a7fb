"""Step/task archive ZIPs: member names to artifact types, and the lone-archive reader.

A step archive holds ``scrape.html``, ``element_tree.json``, ``llm_response_parsed_{i}.json``,
``screenshot_llm_{n}.png``, ...; a task archive holds ``har.har``, ``browser_console.log`` and
``trace.zip``. Which reader a ZIP gets (a run folder inside it, or this one) is decided in
:func:`debugkit.sources.read_archive`; the run folder reader uses this module for the members of
its parent archives, never the other way round.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from debugkit.errors import SourceError
from debugkit.model import ArtifactRef, Problem, RawRun
from debugkit.sources.common import (
    STEP_DIR_RE,
    STEP_ID_RE,
    TASK_DIR_RE,
    TASK_ID_RE,
    file_name_time,
    guarded,
    index_from_name,
)
from debugkit.sources.zipsafe import SafeZip

FIXED_MEMBERS: dict[str, str] = {
    "scrape.html": "html_scrape",
    "id_css_map.json": "visible_elements_id_css_map",
    "id_frame_map.json": "visible_elements_id_frame_map",
    "element_tree.json": "visible_elements_tree",
    "element_tree_trimmed.json": "visible_elements_tree_trimmed",
    "element_tree_in_prompt.txt": "visible_elements_tree_in_prompt",
    "har.har": "har",
    "browser_console.log": "browser_console_log",
    "trace.zip": "trace",
}
TASK_ARCHIVE_TYPES = frozenset({"har", "browser_console_log", "trace"})
_INDEXED_MEMBER_RE = re.compile(
    r"^(?P<type>llm_prompt|llm_request|llm_response|llm_response_parsed|llm_response_rendered|hashed_href_map"
    r"|screenshot_llm|screenshot_action|html_action)_(?P<index>\d+)\.(?:txt|json|png|html)$"
)
SYNTHETIC_STEP_ID = "step-archive"


def member_type(name: str) -> tuple[str, int | None] | None:
    """``(artifact_type, index)`` for a step/task archive member name, or None if unknown."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if base in FIXED_MEMBERS:
        return FIXED_MEMBERS[base], None
    match = _INDEXED_MEMBER_RE.match(base)
    if match:
        return match.group("type"), int(match.group("index"))
    return None


def refusal_problems(archive: SafeZip, step_id: str | None = None, artifact_id: str | None = None) -> list[Problem]:
    """One ``refused`` Problem per refused member of ``archive``."""
    problems = []
    for name, reason in archive.refused.items():
        typed = member_type(name)
        problems.append(
            Problem(
                kind="refused",
                detail=f"refused ZIP member {name!r}: {reason} (in {archive.label})",
                artifact_type=typed[0] if typed else None,
                step_id=step_id,
                artifact_id=artifact_id,
            )
        )
    return problems


def member_refs(
    archive: SafeZip,
    step_id: str | None,
    task_id: str | None,
    created_at: datetime | None = None,
) -> tuple[list[ArtifactRef], list[Problem]]:
    """Refs for the recognised members of a step/task archive, and problems for the rest."""
    refs: list[ArtifactRef] = []
    problems = refusal_problems(archive, step_id)
    for name in archive.names():
        typed = member_type(name)
        if typed is None:
            problems.append(
                Problem(
                    kind="skipped",
                    detail=f"ignored ZIP member {name!r} of {archive.label}: not a step or task archive file",
                    step_id=step_id,
                )
            )
            continue
        artifact_type, index = typed
        refs.append(
            ArtifactRef(
                artifact_type=artifact_type,
                name=name,
                read=guarded(partial(archive.read, name), f"{name} in {archive.label}"),
                size=partial(member_size, archive, name),
                step_id=step_id,
                task_id=task_id,
                bundle_key=name.rsplit("/", 1)[-1],
                index=index if index is not None else index_from_name(name),
                created_at=created_at,
            )
        )
    return refs, problems


def member_size(archive: SafeZip, name: str) -> int | None:
    """A member's uncompressed size as its ZIP header gives it (checked again while it is read)."""
    info = archive.members.get(name)
    return info.file_size if info is not None else None


def run_folder_prefix(archive: SafeZip) -> str | None:
    """``""`` or ``"top/"`` when the ZIP holds a run folder there, else None."""
    names = {name for name in [*archive.members, *archive.refused] if not name.startswith("__MACOSX/")}

    def is_run(prefix: str) -> bool:
        return f"{prefix}run.json" in names or {f"{prefix}steps.json", f"{prefix}artifacts.json"} <= names

    if is_run(""):
        return ""
    tops = {name.split("/", 1)[0] for name in names if "/" in name}
    loose = [name for name in names if "/" not in name]
    if len(tops) == 1 and not loose:
        prefix = f"{tops.pop()}/"
        if is_run(prefix):
            return prefix
    return None


def step_context(path: Path) -> tuple[dict[str, Any], str | None]:
    """The step a lone step archive belongs to, from its folder or file name, and the task id."""
    parent = path.parent
    task_id = parent.parent.name if TASK_DIR_RE.match(parent.parent.name) else None
    if task_id is None:
        found = TASK_ID_RE.search(path.name)
        task_id = found.group(0) if found else None
    folder = STEP_DIR_RE.match(parent.name)
    if folder:
        step = {
            "step_id": folder.group("step_id"),
            "task_id": task_id,
            "order": int(folder.group("order")),
            "retry_index": int(folder.group("retry")),
        }
        return step, task_id
    found_step = STEP_ID_RE.search(path.name) or STEP_ID_RE.search(parent.name)
    step_id = found_step.group(0) if found_step else SYNTHETIC_STEP_ID
    return {"step_id": step_id, "task_id": task_id, "order": 0, "retry_index": 0}, task_id


def _is_task_archive(path: Path, archive: SafeZip) -> bool:
    if path.name.endswith("task_archive.zip"):
        return True
    if path.name.endswith("step_archive.zip"):
        return False
    types = [member_type(name) for name in archive.names()]
    known = [t[0] for t in types if t]
    return bool(known) and all(t in TASK_ARCHIVE_TYPES for t in known)


def read_step_or_task_archive(path: Path, archive: SafeZip) -> RawRun:
    """Read a lone step or task archive (an opened ZIP holding no run folder)."""
    raw = RawRun(source=str(path), kind="archive")
    if not any(member_type(name) for name in archive.names()) and not archive.refused:
        raise SourceError(
            f"no Skyvern run found in {path}: expected run.json, step archive files (scrape.html, "
            "element_tree.json, ...) or task archive files (har.har, browser_console.log)"
        )
    step, task_id = step_context(path)
    created_at = file_name_time(path.name)
    if _is_task_archive(path, archive):
        refs, problems = member_refs(archive, None, task_id, created_at)
    else:
        raw.steps = [step]
        refs, problems = member_refs(archive, step["step_id"], task_id, created_at)
    raw.artifacts = refs
    raw.problems.extend(problems)
    return raw

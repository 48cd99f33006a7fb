"""Helpers shared by the source readers: name patterns, guarded reads, JSON documents."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from debugkit.model import ArtifactUnavailable, Problem
from debugkit.sources.tree import Tree
from debugkit.sources.zipsafe import one_line
from debugkit.timeutil import parse_time

# {order:02d}_{retry_index}_{step_id}, e.g. 02_0_stp_602253577246922026
STEP_DIR_RE = re.compile(r"^(?P<order>\d+)_(?P<retry>\d+)_(?P<step_id>stp_[A-Za-z0-9_]+)$")
TASK_DIR_RE = re.compile(r"^tsk_[A-Za-z0-9_]+$")
STEP_ID_RE = re.compile(r"stp_[A-Za-z0-9]+")
TASK_ID_RE = re.compile(r"tsk_(?:v2_)?[A-Za-z0-9]+")
# {utc_iso_ts}_{artifact_id}_{artifact_type}.{ext}; the time holds colons, the type underscores
ARTIFACT_FILE_RE = re.compile(
    r"^(?P<ts>[^_/]+)_(?P<artifact_id>a_\d+)_(?P<type>[a-z][a-z0-9_]*?)\.(?P<ext>[A-Za-z0-9]+(?:\.zst)?)$"
)
# logs/{entity_type}/{entity_id}/{ts}_{type}.{ext}: no artifact id
LOG_FILE_RE = re.compile(r"^(?P<ts>[^_/]+)_(?P<type>skyvern_log(?:_raw)?)\.(?P<ext>[A-Za-z0-9]+)$")
LOOKS_LIKE_ARTIFACT_RE = re.compile(r"(?:^|_)a_\d{6,}(?:_|\.|$)")
_INDEX_RE = re.compile(r"_(\d+)\.[A-Za-z0-9]+$")
_ID_NUM_RE = re.compile(r"(\d+)")


def index_from_name(name: str | None) -> int | None:
    """The trailing call/screenshot index of a bundle key: ``screenshot_llm_2.png`` -> 2."""
    if not name:
        return None
    match = _INDEX_RE.search(name.rsplit("/", 1)[-1])
    return int(match.group(1)) if match else None


def file_name_time(name: str) -> datetime | None:
    """The time a storage file name starts with (``2026-11-28T22:51:23.170987_a_..``), if any."""
    match = ARTIFACT_FILE_RE.match(name) or LOG_FILE_RE.match(name)
    return parse_time(match.group("ts")) if match else None


def id_sort_key(value: str | None) -> tuple[int, str]:
    """Sort ids such as ``tsk_602253...`` by their number, then by text."""
    if not value:
        return (-1, "")
    match = _ID_NUM_RE.search(value)
    return (int(match.group(1)) if match else -1, value)


def step_sort_key(step: dict[str, Any]) -> tuple[Any, ...]:
    """Run order of step dicts: task, then order, then retry."""

    def _int(value: Any) -> int:
        return value if isinstance(value, int) else -1

    return (id_sort_key(step.get("task_id")), _int(step.get("order")), _int(step.get("retry_index")))


def guarded(fn: Callable[[], bytes], what: str) -> Callable[[], bytes]:
    """Wrap a reader so that every failure is an ArtifactUnavailable with a one-line reason."""

    def read() -> bytes:
        try:
            return fn()
        except ArtifactUnavailable:
            raise
        except FileNotFoundError as exc:
            raise ArtifactUnavailable(f"file not found: {what}", "missing") from exc
        except Exception as exc:
            raise ArtifactUnavailable(f"cannot read {what}: {one_line(exc)}", "damaged") from exc

    return read


class _Missing:
    """Marker for a document that is absent or unusable."""


MISSING = _Missing()


def load_json(tree: Tree, rel: str, problems: list[Problem], required: bool = False) -> Any:
    """Parse JSON file ``rel``; a missing (when required) or damaged one becomes a Problem.

    Returns :data:`MISSING` when the document cannot be used.
    """
    if not tree.exists(rel):
        if required:
            problems.append(Problem(kind="missing", detail=f"{tree.display(rel)} not found"))
        return MISSING
    try:
        data = tree.read(rel)
    except ArtifactUnavailable as exc:
        problems.append(Problem(kind=exc.kind, detail=f"{tree.display(rel)}: {exc.reason}"))
        return MISSING
    try:
        return json.loads(data)
    except ValueError as exc:
        detail = f"{tree.display(rel)} is not valid JSON: {one_line(exc)}"
        problems.append(Problem(kind="damaged", detail=detail))
        return MISSING


@dataclass
class Documents:
    """The API documents of a run folder, each None when absent or unusable."""

    run: dict[str, Any] | None = None
    tasks: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] | None = None
    actions: list[dict[str, Any]] | None = None


def _damaged(tree: Tree, rel: str, problems: list[Problem], expected: str) -> None:
    problems.append(Problem(kind="damaged", detail=f"{tree.display(rel)} is not {expected}"))


def _dict_rows(value: Any, tree: Tree, rel: str, problems: list[Problem]) -> list[dict[str, Any]] | None:
    """A list of objects, or a dict ``{task_id: [objects]}`` flattened with task_id filled in."""
    rows: list[Any]
    if isinstance(value, list):
        rows = value
    elif isinstance(value, dict) and all(isinstance(v, list) for v in value.values()):
        rows = []
        for task_id, items in value.items():
            rows.extend({"task_id": task_id, **item} if isinstance(item, dict) else item for item in items)
    else:
        _damaged(tree, rel, problems, "a list of objects")
        return None
    good = [row for row in rows if isinstance(row, dict)]
    if len(good) != len(rows):
        detail = f"{tree.display(rel)}: {len(rows) - len(good)} entries are not objects"
        problems.append(Problem(kind="damaged", detail=detail))
    return good


def read_documents(tree: Tree, problems: list[Problem], required: tuple[str, ...] = ()) -> Documents:
    """Read run.json, task.json, tasks.json, steps.json and actions.json from ``tree``'s root."""
    docs = Documents()
    run = load_json(tree, "run.json", problems, "run.json" in required)
    if isinstance(run, dict):
        docs.run = run
    elif run is not MISSING:
        _damaged(tree, "run.json", problems, "a JSON object")
    docs.tasks = _read_tasks(tree, problems)
    steps = load_json(tree, "steps.json", problems, "steps.json" in required)
    if steps is not MISSING:
        docs.steps = _dict_rows(steps, tree, "steps.json", problems)
    actions = load_json(tree, "actions.json", problems)
    if actions is not MISSING:
        docs.actions = _dict_rows(actions, tree, "actions.json", problems)
    return docs


def _read_tasks(tree: Tree, problems: list[Problem]) -> list[dict[str, Any]]:
    """task.json (one body) and tasks.json (a list of bodies), without duplicates."""
    tasks: list[dict[str, Any]] = []
    task = load_json(tree, "task.json", problems)
    if isinstance(task, dict):
        tasks.append(task)
    elif task is not MISSING:
        _damaged(tree, "task.json", problems, "a JSON object")
    many = load_json(tree, "tasks.json", problems)
    if many is not MISSING:
        rows = _dict_rows(many, tree, "tasks.json", problems) or []
        seen = {t.get("task_id") for t in tasks if t.get("task_id")}
        tasks.extend(t for t in rows if not t.get("task_id") or t.get("task_id") not in seen)
    return tasks

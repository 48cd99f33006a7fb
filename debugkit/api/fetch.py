"""``debugkit fetch``: download a run through the Skyvern API into a run folder.

The folder is the layout of docs/run-folder.md. Every file is written under a temporary name
and renamed when complete, so an interrupted fetch leaves nothing half-written and the next
fetch downloads only what is missing. ``debugkit-fetch.json`` records what was fetched and why
anything is missing; it never holds the API key.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from debugkit.api.client import ApiError, ExpiredUrl, NotFound, SkyvernClient, TransferError
from debugkit.api.content import extract_member, sniff, unzstd
from debugkit.constants import ARCHIVE_TYPES, FINAL_STATUSES, RUN_LEVEL_TYPES
from debugkit.fsutil import write_atomic
from debugkit.runfolder_layout import FetchManifest, artifact_file_name, find_artifact_file, read_manifest
from debugkit.runfolder_layout import write_manifest as write_fetch_manifest
from debugkit.steps import pick_step
from debugkit.timeutil import parse_time

DEFAULT_TYPES = frozenset(
    {
        "screenshot_llm",
        "screenshot_action",
        "screenshot_final",
        "llm_response_parsed",
        "llm_response",
        "llm_prompt",
        "visible_elements_tree",
        "visible_elements_id_css_map",
        "visible_elements_id_frame_map",
        "html_scrape",
        "html_action",
        "har",
        "browser_console_log",
        "step_archive",
        "task_archive",
    }
)
# HAR and console rows land a few seconds (up to ~40 s) after the run ends: Skyvern writes them when
# the browser context closes.
LATE_NETWORK_WINDOW_S = 60.0
LATE_TYPES = ("har", "browser_console_log")
DEFAULT_WAIT_S = 30.0  # how long a fetch right after the end waits for them, at most
POLL_S = 1.0
FRESH_URL_ATTEMPTS = 2
_WR_IN_URL = re.compile(r"/runs/(wr_[A-Za-z0-9_]+)")


@dataclass
class FetchOptions:
    out_dir: Path
    step: str | None = None
    types: frozenset[str] | None = DEFAULT_TYPES  # None: every type
    refresh: bool = False
    wait_seconds: float = DEFAULT_WAIT_S  # 0: do not wait for late HAR / console rows (--no-wait)


@dataclass
class Outcome:
    artifact_id: str
    artifact_type: str
    status: str  # ok | cached | member | archived | missing | damaged | skipped
    reason: str | None = None
    file: str | None = None
    bytes: int = 0


@dataclass
class FetchReport:
    run_id: str
    out_dir: Path
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    requests_skipped: bool = False  # the local copy was complete: nothing was asked of the API

    def count(self, *statuses: str) -> int:
        return sum(1 for o in self.outcomes if o.status in statuses)

    @property
    def downloaded_bytes(self) -> int:
        return sum(o.bytes for o in self.outcomes if o.status == "ok")


ProgressHook = Callable[[Outcome], None]
WaitHook = Callable[[float, list[str]], None]  # (seconds left, artifact types still missing)


def fetch_run(
    client: SkyvernClient,
    run_id: str,
    options: FetchOptions,
    *,
    on_total: Callable[[int], None] | None = None,
    on_done: ProgressHook | None = None,
    on_wait: WaitHook | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchReport:
    """Fetch a run's documents and the chosen artifacts' bytes into ``options.out_dir``.

    The folder is created only once the run is known: a refused key, an unknown run or a dead server
    leaves no folder behind (an empty one would later pass for a local run folder)."""
    out = options.out_dir
    created = not out.exists()
    try:
        return _fetch_into(client, run_id, options, on_total, on_done, on_wait, clock, sleep)
    except BaseException:
        if created:
            _remove_if_empty(out)
        raise


def _remove_if_empty(out: Path) -> None:
    for folder in (out / "files", out):
        with contextlib.suppress(OSError):
            for stale in folder.glob(".*.part"):
                stale.unlink(missing_ok=True)
            folder.rmdir()  # only when empty: downloads already made stay for the next fetch to resume


def _fetch_into(
    client: SkyvernClient,
    run_id: str,
    options: FetchOptions,
    on_total: Callable[[int], None] | None,
    on_done: ProgressHook | None,
    on_wait: WaitHook | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> FetchReport:
    out = options.out_dir
    report = FetchReport(run_id=run_id, out_dir=out)
    run = client.get_json(f"/v1/runs/{run_id}", what=f"run {run_id}")
    if not isinstance(run, dict):
        raise ApiError(f"run {run_id}: the server's answer is not a run")
    (out / "files").mkdir(parents=True, exist_ok=True)
    for stale in (out / "files").glob(".*.part"):  # left by an interrupted fetch
        stale.unlink(missing_ok=True)
    previous = read_manifest(out)
    artifacts_run_id = _artifacts_run_id(run_id, run, report)

    with ThreadPoolExecutor(max_workers=client.config.concurrency) as pool:
        artifacts_future = pool.submit(
            client.get_json, f"/v1/runs/{artifacts_run_id}/artifacts", what=f"artifacts of {artifacts_run_id}"
        )
        task_ids = _task_ids(client, run_id, artifacts_run_id, run)
        task_docs = list(pool.map(lambda tid: _task_documents(client, tid), task_ids))
        rows = _usable_rows(artifacts_future.result(), artifacts_run_id)
        rows = _wait_for_late_rows(client, run, rows, artifacts_run_id, options, report, on_wait, clock, sleep)

        steps = [s for doc in task_docs for s in doc["steps"]]
        actions = [a for doc in task_docs for a in doc["actions"]]
        tasks = [doc["task"] for doc in task_docs if doc["task"] is not None]
        write_atomic(out / "run.json", orjson.dumps(run))
        write_atomic(out / "steps.json", orjson.dumps(steps))
        write_atomic(out / "actions.json", orjson.dumps(actions))
        write_atomic(out / "artifacts.json", orjson.dumps(rows))
        if len(tasks) == 1 and not artifacts_run_id.startswith("wr_"):
            write_atomic(out / "task.json", orjson.dumps(tasks[0]))
        elif tasks:
            write_atomic(out / "tasks.json", orjson.dumps(tasks))

        wanted_steps = _select_steps(steps, options.step) if options.step else None
        plan = _plan(rows, options.types, wanted_steps)
        late = _network_may_be_late(run, report, rows)
        refetch = set() if options.refresh else _stale_network(previous, rows)
        if on_total:
            on_total(sum(1 for _, action in plan if action == "download"))
        lock = threading.Lock()

        def record(outcome: Outcome) -> None:
            with lock:
                report.outcomes.append(outcome)
            if on_done and outcome.status not in ("member", "skipped"):
                on_done(outcome)

        for row, action in plan:
            if action != "download":
                kind = str(row.get("artifact_type"))
                record(Outcome(row["artifact_id"], kind, action, _plan_reason(action, options)))
        downloads = [row for row, action in plan if action == "download"]
        for outcome in pool.map(
            lambda row: _fetch_one(client, row, out, options.refresh or row["artifact_id"] in refetch), downloads
        ):
            record(outcome)

    write_manifest(out, report, run, artifacts_run_id, options, late)
    return report


# --- the run's shape --------------------------------------------------------------------------


def _artifacts_run_id(run_id: str, run: dict[str, Any], report: FetchReport) -> str:
    """Task v2 runs keep their artifacts under their backing workflow run (``wr_…``)."""
    if run.get("run_type") != "task_v2" and not run_id.startswith("tsk_v2_"):
        return run_id
    match = _WR_IN_URL.search(str(run.get("app_url") or ""))
    if match:
        report.notes.append(f"task v2 run: artifacts are read from its workflow run {match.group(1)}")
        return match.group(1)
    report.notes.append("task v2 run without a workflow run id in app_url: its artifact list may be empty")
    return run_id


def _task_ids(client: SkyvernClient, run_id: str, artifacts_run_id: str, run: dict[str, Any]) -> list[str]:
    if not artifacts_run_id.startswith("wr_"):
        return [run_id]
    status, body = client.get_status(f"/v1/runs/{artifacts_run_id}/timeline", what=f"timeline of {artifacts_run_id}")
    if status == 200 and isinstance(body, list):
        found = _timeline_task_ids(body)
        if found:
            return found
    return _paged_task_ids(client, artifacts_run_id)


def _timeline_task_ids(items: list[Any]) -> list[str]:
    """Task ids of every task block, oldest first (the timeline lists newest first, nested)."""
    found: list[tuple[str, str]] = []
    stack = list(items)
    while stack:
        item = stack.pop()
        if not isinstance(item, dict):
            continue
        block = item.get("block")
        if isinstance(block, dict) and isinstance(block.get("task_id"), str):
            found.append((str(block.get("created_at") or item.get("created_at") or ""), block["task_id"]))
        children = item.get("children")
        if isinstance(children, list):
            stack.extend(children)
    seen: dict[str, None] = {}
    for _, task_id in sorted(found):
        seen.setdefault(task_id, None)
    return list(seen)


def _paged_task_ids(client: SkyvernClient, workflow_run_id: str, page_size: int = 100) -> list[str]:
    tasks: list[dict[str, Any]] = []
    for page in range(1, 1000):
        batch = client.get_json(
            "/api/v1/tasks",
            {"workflow_run_id": workflow_run_id, "page": page, "page_size": page_size},
            what=f"tasks of {workflow_run_id}",
        )
        if not isinstance(batch, list):
            break
        tasks.extend(t for t in batch if isinstance(t, dict))
        if len(batch) < page_size:
            break
    tasks.sort(key=lambda t: str(t.get("created_at") or ""))
    return [t["task_id"] for t in tasks if isinstance(t.get("task_id"), str)]


def _task_documents(client: SkyvernClient, task_id: str) -> dict[str, Any]:
    try:
        task = client.get_json(f"/api/v1/tasks/{task_id}", what=f"task {task_id}")
    except NotFound:
        task = None
    steps = client.get_json(f"/api/v1/tasks/{task_id}/steps", what=f"steps of {task_id}")
    actions = client.get_json(f"/api/v1/tasks/{task_id}/actions", what=f"actions of {task_id}")
    return {
        "task": task if isinstance(task, dict) else None,
        "steps": [s for s in steps if isinstance(s, dict)] if isinstance(steps, list) else [],
        "actions": [a for a in actions if isinstance(a, dict)] if isinstance(actions, list) else [],
    }


def _select_steps(steps: list[dict[str, Any]], selector: str) -> set[str]:
    """Step ids for ``--step``: an id, an order (its latest retry) or order.retry."""
    keys = [
        (str(s.get("step_id")), s.get("order") if isinstance(s.get("order"), int) else -1,
         s.get("retry_index") if isinstance(s.get("retry_index"), int) else 0)
        for s in steps
    ]
    return {pick_step(keys, selector)}


# --- what to download -------------------------------------------------------------------------


def _plan(
    rows: list[dict[str, Any]], types: frozenset[str] | None, steps: set[str] | None
) -> list[tuple[dict[str, Any], str]]:
    """Each row with what to do: download, member (read from its archive), archived, skipped."""

    def chosen(row: dict[str, Any]) -> bool:
        kind = row.get("artifact_type")
        if types is not None and kind not in types:
            return False
        return steps is None or row.get("step_id") in steps or kind in RUN_LEVEL_TYPES

    parents = {row.get("uri"): row for row in rows if row.get("artifact_type") in ARCHIVE_TYPES}
    wanted_parents: set[str] = set()
    for row in rows:
        parent = parents.get(row.get("uri")) if row.get("bundle_key") else None
        if parent is not None and chosen(row) and (steps is None or parent.get("step_id") in steps
                                                   or parent.get("artifact_type") == "task_archive"):
            wanted_parents.add(parent["artifact_id"])
    plan: list[tuple[dict[str, Any], str]] = []
    for row in rows:
        kind = row.get("artifact_type")
        if row.get("archived") is True:
            plan.append((row, "archived"))
        elif kind in ARCHIVE_TYPES:
            plan.append((row, "download" if row["artifact_id"] in wanted_parents else "skipped"))
        elif not chosen(row):
            plan.append((row, "skipped"))
        elif row.get("bundle_key") and parents.get(row.get("uri"), {}).get("artifact_id") in wanted_parents:
            plan.append((row, "member"))
        else:
            plan.append((row, "download"))
    return plan


def _plan_reason(action: str, options: FetchOptions) -> str | None:
    if action == "archived":
        return "in cold storage (archived): the content cannot be fetched"
    if action == "member":
        return "read from its archive ZIP"
    if action == "skipped":
        return f"not fetched (--step {options.step})" if options.step else "not fetched (type not selected)"
    return None


def _usable_rows(rows: Any, artifacts_run_id: str) -> list[dict[str, Any]]:
    if not isinstance(rows, list):
        raise ApiError(f"artifacts of {artifacts_run_id}: the server's answer is not a list")
    return [r for r in rows if isinstance(r, dict) and isinstance(r.get("artifact_id"), str)]


def _late_missing(rows: list[dict[str, Any]]) -> list[str]:
    """The late-written types (HAR, console log) the artifact list does not hold yet."""
    present = {str(r.get("artifact_type")) for r in rows}
    return [t for t in LATE_TYPES if t not in present]


def _seconds_since_end(run: dict[str, Any]) -> float | None:
    finished = parse_time(run.get("finished_at"))
    if finished is None or run.get("status") not in FINAL_STATUSES:
        return None
    return (datetime.now(UTC) - finished).total_seconds()


def _wait_for_late_rows(
    client: SkyvernClient,
    run: dict[str, Any],
    rows: list[dict[str, Any]],
    artifacts_run_id: str,
    options: FetchOptions,
    report: FetchReport,
    on_wait: WaitHook | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> list[dict[str, Any]]:
    """Right after a run ends, wait (bounded) for the HAR and console rows Skyvern adds last.

    Skyvern writes both when the browser context closes, seconds after the run's final status;
    a triage made before then would judge without the network. The wait ends when both rows are
    listed, ``options.wait_seconds`` have passed, or the run ended ``LATE_NETWORK_WINDOW_S`` ago.
    """
    missing = _late_missing(rows)
    age = _seconds_since_end(run)
    if not missing or age is None or options.wait_seconds <= 0 or age >= LATE_NETWORK_WINDOW_S:
        return rows
    budget = min(options.wait_seconds, LATE_NETWORK_WINDOW_S - max(age, 0.0))
    start = clock()
    while missing:
        left = budget - (clock() - start)
        if left <= 0:
            break
        if on_wait is not None:
            on_wait(left, missing)
        sleep(min(POLL_S, left))
        rows = _usable_rows(
            client.get_json(f"/v1/runs/{artifacts_run_id}/artifacts", what=f"artifacts of {artifacts_run_id}"),
            artifacts_run_id,
        )
        missing = _late_missing(rows)
    waited = clock() - start
    if missing:
        report.notes.append(
            f"waited {waited:.0f} s for the {' and '.join(missing)} (Skyvern writes them when the browser closes); "
            "they are not listed yet: the next triage or fetch of this run picks them up"
        )
    else:
        report.notes.append(f"waited {waited:.0f} s for the HAR and console log written after the run ended")
    if on_wait is not None:
        on_wait(0.0, missing)
    return rows


def _network_may_be_late(run: dict[str, Any], report: FetchReport, rows: list[dict[str, Any]]) -> bool:
    """Could the network artifacts still change? Then the local copy is not final."""
    finished = parse_time(run.get("finished_at"))
    if finished is None:
        if run.get("status") not in FINAL_STATUSES:
            report.notes.append(
                f"the run is {run.get('status') or 'not finished'}: its last step's artifacts are not written yet"
            )
            return True
        return False
    age = (datetime.now(UTC) - finished).total_seconds()
    if age < LATE_NETWORK_WINDOW_S and _late_missing(rows):
        if not any("waited" in note for note in report.notes):
            report.notes.append(
                f"the run finished {max(age, 0):.0f} s ago: its HAR and console log are not listed yet; "
                "the next triage or fetch of this run picks them up"
            )
        return True
    return False


def _stale_network(previous: dict[str, Any] | None, rows: list[dict[str, Any]]) -> set[str]:
    """Network artifacts fetched too soon after the run ended are fetched again."""
    if not previous or not previous.get("network_may_be_incomplete"):
        return set()
    return {r["artifact_id"] for r in rows if r.get("artifact_type") in ("har", "browser_console_log", "task_archive")}


# --- one artifact -----------------------------------------------------------------------------


def _fetch_one(client: SkyvernClient, row: dict[str, Any], out: Path, refresh: bool) -> Outcome:
    artifact_id = row["artifact_id"]
    kind = str(row.get("artifact_type"))
    existing = find_artifact_file(out, artifact_id)
    if existing is not None and not refresh:
        return Outcome(artifact_id, kind, "cached", None, f"files/{existing.name}", existing.stat().st_size)
    try:
        data = _download(client, row)
    except NotFound as exc:
        return Outcome(artifact_id, kind, "missing", f"not found on the server ({_tail(exc)})")
    except TransferError as exc:
        return Outcome(artifact_id, kind, "damaged", f"download failed: {exc}")
    except ExpiredUrl as exc:
        return Outcome(artifact_id, kind, "damaged", f"signed URL refused after fresh ones were minted ({exc})")
    try:
        data = _normalise(row, data)
    except ValueError as exc:
        return Outcome(artifact_id, kind, "damaged", str(exc))
    name = artifact_file_name(row)
    if existing is not None and existing.name != name:
        existing.unlink(missing_ok=True)
    write_atomic(out / "files" / name, data)
    return Outcome(artifact_id, kind, "ok", None, f"files/{name}", len(data))


def _download(client: SkyvernClient, row: dict[str, Any]) -> bytes:
    """Signed http(s) URL first (fresh ones when refused), else the content route with the key."""
    artifact_id = row["artifact_id"]
    content_path = f"/v1/artifacts/{artifact_id}/content"
    url = row.get("signed_url")
    what = f"artifact {artifact_id}"
    for _ in range(FRESH_URL_ATTEMPTS + 1):
        if not (isinstance(url, str) and url.startswith(("http://", "https://"))):
            break  # file:// (local storage) or none: only the content route has the bytes
        try:
            return client.get_bytes(url, what=what)
        except ExpiredUrl:
            url = _fresh_url(client, artifact_id)
    return client.get_bytes(content_path, what=what)


def _fresh_url(client: SkyvernClient, artifact_id: str) -> str | None:
    try:
        doc = client.get_json(f"/v1/artifacts/{artifact_id}", what=f"artifact {artifact_id}")
    except (NotFound, TransferError):
        return None
    return doc.get("signed_url") if isinstance(doc, dict) else None


def _normalise(row: dict[str, Any], data: bytes) -> bytes:
    """Decompress zstd, and take a bundled member out of a whole ZIP when that is what came back."""
    kind = sniff(data)
    if kind == "zstd":
        data = unzstd(data, f"artifact {row['artifact_id']}")
        kind = sniff(data)
    member = row.get("bundle_key")
    if member and kind == "zip" and row.get("artifact_type") not in ARCHIVE_TYPES | {"trace"}:
        data = extract_member(data, str(member), f"artifact {row['artifact_id']}")
    return data


def _tail(exc: Exception) -> str:
    text = str(exc)
    return text.split(": ", 1)[-1] if ": " in text else text


# --- the manifest -----------------------------------------------------------------------------


def write_manifest(
    out: Path, report: FetchReport, run: dict[str, Any], artifacts_run_id: str, options: FetchOptions, late: bool
) -> None:
    failed = [o for o in report.outcomes if o.status in ("missing", "damaged")]
    manifest = FetchManifest(
        run_id=report.run_id,
        artifacts_run_id=artifacts_run_id,
        run_status=run.get("status"),
        step=options.step,
        types=sorted(options.types) if options.types is not None else None,
        complete=not failed and not late and options.step is None,
        network_may_be_incomplete=late,
        notes=report.notes,
        artifacts={
            o.artifact_id: {
                "artifact_type": o.artifact_type,
                "status": o.status,
                "reason": o.reason,
                "file": o.file,
                "bytes": o.bytes,
            }
            for o in report.outcomes
        },
    )
    write_fetch_manifest(out, manifest)

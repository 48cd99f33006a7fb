"""A real, local HTTP server that speaks Skyvern's API and its failure modes, for end-to-end tests.

``SkyvernTestServer`` listens on 127.0.0.1 (a free port; it refuses any other host) and serves
run folders (docs/run-folder.md; fixtures/runs/*, fixtures/real/*) through the routes a triage
client uses (spec ../shared/skyvern-artifacts.md §1, checked against the real runs):

    GET /v1/runs?page=&page_size=&status=&run_type=&search_key=
                                          top-level runs newest first (created_at), offset pages; page and
                                          page_size 1..100, status/run_type repeat (422 for an unknown value
                                          or a comma list); items {task_run_id, run_id, task_run_type, status,
                                          title, started_at, finished_at, created_at, workflow_permanent_id,
                                          workflow_deleted, script_run, trigger_type}
    GET /v1/runs/{run_id}                 run.json (404 {"detail": "Run not found <id>"})
    GET /v1/runs/{run_id}/artifacts       rows ascending created_at; ?artifact_type=X&artifact_type=Y;
                                          tsk_v2_ ids answer [], wr_ ids the union of their tasks' rows
    GET /v1/runs/{run_id}/timeline        400 for task_v1; block items (newest first) for wr_ / tsk_v2_
    GET /v1/artifacts/{id}                one row with a fresh signed_url
    GET /v1/artifacts/{id}/content        bytes, with x-api-key or a valid ?expiry=&kid=&sig=; one Range
    GET /v1/artifacts/{id}/signed-url     {"artifact_id", "signed_url", "expires_at"}
    GET /api/v1/tasks?workflow_run_id=&page=&page_size=&task_status=&sort=&order=
    GET /api/v1/tasks/{id}, /steps (unknown task: 200 []), /actions, /steps/{step_id}/artifacts
    GET /api/v1/{step|task|workflow_run|workflow_run_block|thought}/{id}/artifacts   (newest first)
    GET /s3/{key}?X-Amz-...               the fake S3 of "unbundled_s3" runs: no API key needed
                                          (whether one was sent is in the log)

Every route answers with a trailing "/" too. Every route but the fake S3 and signed /content needs
``x-api-key: <server.api_key>``, else 403 {"detail": "Invalid credentials"}. Unknown routes 404
{"detail": "Not Found"}, other methods 405, bad query values 422 (FastAPI's list shape), a crash
500 {"error": "Unexpected error: <ExceptionClass>"}.

Storage modes, one per served run (``mode=``):

- ``"local"``: signed_url = the row's ``file://`` uri (as the real runs); bytes only through
  /content. A bundled folder served locally gets Skyvern's legacy unsigned
  ``/content?artifact_name=&artifact_type=`` member URLs, and /content of a member returns the
  whole ZIP (the local backend does not extract members: the client must).
- ``"unbundled_s3"``: uri = ``s3://skyvern-artifacts/v1/local/...``; signed_url = a presigned URL
  ``{s3_base_url}/s3/{key}?X-Amz-Date=..&X-Amz-Expires=..&X-Amz-Signature=<hmac>`` (24 h, 1 h for
  screenshots/recordings). The HAR is stored as ``.har.zst`` (zstd) and served compressed there;
  /content decompresses it. S3 errors are S3's XML (403 AccessDenied "Request has expired",
  SignatureDoesNotMatch, 404 NoSuchKey, 403 InvalidObjectState for archived objects).
- ``"bundled"`` (keyring): signed_url = ``{base_url}/v1/artifacts/{id}/content?expiry=<unix>&kid=k1
  &sig=<43-char urlsafe b64 HMAC-SHA256 of method, path, expiry, kid>`` (12 h, 1 h for
  screenshots); step_archive/task_archive parent rows plus member rows with bundle_key; /content
  of a member returns the member's bytes (S3 behaviour). A folder already bundled
  (fixtures/runs/bundled_step_archive) is served as it is; any other folder is bundled on the
  fly (one ZIP per step, a task ZIP of har/console/trace, spec §1.8 member names).
- ``"auto"`` (default): "bundled" when the folder has bundle_key rows, else "local".

/content labels bytes as Skyvern does (html text/html, png image/png, most else application/json:
sniff). Archived rows (``server.archive(id)``) answer 404 there. Rows whose file is absent (the
real runs' removed recordings) answer 404 {"detail": "Artifact content not found <id>"}.

Faults (``server.faults``, a ``Faults`` dataclass; mutable while running, all off by default):
each ``*_first_n`` counter fires on the next n matching requests, counting down to 0 (thread-safe),
so retries then succeed; ``fault_path_prefix`` scopes every switch to paths starting with it,
``fault_path_pattern`` to paths a regex fullmatches (both when both are set); ``spare_first_n``
lets the next n matching requests through untouched first (a 429 on the 2nd page of a listing:
pattern ``r"/v1/runs/?"``, spare 1, rate limit 1);
``faults.fired`` counts what fired. A request takes at most one of drop / rate limit / 5xx.
``expire_signed_urls_first_n`` counts responses (an artifact list, a get, a /signed-url) that mint
signed URLs, not single URLs; local-mode answers mint none and do not consume it.
``never_answer`` makes matching requests hang (read, never answered, until the server stops);
``auth_detail`` is the 403 detail for a missing or wrong key ("Could not validate credentials" is what
the real server says to a wrong one).

Other knobs: ``SkyvernTestServer(separate_s3_origin=True)`` puts the fake S3 on a second port
(another origin, like real S3: a client that sends its key to its own origin only then sends none
there); ``server.clock`` replaces ``time.time`` for expiry checks (expire URLs without sleeping);
``server.log`` / ``records(prefix)`` / ``count(prefix)`` list requests in arrival order;
``server.names`` maps "real/<folder>", "runs/<folder>", "wr", "task_v2" to run ids;
``server.add_run_copies(folders, 200)`` serves many runs cheaply (fixture runs under fresh ids and times);
``webhook_body(run_id)`` / ``webhook_headers(body)`` make the signed delivery Skyvern posts when a run ends.
Inside pytest import it as ``skyvern_server`` (pytest puts tests/ on sys.path); elsewhere as
``tests.skyvern_server`` with the repo root on sys.path.

Use from a test (tests/conftest.py has the fixtures ``skyvern_server`` and ``make_skyvern_server``)::

    def test_fetch(skyvern_server):
        server = skyvern_server
        run_id = server.names["runs/site_500_submit"]
        server.faults.rate_limit_first_n = 2
        server.faults.retry_after_seconds = 0
        ...  # run `debugkit fetch run_id` with SKYVERN_BASE_URL=server.base_url, SKYVERN_API_KEY=server.api_key
        assert server.count("/s3/") > 0 and not any(r.has_api_key for r in server.records("/s3/"))

Use from ``bench/fetch.py`` (no pytest needed; the repo root must be on sys.path)::

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.skyvern_server import SkyvernTestServer, default_server
    with default_server() as server:              # or SkyvernTestServer() + add_run_folder(...)
        server.faults.latency_seconds = 0.02      # simulated round trip
        ...                                       # time the client against server.base_url
        print(server.count("/v1/artifacts/"), sum(r.bytes_sent for r in server.records()))
"""

from __future__ import annotations

import base64
import contextlib
import copy
import functools
import hashlib
import hmac
import io
import json
import re
import secrets
import socket
import threading
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import zstandard

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "fixtures"

MODES = ("local", "unbundled_s3", "bundled")
KID = "k1"
S3_BUCKET = "skyvern-artifacts"
S3_ENV = "local"
DEFAULT_WR_ID = "wr_590000000000000001"
DEFAULT_TASK_V2_ID = "tsk_v2_590000000000000003"

ARTIFACT_TYPES = frozenset(
    {
        "screenshot_llm",
        "screenshot_action",
        "screenshot_final",
        "screenshot",
        "screenshot_proxy",
        "llm_prompt",
        "llm_request",
        "llm_response",
        "llm_response_parsed",
        "llm_response_rendered",
        "hashed_href_map",
        "visible_elements_tree",
        "visible_elements_tree_trimmed",
        "visible_elements_tree_in_prompt",
        "visible_elements_id_css_map",
        "visible_elements_id_frame_map",
        "visible_elements_id_xpath_map",
        "html_scrape",
        "html_action",
        "html",
        "har",
        "browser_console_log",
        "trace",
        "recording",
        "skyvern_log",
        "skyvern_log_raw",
        "step_archive",
        "task_archive",
        "download",
        "pdf",
        "script_file",
        "audio",
        "session_replay",
        "browser_session_action_log",
        "eval_score",
        "eval_trajectory",
        "eval_rubrics",
    }
)
RUN_STATUSES = ("created", "queued", "running", "failed", "terminated", "canceled", "timed_out", "completed", "paused")
RUN_TYPES = (
    "task_v1", "task_v2", "task_v3", "workflow_run", "openai_cua", "anthropic_cua", "ui_tars", "yutori_navigator",
)
MAX_RUNS_PAGE = 100  # GET /v1/runs: page 1..100, page_size 1..100 (422 outside)
MAX_RUNS_PAGE_SIZE = 100
SEARCHED_FIELDS = ("run_id", "workflow_permanent_id", "title")  # search_key: a case-insensitive substring of any
ARCHIVE_TYPES = frozenset({"step_archive", "task_archive"})
SENSITIVE_TYPES = frozenset({"recording", "session_replay"})
TEXT_PLAIN_TYPES = frozenset({"llm_prompt", "visible_elements_tree_in_prompt", "browser_console_log", "skyvern_log"})

# spec §1.8: the file names inside a step ZIP (bundle_key values)
_STEP_FIXED_NAMES = {
    "html_scrape": "scrape.html",
    "visible_elements_id_css_map": "id_css_map.json",
    "visible_elements_id_frame_map": "id_frame_map.json",
    "visible_elements_tree": "element_tree.json",
    "visible_elements_tree_trimmed": "element_tree_trimmed.json",
    "visible_elements_tree_in_prompt": "element_tree_in_prompt.txt",
}
_STEP_LLM_EXT = {
    "llm_prompt": "txt",
    "llm_request": "json",
    "llm_response": "json",
    "llm_response_parsed": "json",
    "llm_response_rendered": "json",
    "hashed_href_map": "json",
}
_STEP_COUNTED_EXT = {"screenshot_llm": "png", "screenshot_action": "png", "html_action": "html"}
_TASK_ARCHIVE_NAMES = {"har": "har.har", "browser_console_log": "browser_console.log", "trace": "trace.zip"}
_STORED_EXTS = (".png", ".zip", ".webm", ".mp4")
_S3_CONTENT_TYPES = {
    "png": "image/png",
    "html": "text/html",
    "json": "application/json",
    "har": "application/json",
    "txt": "text/plain",
    "log": "text/plain",
    "zip": "application/zip",
    "mp4": "video/mp4",
    "webm": "video/webm",
    "pdf": "application/pdf",
}
_STEP_DIR = re.compile(r"/(\d+)_(\d+)_(stp_[^/]+)/")
_ARTIFACT_ID_IN_URL = re.compile(r"a_\d+")


# --- public records ------------------------------------------------------------------------------


@dataclass
class RequestRecord:
    """One request the server saw. The API key's value is never kept, only whether one came."""

    method: str
    path: str  # URL path, percent-decoded, as sent (trailing slash kept)
    query: dict[str, list[str]]  # parse_qs of the query string
    has_api_key: bool  # an x-api-key header was present (any value)
    status: int = 0  # 0: still in flight, or the connection was dropped without an answer
    bytes_sent: int = 0  # body bytes written (a truncated body counts what was written)
    fault: str | None = None  # the fault that fired on this request, if any
    listener: str = "api"  # "api", or "s3" for the separate fake-S3 origin


_LATE_TYPES = frozenset({"har", "browser_console_log", "task_archive"})
_FAULT_COUNTERS = ("drop_connection", "rate_limit", "server_error", "expire_signed_urls", "truncate_body")


@dataclass
class Faults:
    """Switches for failure modes. Counters fire on the next n matching requests, then stop."""

    rate_limit_first_n: int = 0  # 429 {"detail": "Too Many Requests"} with Retry-After
    retry_after_seconds: float = 1  # the Retry-After value ("0", "1", "0.5"...)
    server_error_first_n: int = 0  # server_error_status with the spec's body
    server_error_status: int = 503  # 500 -> {"error": "Unexpected error: ..."}; others {"detail": ...}
    drop_connection_first_n: int = 0  # close the socket without any response
    expire_signed_urls_first_n: int = 0  # the next n responses that mint signed URLs mint them expired
    truncate_body_first_n: int = 0  # 2xx: declare the full Content-Length, send half the body, close
    latency_seconds: float = 0.0  # slept before every matching request
    always_5xx: bool = False  # every matching request gets server_error_status (a dead server)
    # > 0: every run "ended" the moment GET /v1/runs/{id} first served it (finished_at says so), and
    # its har / browser_console_log / task_archive rows are listed only this many seconds later, as
    # Skyvern adds them when the browser context closes
    late_network_seconds: float = 0.0
    never_answer: bool = False  # read the request, then answer nothing until the server stops (a hung server)
    auth_detail: str = "Invalid credentials"  # the 403 detail for a missing or wrong key (real Skyvern 1.0.56
    #                                           answers "Could not validate credentials" to a wrong key)
    fault_path_prefix: str | None = None  # scope every switch to paths starting with this
    fault_path_pattern: str | None = None  # ... and/or to paths this regex fullmatches (r"/v1/runs/?": the listing)
    spare_first_n: int = 0  # the next n matching requests pass untouched (no drop, 429, 5xx or truncation)
    fired: dict[str, int] = field(default_factory=dict)  # name -> times fired
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def applies(self, path: str) -> bool:
        if self.fault_path_prefix is not None and not path.startswith(self.fault_path_prefix):
            return False
        return self.fault_path_pattern is None or re.fullmatch(self.fault_path_pattern, path) is not None

    def spare(self, path: str) -> bool:
        """Consume one ``spare_first_n`` if the path matches: this request gets no fault (thread-safe)."""
        with self._lock:
            if self.spare_first_n <= 0 or not self.applies(path):
                return False
            self.spare_first_n -= 1
            return True

    def take(self, name: str, path: str) -> bool:
        """Consume one ``<name>_first_n`` if it is set and the path matches (thread-safe)."""
        attr = f"{name}_first_n"
        with self._lock:
            if not self.applies(path) or getattr(self, attr) <= 0:
                return False
            setattr(self, attr, getattr(self, attr) - 1)
            self.fired[name] = self.fired.get(name, 0) + 1
            return True

    def note(self, name: str) -> None:
        with self._lock:
            self.fired[name] = self.fired.get(name, 0) + 1

    def reset(self) -> None:
        """All switches off, ``fired`` emptied."""
        with self._lock:
            for name in _FAULT_COUNTERS:
                setattr(self, f"{name}_first_n", 0)
            self.latency_seconds = 0.0
            self.late_network_seconds = 0.0
            self.always_5xx = False
            self.never_answer = False
            self.auth_detail = "Invalid credentials"
            self.fault_path_prefix = None
            self.fault_path_pattern = None
            self.spare_first_n = 0
            self.retry_after_seconds = 1
            self.server_error_status = 503
            self.fired.clear()


# --- internal model ------------------------------------------------------------------------------


@dataclass
class _Artifact:
    row: dict[str, Any]  # the row as served, minus signed_url (minted per call) and archived
    task_id: str | None
    mode: str
    data: bytes | None  # this artifact's bytes (a member's own bytes; a HAR uncompressed)
    parent_id: str | None = None  # bundle members: the step_archive/task_archive row
    s3_key: str | None = None  # unbundled_s3: the object key
    archived: bool = False

    @property
    def artifact_id(self) -> str:
        return self.row["artifact_id"]

    @property
    def artifact_type(self) -> str:
        return str(self.row.get("artifact_type") or "")

    @property
    def is_member(self) -> bool:
        return bool(self.row.get("bundle_key"))


@dataclass
class _Task:
    task_id: str
    body: dict[str, Any]
    raw: bytes | None  # task.json bytes, served verbatim in local mode
    steps: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    artifact_ids: list[str]
    mode: str
    name: str
    workflow_run_ids: list[str] = field(default_factory=list)


@dataclass
class _Run:
    run_id: str
    run_type: str
    body: dict[str, Any]
    raw: bytes | None
    task_ids: list[str]
    mode: str
    workflow_run_id: str | None = None  # task_v2: its backing wr_
    blocks: list[tuple[str, str, str]] = field(default_factory=list)  # wr_: (block_id, task_id, label)


@dataclass
class _S3Object:
    data: bytes
    artifact_id: str
    content_type: str


@dataclass(frozen=True)
class _FolderData:
    run: dict[str, Any]
    run_raw: bytes
    task: dict[str, Any] | None
    task_raw: bytes | None
    steps: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    blobs: dict[str, bytes]  # artifact_id -> bytes of files/ (a .zst file decompressed)


class _Response:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _json(status: int, obj: Any, headers: dict[str, str] | None = None) -> _Response:
    return _Response(status, _dumps(obj), {"content-type": "application/json", **(headers or {})})


def _detail(status: int, detail: Any) -> _Response:
    return _json(status, {"detail": detail})


def _s3_error(status: int, code: str, message: str, key: str = "") -> _Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        + (f"<Key>{_xml_escape(key)}</Key>" if key else "")
        + f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>"
    )
    return _Response(status, body.encode(), {"content-type": "application/xml"})


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _validation_error(loc: list[Any], msg: str, value: Any, kind: str, ctx: dict[str, Any] | None = None) -> _Response:
    item: dict[str, Any] = {"type": kind, "loc": loc, "msg": msg, "input": value}
    if ctx:
        item["ctx"] = ctx
    return _detail(422, [item])


# --- reading run folders -------------------------------------------------------------------------


def _read_json(path: Path) -> tuple[Any, bytes] | tuple[None, None]:
    if not path.is_file():
        return None, None
    raw = path.read_bytes()
    return json.loads(raw), raw


@functools.lru_cache(maxsize=64)
def _read_folder_cached(path: str, mtime: float) -> _FolderData:
    folder = Path(path)
    run, run_raw = _read_json(folder / "run.json")
    if not isinstance(run, dict):
        raise ValueError(f"{folder}: no run.json")
    task, task_raw = _read_json(folder / "task.json")
    steps, _ = _read_json(folder / "steps.json")
    if isinstance(steps, dict):  # {task_id: [steps]}
        steps = [s for group in steps.values() for s in group]
    actions, _ = _read_json(folder / "actions.json")
    rows, _ = _read_json(folder / "artifacts.json")
    blobs: dict[str, bytes] = {}
    for name in ("files", "artifact_files"):
        files = folder / name
        if not files.is_dir():
            continue
        for item in sorted(files.iterdir()):
            if not item.is_file() or "__" not in item.name:
                continue
            data = item.read_bytes()
            if item.name.endswith(".zst"):
                data = zstandard.ZstdDecompressor().decompressobj().decompress(data)
            blobs.setdefault(item.name.split("__", 1)[0], data)
    return _FolderData(
        run=run,
        run_raw=run_raw or b"",
        task=task if isinstance(task, dict) else None,
        task_raw=task_raw if isinstance(task, dict) else None,
        steps=list(steps or []),
        actions=list(actions or []),
        rows=list(rows or []),
        blobs=blobs,
    )


def _read_folder(folder: Path) -> _FolderData:
    marker = folder / "artifacts.json"
    mtime = marker.stat().st_mtime if marker.exists() else 0.0
    return _read_folder_cached(str(folder.resolve()), mtime)


def _storage_tail(uri: str) -> str:
    """The part of a storage uri after the artifacts root: ``o_1/tsk_1/00_0_stp_1/...``."""
    parts = urlsplit(uri)
    path = unquote(parts.path)
    if parts.scheme == "file":
        idx = path.find("/artifacts/")
        return path[idx + len("/artifacts/") :] if idx >= 0 else path.lstrip("/")
    path = path.lstrip("/")
    match = re.match(r"v1/[^/]+/(.*)$", path)
    return match.group(1) if match else path


def _s3_uri_for(uri: str) -> tuple[str, str]:
    key = f"v1/{S3_ENV}/{_storage_tail(uri)}"
    return f"s3://{S3_BUCKET}/{key}", key


def _file_uri_for(uri: str) -> str:
    return uri if uri.startswith("file://") else f"file:///data/artifacts/{_storage_tail(uri)}"


def _id_number(artifact_id: str) -> int:
    digits = re.sub(r"\D", "", artifact_id)
    return int(digits) if digits else int(hashlib.sha256(artifact_id.encode()).hexdigest()[:15], 16)


def _zip_time(ts: str) -> tuple[int, int, int, int, int, int]:
    try:
        d = datetime.fromisoformat(ts)
    except (TypeError, ValueError):
        return (2026, 1, 1, 0, 0, 0)
    return (max(d.year, 1980), d.month, d.day, d.hour, d.minute, d.second)


def _build_zip(members: list[tuple[str, bytes]], when: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_zip_time(when))
            info.compress_type = zipfile.ZIP_STORED if name.endswith(_STORED_EXTS) else zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buf.getvalue()


def _bundle(
    rows: list[dict[str, Any]], blobs: dict[str, bytes], steps: list[dict[str, Any]], used_ids: set[str]
) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """Bundle an unbundled folder as keyring mode would have: step ZIPs, a task ZIP, member rows."""
    step_pos = {s.get("step_id"): (int(s.get("order") or 0), int(s.get("retry_index") or 0)) for s in steps}
    groups: dict[tuple[str, str], list[tuple[dict[str, Any], str]]] = {}  # (kind, scope) -> [(row, name)]
    state: dict[str, dict[str, int]] = {}
    for row in rows:
        kind = row.get("artifact_type")
        step_id = row.get("step_id")
        if row["artifact_id"] not in blobs:
            continue
        if kind in _TASK_ARCHIVE_NAMES and row.get("task_id"):
            groups.setdefault(("task_archive", str(row["task_id"])), []).append((row, _TASK_ARCHIVE_NAMES[kind]))
            continue
        if not step_id:
            continue
        counters = state.setdefault(step_id, {})
        if kind in _STEP_FIXED_NAMES:
            name = _STEP_FIXED_NAMES[kind]
        elif kind in _STEP_LLM_EXT:
            calls = max(counters.get("llm_prompt", 0) - (1 if kind != "llm_prompt" else 0), 0)
            seen = counters.get(kind, 0)
            index = max(calls, seen)
            counters[kind] = index + 1
            name = f"{kind}_{index}.{_STEP_LLM_EXT[kind]}"
        elif kind in _STEP_COUNTED_EXT:
            index = counters.get(kind, 0)
            counters[kind] = index + 1
            name = f"{kind}_{index}.{_STEP_COUNTED_EXT[kind]}"
        else:
            continue
        groups.setdefault(("step_archive", step_id), []).append((row, name))

    member_of: dict[str, tuple[str, str]] = {}  # artifact_id -> (parent uri, name)
    parents: dict[str, dict[str, Any]] = {}  # id of first member -> parent row
    new_blobs = dict(blobs)
    dropped: set[str] = set()
    for (kind, _scope), members in groups.items():
        by_name: dict[str, tuple[dict[str, Any], str]] = {}
        for row, name in members:
            if name in by_name:  # a later scrape overwrites the file: the earlier row is gone
                dropped.add(by_name[name][0]["artifact_id"])
            by_name[name] = (row, name)
        kept = [m for m in members if m[0]["artifact_id"] not in dropped]
        first = kept[0][0]
        flush = max(str(r.get("created_at") or "") for r, _ in kept)
        number = _id_number(kept[-1][0]["artifact_id"]) + 1
        while f"a_{number}" in used_ids:
            number += 1
        parent_id = f"a_{number}"
        used_ids.add(parent_id)
        match = _STEP_DIR.search(str(first.get("uri") or ""))
        if match:
            order, retry, step_id = int(match.group(1)), int(match.group(2)), match.group(3)
        else:
            step_id = str(first.get("step_id"))
            order, retry = step_pos.get(step_id, (0, 0))
        key = (
            f"v1/{S3_ENV}/{first.get('organization_id')}/{first.get('task_id')}/{order:02d}_{retry}_{step_id}/"
            f"{flush}_{parent_id}_{kind}.zip"
        )
        uri = f"s3://{S3_BUCKET}/{key}"
        parent = dict(first)
        parent.update(
            artifact_id=parent_id, artifact_type=kind, uri=uri, bundle_key=None, checksum=None, file_size=None
        )
        parents[first["artifact_id"]] = parent
        new_blobs[parent_id] = _build_zip([(name, blobs[row["artifact_id"]]) for row, name in kept], flush)
        for row, name in kept:
            member_of[row["artifact_id"]] = (uri, name)
            new_blobs.pop(row["artifact_id"], None)

    out: list[dict[str, Any]] = []
    for row in rows:
        aid = row["artifact_id"]
        if aid in dropped:
            continue
        if aid in parents:
            out.append(parents[aid])
        new = dict(row)
        if aid in member_of:
            parent_uri, name = member_of[aid]
            new.update(uri=parent_uri, bundle_key=name, file_size=None)
        else:
            new["uri"] = _s3_uri_for(str(row.get("uri") or ""))[0]
        out.append(new)
    return out, new_blobs


def _member_bytes(zip_bytes: bytes | None, name: str) -> bytes | None:
    if zip_bytes is None:
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
            return zf.read(name)
    except (KeyError, zipfile.BadZipFile):
        return None


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """(start, end) inclusive; None: serve everything; "unsatisfiable"."""
    if not header:
        return None
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header)
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
        if start >= size or (last and int(last) < start):
            return "unsatisfiable"
        return start, end
    length = int(last)
    if length == 0 or size == 0:
        return "unsatisfiable"
    return max(size - length, 0), size - 1


# --- the HTTP side ------------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, owner: SkyvernTestServer, listener: str) -> None:
        self.owner = owner
        self.listener = listener
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "uvicorn"
    sys_version = ""
    timeout = 30  # an idle keep-alive connection is closed after this
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, keep-alive requests wait for delayed ACKs
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.owner._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.owner._track(self.connection, False)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        owner = self.server.owner
        split = urlsplit(self.path)
        path = unquote(split.path)
        query = parse_qs(split.query, keep_blank_values=True)
        record = RequestRecord(
            method=method,
            path=path,
            query=query,
            has_api_key=self.headers.get("x-api-key") is not None,
            listener=self.server.listener,
        )
        owner._record(record)  # logged on arrival (in order); status and bytes are filled in before replying
        try:
            length = int(self.headers.get("content-length") or 0)
            if length > 0:
                self.rfile.read(length)
            faults = owner.faults
            if faults.latency_seconds > 0 and faults.applies(path):
                time.sleep(faults.latency_seconds)
            spared = faults.spare(path)
            if faults.never_answer and faults.applies(path):
                faults.note("never_answer")
                record.fault = "never_answer"
                owner._stopping.wait()
                self.close_connection = True
                return
            if not spared and faults.take("drop_connection", path):
                record.fault = "drop_connection"
                self._drop()
                return
            if not spared and faults.take("rate_limit", path):
                record.fault = "rate_limit"
                response = _detail(429, "Too Many Requests")
                response.headers["retry-after"] = _retry_after_text(faults.retry_after_seconds)
            elif not spared and faults.always_5xx and faults.applies(path):
                faults.note("always_5xx")
                record.fault = "always_5xx"
                response = _server_error(faults.server_error_status)
            elif not spared and faults.take("server_error", path):
                record.fault = "server_error"
                response = _server_error(faults.server_error_status)
            else:
                try:
                    response = owner._handle(method, path, query, self.headers)
                except Exception as exc:  # the spec's unhandled-exception shape
                    response = _json(500, {"error": f"Unexpected error: {type(exc).__name__}"})
            truncate = 200 <= response.status < 300 and bool(response.body) and method != "HEAD"
            if truncate and not spared and faults.take("truncate_body", path):
                record.fault = "truncate_body"
                self._send(response, record, method, truncate=True)
            else:
                self._send(response, record, method)
        except (ConnectionError, OSError):
            self.close_connection = True

    def _send(self, response: _Response, record: RequestRecord, method: str, truncate: bool = False) -> None:
        body = b"" if method == "HEAD" else response.body
        if truncate:
            body = body[: len(body) // 2]
        record.status = response.status  # before the client can see the answer
        record.bytes_sent = len(body)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.wfile.flush()
        if truncate:
            self._drop()

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _retry_after_text(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def _server_error(status: int) -> _Response:
    if status == 500:
        return _json(500, {"error": "Unexpected error: OperationalError"})
    reasons = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
    return _detail(status, reasons.get(status, "Server Error"))


# --- the server ----------------------------------------------------------------------------------

_Route = tuple[str, re.Pattern[str]]
_ROUTES: list[_Route] = [
    ("runs", re.compile(r"/v1/runs")),
    ("run", re.compile(r"/v1/runs/([^/]+)")),
    ("run_artifacts", re.compile(r"/v1/runs/([^/]+)/artifacts")),
    ("run_timeline", re.compile(r"/v1/runs/([^/]+)/timeline")),
    ("artifact", re.compile(r"/v1/artifacts/([^/]+)")),
    ("artifact_content", re.compile(r"/v1/artifacts/([^/]+)/content")),
    ("artifact_signed_url", re.compile(r"/v1/artifacts/([^/]+)/signed-url")),
    ("tasks", re.compile(r"/api/v1/tasks")),
    ("task", re.compile(r"/api/v1/tasks/([^/]+)")),
    ("task_steps", re.compile(r"/api/v1/tasks/([^/]+)/steps")),
    ("task_actions", re.compile(r"/api/v1/tasks/([^/]+)/actions")),
    ("task_step_artifacts", re.compile(r"/api/v1/tasks/([^/]+)/steps/([^/]+)/artifacts")),
    ("entity_artifacts", re.compile(r"/api/v1/(step|task|workflow_run|workflow_run_block|thought)/([^/]+)/artifacts")),
]


class SkyvernTestServer:
    """A threaded HTTP server on 127.0.0.1 serving Skyvern's API over fixture run folders.

    Register runs before or while running; ``start()``/``stop()`` or ``with SkyvernTestServer() as s:``.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        separate_s3_origin: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if host != "127.0.0.1":
            raise ValueError("SkyvernTestServer binds to 127.0.0.1 only")
        self.api_key: str = api_key or "sk-test-" + secrets.token_urlsafe(24)
        self.faults = Faults()
        self.log: list[RequestRecord] = []
        self.base_url = ""
        self.s3_base_url = ""  # == base_url unless separate_s3_origin (then another port: another origin)
        self.separate_s3_origin = separate_s3_origin
        self.clock = clock  # swap to move "now" (signed URL expiry) without sleeping
        self.names: dict[str, str] = {}  # "runs/site_500_submit" / "real/success" / "wr" / "task_v2" -> run id
        self.ttl_seconds = 12 * 3600  # keyring URLs
        self.s3_ttl_seconds = 24 * 3600  # presigned S3 URLs
        self.sensitive_ttl_seconds = 3600  # screenshots, recordings
        self.signed_url_route_ttl = 300  # GET /v1/artifacts/{id}/signed-url
        self._signing_key = secrets.token_bytes(32)
        self._s3_secret = secrets.token_bytes(32)
        self._log_lock = threading.Lock()
        self._lock = threading.RLock()
        self._runs: dict[str, _Run] = {}
        self._ended: dict[str, float] = {}  # run and task ids -> when they "ended" (late_network_seconds)
        self._tasks: dict[str, _Task] = {}
        self._artifacts: dict[str, _Artifact] = {}
        self._s3: dict[str, _S3Object] = {}
        self._servers: list[_HTTPServer] = []
        self._threads: list[threading.Thread] = []
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        self._stopping = threading.Event()

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> SkyvernTestServer:
        if self._servers:
            return self
        self._stopping.clear()
        listeners = ["api", "s3"] if self.separate_s3_origin else ["api"]
        for listener in listeners:
            httpd = _HTTPServer(self, listener)
            thread = threading.Thread(
                target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, name=f"skyvern-test-{listener}"
            )
            thread.daemon = True
            thread.start()
            self._servers.append(httpd)
            self._threads.append(thread)
        host, port = self._servers[0].server_address[:2]
        self.base_url = f"http://{host}:{port}"
        if self.separate_s3_origin:
            host, port = self._servers[1].server_address[:2]
            self.s3_base_url = f"http://{host}:{port}"
        else:
            self.s3_base_url = self.base_url
        return self

    def stop(self) -> None:
        self._stopping.set()  # handlers told never to answer give up now
        servers, self._servers = self._servers, []
        for httpd in servers:
            httpd.shutdown()
            httpd.server_close()
        with self._conn_lock:
            connections = list(self._connections)
        for conn in connections:  # idle keep-alive connections would otherwise outlive the server
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    @property
    def running(self) -> bool:
        return bool(self._servers)

    def __enter__(self) -> SkyvernTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, path: str) -> str:
        return self.base_url + path

    # --- the request log ------------------------------------------------------------------------

    def _record(self, record: RequestRecord) -> None:
        with self._log_lock:
            self.log.append(record)

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def reset_log(self) -> None:
        with self._log_lock:
            self.log.clear()

    def records(self, path_prefix: str = "") -> list[RequestRecord]:
        """A snapshot of the log, only requests whose path starts with ``path_prefix``."""
        with self._log_lock:
            return [r for r in self.log if r.path.startswith(path_prefix)]

    def count(self, path_prefix: str = "") -> int:
        return len(self.records(path_prefix))

    # --- registering runs -----------------------------------------------------------------------

    def add_run_folder(self, path: str | Path, mode: str = "auto", *, name: str | None = None) -> str:
        """Serve a task run folder (run.json, task.json, steps.json, actions.json, artifacts.json,
        files/ or artifact_files/). Returns the run id; ``names[name or "<parent>/<folder>"]`` too."""
        folder = Path(path)
        return self._add_task_run(folder, _read_folder(folder), mode, name or f"{folder.parent.name}/{folder.name}")

    def add_run_copies(
        self,
        folders: Iterable[str | Path],
        count: int,
        *,
        newest: datetime | None = None,
        spacing_seconds: int = 300,
        mode: str = "local",
    ) -> list[str]:
        """``count`` task runs copied from ``folders`` (taken in turn) under fresh ids and times, for
        listings and fleet triage: copy i is created ``newest - i * spacing_seconds`` (default newest:
        ten minutes ago, so every copy has finished long enough ago for its HAR to be final). Every
        ``tsk_``/``stp_``/``a_`` id and every ISO time in the copy's documents and text files (HAR,
        console log, HTML, JSON) moves with it, so each copy triages like its folder. Unbundled folders
        only (their files are rewritten; ``mode="bundled"`` bundles the copy afterwards). Returns the
        run ids, newest first."""
        sources = [Path(p) for p in folders]
        if not sources or count < 0:
            raise ValueError("add_run_copies needs at least one folder and a count >= 0")
        start = (newest or datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=10)).replace(microsecond=0)
        made: list[str] = []
        for index in range(count):
            folder = sources[index % len(sources)]
            data = _read_folder(folder)
            if any(r.get("bundle_key") for r in data.rows):
                raise ValueError(f"{folder}: a bundled folder cannot be copied (its files are ZIPs)")
            created = datetime.fromisoformat(str(data.run.get("created_at"))).replace(tzinfo=None, microsecond=0)
            shift = start - timedelta(seconds=index * spacing_seconds) - created
            with self._lock:
                moved = _moved_folder(data, shift, self._taken_ids())
                made.append(self._add_task_run(folder, moved, mode, None))
        return made

    def _taken_ids(self) -> set[str]:
        return set(self._runs) | set(self._tasks) | set(self._artifacts)

    def _add_task_run(self, folder: Path, data: _FolderData, mode: str, name: str | None) -> str:
        run = copy.deepcopy(data.run)
        run_id = str(run.get("run_id") or "")
        run_type = str(run.get("run_type") or "task_v1")
        if run_type in ("workflow_run", "task_v2") or not run_id.startswith("tsk_"):
            raise ValueError(f"{folder}: only task runs are served from folders (use add_workflow_run)")
        with self._lock:
            if run_id in self._runs:
                raise ValueError(f"run {run_id} is already served")
            task = self._register_task(folder, data, mode, run_id)
            self._runs[run_id] = _Run(
                run_id=run_id,
                run_type=run_type,
                body=run,
                raw=data.run_raw,
                task_ids=[task.task_id],
                mode=task.mode,
            )
            if name is not None:
                self.names[name] = run_id
        return run_id

    def add_workflow_run(
        self,
        run_id: str,
        task_folders: Iterable[str | Path],
        mode: str = "auto",
        *,
        labels: Iterable[str] | None = None,
        name: str = "wr",
    ) -> str:
        """A ``wr_`` run whose task blocks are these task run folders, in order. A task already
        served (e.g. by add_run_folder) is reused with its storage mode. Its rows served in the
        workflow run's context carry ``workflow_run_id``; nothing else in the task data changes."""
        if not run_id.startswith("wr_"):
            raise ValueError("a workflow run id starts with wr_")
        folders = [Path(p) for p in task_folders]
        if not folders:
            raise ValueError("a workflow run needs at least one task folder")
        label_list = list(labels) if labels is not None else [f.name for f in folders]
        with self._lock:
            if run_id in self._runs:
                raise ValueError(f"run {run_id} is already served")
            tasks: list[_Task] = []
            for folder in folders:
                data = _read_folder(folder)
                task_id = str((data.task or {}).get("task_id") or data.run.get("run_id"))
                existing = self._tasks.get(task_id)
                if existing is not None:
                    if mode != "auto" and mode != existing.mode:
                        raise ValueError(f"task {task_id} is already served in {existing.mode} mode")
                    tasks.append(existing)
                else:
                    tasks.append(self._register_task(folder, data, mode, task_id))
            blocks = []
            for index, (task, label) in enumerate(zip(tasks, label_list, strict=False)):
                task.workflow_run_ids.append(run_id)
                block_id = f"wrb_{int(hashlib.sha256(f'{run_id}/{index}'.encode()).hexdigest()[:15], 16)}"
                blocks.append((block_id, task.task_id, label))
            body = self._workflow_run_body(run_id, tasks)
            modes = {t.mode for t in tasks}
            self._runs[run_id] = _Run(
                run_id=run_id,
                run_type="workflow_run",
                body=body,
                raw=None,
                task_ids=[t.task_id for t in tasks],
                mode=modes.pop() if len(modes) == 1 else "mixed",
                blocks=blocks,
            )
            self.names[name] = run_id
        return run_id

    def add_task_v2(self, run_id: str, workflow_run_id: str, *, name: str = "task_v2") -> str:
        """A ``task_v2`` run backed by a served workflow run: its app_url ends ``/runs/{wr}``, its
        artifact list is ``[]`` (as the real server), its timeline is the workflow run's."""
        with self._lock:
            wr = self._runs.get(workflow_run_id)
            if wr is None or wr.run_type != "workflow_run":
                raise KeyError(f"workflow run {workflow_run_id} is not served")
            if run_id in self._runs:
                raise ValueError(f"run {run_id} is already served")
            first = self._tasks[wr.task_ids[0]]
            request = first.body.get("request") or {}
            body = {
                "run_id": run_id,
                "status": wr.body.get("status"),
                "output": None,
                "downloaded_files": [],
                "recording_url": None,
                "recording_archived": False,
                "screenshot_urls": None,
                "failure_reason": wr.body.get("failure_reason"),
                "created_at": wr.body.get("created_at"),
                "modified_at": wr.body.get("modified_at"),
                "queued_at": None,
                "started_at": wr.body.get("started_at"),
                "finished_at": wr.body.get("finished_at"),
                "app_url": f"http://localhost:8080/runs/{workflow_run_id}",
                "browser_session_id": None,
                "browser_profile_id": None,
                "max_screenshot_scrolls": None,
                "script_run": None,
                "errors": wr.body.get("errors") or [],
                "step_count": wr.body.get("step_count"),
                "run_type": "task_v2",
                "run_request": {
                    "prompt": request.get("navigation_goal"),
                    "url": request.get("url"),
                    "engine": "skyvern-2.0",
                    "title": None,
                    "proxy_location": request.get("proxy_location"),
                    "max_steps": None,
                },
            }
            self._runs[run_id] = _Run(
                run_id=run_id,
                run_type="task_v2",
                body=body,
                raw=None,
                task_ids=list(wr.task_ids),
                mode=wr.mode,
                workflow_run_id=workflow_run_id,
            )
            self.names[name] = run_id
        return run_id

    def archive(self, artifact_id: str, archived: bool = True) -> None:
        """Mark a row archived (cold storage): ``archived: true`` in rows, no content."""
        with self._lock:
            self._artifacts[artifact_id].archived = archived

    def expected_content(self, artifact_id: str) -> bytes | None:
        """What ``/content`` answers for this artifact (for assertions)."""
        art = self._artifacts[artifact_id]
        return self._content_bytes(art)

    def run_ids(self) -> list[str]:
        return list(self._runs)

    # --- webhooks: what Skyvern posts to a run's webhook_url when the run ends ----------------------

    def webhook_body(self, run_id: str, *, status: str | None = None) -> bytes:
        """The body Skyvern posts for a run that ended: a task's response (``GET /api/v1/tasks/{id}``, without
        its ``request``) with the run's response (``GET /v1/runs/{id}``) laid over it; for a workflow run or a
        task v2 the run's response alone. Compact JSON, non-ASCII kept, a float that is whole written as an
        integer (``3.0`` -> ``3``), as Skyvern writes it. ``status`` overrides the run's own; a run id this
        server does not know gets a minimal body (a run that will fail to fetch)."""
        run = self._runs.get(run_id)
        if run is None:
            doc: dict[str, Any] = {"run_id": run_id, "run_type": "task_v1", "status": status or "failed"}
        else:
            task = self._tasks.get(run_id)
            doc = {k: v for k, v in (task.body if task else {}).items() if k != "request"}
            doc.update(run.body)
            if status is not None:
                doc["status"] = status
        return json.dumps(_whole_floats_as_ints(doc), separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def webhook_headers(
        self, body: bytes, *, api_key: str | None = None, timestamp: float | None = None
    ) -> dict[str, str]:
        """The headers of a delivery: ``x-skyvern-signature`` (hex HMAC-SHA256 of the raw body, keyed with the
        API key: this server's unless ``api_key``), ``x-skyvern-timestamp`` (unix seconds, unsigned)."""
        key = (api_key if api_key is not None else self.api_key).encode("utf-8")
        return {
            "x-skyvern-signature": hmac.new(key, body, hashlib.sha256).hexdigest(),
            "x-skyvern-timestamp": str(int(time.time() if timestamp is None else timestamp)),
            "content-type": "application/json",
        }

    def _register_task(self, folder: Path, data: _FolderData, mode: str, task_id: str) -> _Task:
        if mode not in (*MODES, "auto"):
            raise ValueError(f"mode must be one of {MODES} or 'auto', not {mode!r}")
        if task_id in self._tasks:
            raise ValueError(f"task {task_id} is already served")
        rows = copy.deepcopy(data.rows)
        blobs = dict(data.blobs)
        steps = copy.deepcopy([s for s in data.steps if s.get("task_id") in (None, task_id)])
        actions = copy.deepcopy([a for a in data.actions if a.get("task_id") in (None, task_id)])
        folder_bundled = any(r.get("bundle_key") for r in rows)
        if mode == "auto":
            mode = "bundled" if folder_bundled else "local"
        if mode == "bundled" and not folder_bundled:
            used = set(self._artifacts) | {r["artifact_id"] for r in rows}
            rows, blobs = _bundle(rows, blobs, steps, used)
        for row in rows:
            if row["artifact_id"] in self._artifacts:
                raise ValueError(f"artifact {row['artifact_id']} is already served")
        parents = {r.get("uri"): r["artifact_id"] for r in rows if not r.get("bundle_key")}
        arts: list[_Artifact] = []
        for row in rows:
            aid = row["artifact_id"]
            row.pop("signed_url", None)
            archived = bool(row.pop("archived", False))
            parent_id = parents.get(row.get("uri")) if row.get("bundle_key") else None
            if parent_id is not None:
                payload = _member_bytes(blobs.get(parent_id), str(row["bundle_key"]))
            else:
                payload = blobs.get(aid)
            art = _Artifact(
                row=row,
                task_id=row.get("task_id") or task_id,
                mode=mode,
                data=payload,
                parent_id=parent_id,
                archived=archived,
            )
            arts.append(art)
        for art in arts:  # storage uris of the mode
            uri = str(art.row.get("uri") or "")
            if mode == "local":
                art.row["uri"] = _file_uri_for(uri)
            elif mode == "unbundled_s3":
                if art.is_member:
                    art.row["uri"] = _s3_uri_for(uri)[0]
                    continue
                s3_uri, key = _s3_uri_for(uri)
                stored = art.data
                if art.artifact_type == "har" and not key.endswith(".zst"):
                    s3_uri, key = s3_uri + ".zst", key + ".zst"
                    if stored is not None:
                        stored = zstandard.ZstdCompressor(level=3).compress(stored)
                art.row["uri"] = s3_uri
                art.s3_key = key
                if stored is not None:
                    ext = key.rsplit(".", 1)[-1].lower()
                    self._s3[key] = _S3Object(
                        stored, art.artifact_id, _S3_CONTENT_TYPES.get(ext, "binary/octet-stream")
                    )
        for art in arts:
            self._artifacts[art.artifact_id] = art
        body = copy.deepcopy(data.task) if data.task is not None else _synth_task(data.run, task_id, steps)
        task = _Task(
            task_id=task_id,
            body=body,
            raw=data.task_raw,
            steps=steps,
            actions=actions,
            artifact_ids=[a.artifact_id for a in arts],
            mode=mode,
            name=folder.name,
        )
        self._tasks[task_id] = task
        return task

    def _workflow_run_body(self, run_id: str, tasks: list[_Task]) -> dict[str, Any]:
        bad = [t for t in tasks if t.body.get("status") != "completed"]
        status = (bad[0].body.get("status") or "failed") if bad else "completed"
        if status not in ("failed", "terminated", "timed_out", "canceled"):
            status = "failed" if bad else status
        times = [str(t.body.get("created_at") or "") for t in tasks]
        finished = [str(t.body.get("finished_at") or t.body.get("modified_at") or "") for t in tasks]
        started = [str(t.body.get("started_at") or t.body.get("created_at") or "") for t in tasks]
        last = tasks[-1].body
        errors: list[Any] = []
        for t in tasks:
            errors.extend(t.body.get("errors") or [])
        return {
            "run_id": run_id,
            "status": status,
            "output": None,
            "downloaded_files": [],
            "recording_url": None,
            "recording_archived": False,
            "screenshot_urls": last.get("action_screenshot_urls"),
            "failure_reason": bad[0].body.get("failure_reason") if bad else None,
            "created_at": min(times),
            "modified_at": max(str(t.body.get("modified_at") or "") for t in tasks),
            "queued_at": None,
            "started_at": min(started),
            "finished_at": max(finished),
            "app_url": f"http://localhost:8080/runs/{run_id}",
            "browser_session_id": None,
            "browser_profile_id": None,
            "max_screenshot_scrolls": None,
            "script_run": None,
            "errors": errors,
            "step_count": sum(len(t.steps) for t in tasks),
            "run_type": "workflow_run",
            "run_request": {
                "workflow_id": "wpid_" + run_id.removeprefix("wr_"),
                "title": "debugkit test workflow",
                "parameters": {},
                "proxy_location": None,
                "webhook_url": None,
                "totp_url": None,
                "totp_identifier": None,
                "browser_session_id": None,
                "browser_profile_id": None,
                "max_screenshot_scrolls": None,
                "extra_http_headers": None,
                "browser_address": None,
                "run_with": None,
            },
            "run_with": None,
            "ai_fallback": None,
            "script_id": None,
            "browser_seed_source": None,
        }

    # --- signing --------------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self.clock())

    def _ttl(self, art: _Artifact, default: int) -> int:
        kind = art.artifact_type
        if kind.startswith("screenshot") or kind in SENSITIVE_TYPES:
            return min(default, self.sensitive_ttl_seconds)
        return default

    def _sig(self, path: str, expiry: int, kid: str) -> str:
        digest = hmac.new(self._signing_key, f"GET\n{path}\n{expiry}\n{kid}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def _keyring_url(self, artifact_id: str, ttl: int, expired: bool) -> tuple[str, int]:
        path = f"/v1/artifacts/{artifact_id}/content"
        expiry = self._now() - 60 if expired else self._now() + ttl
        return f"{self.base_url}{path}?expiry={expiry}&kid={KID}&sig={self._sig(path, expiry, KID)}", expiry

    def _s3_sig(self, key: str, amz_date: str, expires: str) -> str:
        return hmac.new(self._s3_secret, f"GET\n{key}\n{amz_date}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def _s3_url(self, key: str, ttl: int, expired: bool) -> str:
        signed_at = self._now() - ttl - 60 if expired else self._now()
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(signed_at))
        params = {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": f"AKIATESTKEY/{amz_date[:8]}/us-east-1/s3/aws4_request",
            "X-Amz-Date": amz_date,
            "X-Amz-Expires": str(ttl),
            "X-Amz-SignedHeaders": "host",
            "X-Amz-Signature": self._s3_sig(key, amz_date, str(ttl)),
        }
        return f"{self.s3_base_url}/s3/{quote(key, safe='/')}?{urlencode(params)}"

    def _legacy_member_url(self, art: _Artifact) -> str:
        query = urlencode({"artifact_name": art.row.get("bundle_key"), "artifact_type": art.artifact_type})
        return f"{self.base_url}/v1/artifacts/{art.artifact_id}/content?{query}"

    def _mints(self, art: _Artifact) -> bool:
        """Whether this row's signed_url is a signed, expiring URL."""
        return art.mode == "bundled" or (art.mode == "unbundled_s3" and not art.is_member)

    def _signed_url(self, art: _Artifact, expired: bool, ttl: int | None = None) -> tuple[str | None, int | None]:
        if art.mode == "bundled":
            return self._keyring_url(art.artifact_id, ttl or self._ttl(art, self.ttl_seconds), expired)
        if art.is_member:
            return self._legacy_member_url(art), None
        if art.mode == "unbundled_s3":
            if art.s3_key is None:
                return None, None
            return self._s3_url(art.s3_key, self._ttl(art, self.s3_ttl_seconds), expired), None
        return art.row.get("uri"), None

    def _serve_rows(self, arts: list[_Artifact], path: str, wr_context: str | None = None) -> list[dict[str, Any]]:
        late = self.faults.late_network_seconds
        if late > 0:
            now = self.clock()
            arts = [
                a
                for a in arts
                if a.artifact_type not in _LATE_TYPES or now >= self._ended.get(str(a.task_id), -1e18) + late
            ]
        expired = any(self._mints(a) for a in arts) and self.faults.take("expire_signed_urls", path)
        return [self._serve_row(a, expired, wr_context) for a in arts]

    def _serve_row(self, art: _Artifact, expired: bool, wr_context: str | None = None) -> dict[str, Any]:
        row = dict(art.row)
        if row.get("workflow_run_id") is None:
            if wr_context is not None:
                row["workflow_run_id"] = wr_context
            elif art.task_id not in self._runs:  # a task that exists only as a block of a workflow run
                task = self._tasks.get(str(art.task_id))
                if task is not None and task.workflow_run_ids:
                    row["workflow_run_id"] = task.workflow_run_ids[0]
        row["signed_url"] = self._signed_url(art, expired)[0]
        row["archived"] = art.archived
        return row

    def _rewrite_urls(self, body: dict[str, Any], fields: Iterable[str], task_ids: Iterable[str]) -> dict[str, Any]:
        """Non-local modes: URLs in run/task bodies point at this server (minted fresh)."""
        known = {aid for tid in task_ids for aid in self._tasks[tid].artifact_ids}
        body = dict(body)

        def fresh(url: Any) -> Any:
            if not isinstance(url, str):
                return url
            ids = [m for m in _ARTIFACT_ID_IN_URL.findall(url) if m in known]
            if not ids:
                return url
            return self._signed_url(self._artifacts[ids[-1]], False)[0]

        for name in fields:
            value = body.get(name)
            body[name] = [fresh(u) for u in value] if isinstance(value, list) else fresh(value)
        return body

    # --- routing --------------------------------------------------------------------------------

    def _handle(self, method: str, path: str, query: dict[str, list[str]], headers: Any) -> _Response:
        if path.startswith("/s3/"):
            if method not in ("GET", "HEAD"):
                return _s3_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
            return self._s3_get(path[len("/s3/") :], query, headers)
        if path != "/" and path.endswith("/"):
            path = path[:-1]
        found = next(((r, m) for r, p in _ROUTES if (m := p.fullmatch(path))), None)
        if found is None:
            return _detail(404, "Not Found")
        route, match = found
        if method not in ("GET", "HEAD"):
            return _detail(405, "Method Not Allowed")
        if route == "artifact_content":
            return self._artifact_content(match.group(1), path, query, headers)
        key = headers.get("x-api-key")
        if key is None or not hmac.compare_digest(key.encode(), self.api_key.encode()):
            return _detail(403, self.faults.auth_detail)
        handler = getattr(self, f"_route_{route}")
        return handler(path, query, *match.groups())

    def _route_runs(self, path: str, query: dict[str, list[str]]) -> _Response:
        """``GET /v1/runs``: top-level runs newest first (``created_at``), offset pages, the item shape of
        Skyvern's run list (``task_run_type``, not ``run_type``); ``status``/``run_type`` repeat."""
        numbers: dict[str, int] = {}
        for name, default, highest in (("page", 1, MAX_RUNS_PAGE), ("page_size", 10, MAX_RUNS_PAGE_SIZE)):
            value = _query_int(query, name, default, highest)
            if isinstance(value, _Response):
                return value
            numbers[name] = value
        for name, allowed in (("status", RUN_STATUSES), ("run_type", RUN_TYPES)):
            bad = _check_enum(query, name, allowed)
            if bad is not None:
                return bad
        statuses = set(query.get("status") or [])
        run_types = set(query.get("run_type") or [])
        search = (query.get("search_key") or [""])[0].lower()
        with self._lock:
            rows = [self._run_row(run) for run in self._runs.values()]
        rows = [
            row
            for row in rows
            if (not statuses or row["status"] in statuses)
            and (not run_types or row["task_run_type"] in run_types)
            and (not search or any(search in str(row[k] or "").lower() for k in SEARCHED_FIELDS))
        ]
        rows.sort(key=lambda row: (str(row["created_at"] or ""), row["run_id"]), reverse=True)
        start = (numbers["page"] - 1) * numbers["page_size"]
        return _json(200, rows[start : start + numbers["page_size"]])

    def _run_row(self, run: _Run) -> dict[str, Any]:
        body = run.body
        request = body.get("run_request") if isinstance(body.get("run_request"), dict) else {}
        return {
            "task_run_id": f"tr_{_id_number(run.run_id)}",
            "run_id": run.run_id,
            "task_run_type": run.run_type,
            "status": body.get("status"),
            "title": request.get("title"),
            "started_at": body.get("started_at"),
            "finished_at": body.get("finished_at"),
            "created_at": body.get("created_at"),
            "workflow_permanent_id": request.get("workflow_id") if run.run_type == "workflow_run" else None,
            "workflow_deleted": False,
            "script_run": False,
            "trigger_type": None,
        }

    def _route_run(self, path: str, query: dict[str, list[str]], run_id: str) -> _Response:
        run = self._runs.get(run_id)
        if run is None:
            return _detail(404, f"Run not found {run_id}")
        if self.faults.late_network_seconds > 0:
            ended = self._ended.setdefault(run_id, self.clock())
            for task_id in run.task_ids:
                self._ended.setdefault(task_id, ended)
            when = datetime.fromtimestamp(ended, UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
            return _json(200, dict(run.body, finished_at=when, modified_at=when))
        if run.mode == "local" and run.raw is not None:
            return _Response(200, run.raw, {"content-type": "application/json"})
        body = run.body
        if run.mode != "local":
            body = self._rewrite_urls(body, ("screenshot_urls", "recording_url"), run.task_ids)
        return _json(200, body)

    def _check_types(self, query: dict[str, list[str]]) -> _Response | set[str] | None:
        types = query.get("artifact_type")
        if not types:
            return None
        for index, value in enumerate(types):
            if value not in ARTIFACT_TYPES:
                expected = ", ".join(f"'{t}'" for t in sorted(ARTIFACT_TYPES))
                return _validation_error(
                    ["query", "artifact_type", index],
                    f"Input should be {expected}",
                    value,
                    "enum",
                    {"expected": expected},
                )
        return set(types)

    def _arts(self, task_ids: Iterable[str], types: set[str] | None = None) -> list[_Artifact]:
        arts = [self._artifacts[aid] for tid in task_ids for aid in self._tasks[tid].artifact_ids]
        if types is not None:
            arts = [a for a in arts if a.artifact_type in types]
        return sorted(arts, key=lambda a: str(a.row.get("created_at") or ""))

    def _route_run_artifacts(self, path: str, query: dict[str, list[str]], run_id: str) -> _Response:
        types = self._check_types(query)
        if isinstance(types, _Response):
            return types
        run = self._runs.get(run_id)
        if run is not None and run.run_type == "workflow_run":
            return _json(200, self._serve_rows(self._arts(run.task_ids, types), path, wr_context=run_id))
        if run_id.startswith("tsk_") and not run_id.startswith("tsk_v2_") and run_id in self._tasks:
            return _json(200, self._serve_rows(self._arts([run_id], types), path))
        return _json(200, [])  # tsk_v2_ (its rows live under the wr_), or nothing matches

    def _route_run_timeline(self, path: str, query: dict[str, list[str]], run_id: str) -> _Response:
        run = self._runs.get(run_id)
        if run is None:
            return _detail(404, f"Run not found {run_id}")
        if run.run_type == "task_v2" and run.workflow_run_id:
            run = self._runs[run.workflow_run_id]
        if run.run_type != "workflow_run":
            return _detail(400, f"Timeline not available for run type {run.run_type}")
        items = []
        for block_id, task_id, label in run.blocks:
            task = self._tasks[task_id]
            body = task.body
            request = body.get("request") or {}
            started = body.get("started_at") or body.get("created_at")
            duration = _seconds_between(started, body.get("finished_at"))
            block = {
                "workflow_run_block_id": block_id,
                "block_workflow_run_id": None,
                "workflow_run_id": run.run_id,
                "organization_id": (task.steps[0].get("organization_id") if task.steps else None),
                "description": None,
                "parent_workflow_run_block_id": None,
                "block_type": "task",
                "label": label,
                "status": body.get("status"),
                "output": body.get("extracted_information"),
                "continue_on_failure": False,
                "failure_reason": body.get("failure_reason"),
                "engine": "skyvern-1.0",
                "task_id": task_id,
                "url": request.get("url"),
                "navigation_goal": request.get("navigation_goal"),
                "data_extraction_goal": request.get("data_extraction_goal"),
                "data_schema": None,
                "terminate_criterion": None,
                "complete_criterion": None,
                "actions": list(reversed(task.actions)),
                "created_at": body.get("created_at"),
                "modified_at": body.get("modified_at"),
                "include_action_history_in_verification": False,
                "duration": duration,
                "loop_values": None,
                "current_value": None,
                "current_index": None,
                "recipients": None,
                "attachments": None,
                "subject": None,
                "body": None,
                "prompt": None,
                "error_codes": [],
                "executed_branch_id": None,
                "final_url": None,
            }
            items.append(
                {
                    "type": "block",
                    "block": block,
                    "thought": None,
                    "children": [],
                    "created_at": body.get("created_at"),
                    "modified_at": body.get("modified_at"),
                }
            )
        items.sort(key=lambda item: str(item["created_at"] or ""), reverse=True)
        return _json(200, items)

    def _route_artifact(self, path: str, query: dict[str, list[str]], artifact_id: str) -> _Response:
        art = self._artifacts.get(artifact_id)
        if art is None:
            return _detail(404, f"Artifact not found {artifact_id}")
        return _json(200, self._serve_rows([art], path)[0])

    def _route_artifact_signed_url(self, path: str, query: dict[str, list[str]], artifact_id: str) -> _Response:
        art = self._artifacts.get(artifact_id)
        if art is None:
            return _detail(404, f"Artifact not found {artifact_id}")
        expired = self._mints(art) and self.faults.take("expire_signed_urls", path)
        if art.mode == "bundled":
            url, expires_at = self._signed_url(art, expired, ttl=self.signed_url_route_ttl)
        else:
            url, expires_at = self._signed_url(art, expired)[0], None
        return _json(200, {"artifact_id": artifact_id, "signed_url": url, "expires_at": expires_at})

    def _content_bytes(self, art: _Artifact) -> bytes | None:
        if art.is_member and art.mode == "local" and art.parent_id:
            return self._artifacts[art.parent_id].data  # the local backend returns the whole ZIP
        return art.data

    def _artifact_content(self, artifact_id: str, path: str, query: dict[str, list[str]], headers: Any) -> _Response:
        art = self._artifacts.get(artifact_id)
        signed = any(k in query for k in ("expiry", "kid", "sig"))
        cache: dict[str, str] = {}
        if signed:
            expiry_text = (query.get("expiry") or [""])[0]
            kid = (query.get("kid") or [""])[0]
            sig = (query.get("sig") or [""])[0]
            valid = False
            if expiry_text.isdigit() and kid == KID:
                expiry = int(expiry_text)
                good = self._sig(path, expiry, kid)
                valid = hmac.compare_digest(good, sig) and expiry >= self._now()
                cache["cache-control"] = f"private, max-age={max(expiry - self._now(), 0)}"
            if not valid:
                if art is not None and art.mode != "bundled":
                    return _detail(503, "Artifact URL signing is not configured on this server")
                return _detail(403, "Invalid or expired artifact URL")
        else:
            key = headers.get("x-api-key")
            if key is None or not hmac.compare_digest(key.encode(), self.api_key.encode()):
                return _detail(403, "Invalid credentials")
        if art is None:
            return _detail(404, f"Artifact not found {artifact_id}")
        if art.archived:
            return _detail(404, f"Artifact content not available: {artifact_id} is archived")
        data = self._content_bytes(art)
        if data is None:
            return _detail(404, f"Artifact content not found {artifact_id}")
        kind = art.artifact_type
        out = {"content-type": _content_type(kind, str(art.row.get("uri") or "")), **cache}
        if kind == "download":
            out["content-disposition"] = f'attachment; filename="{art.artifact_id}"'
        return _ranged(data, headers.get("range"), out)

    def _s3_get(self, key_path: str, query: dict[str, list[str]], headers: Any) -> _Response:
        obj = self._s3.get(key_path)
        if obj is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.", key_path)
        date = (query.get("X-Amz-Date") or [""])[0]
        expires = (query.get("X-Amz-Expires") or [""])[0]
        sig = (query.get("X-Amz-Signature") or [""])[0]
        if not (date and expires and sig):
            return _s3_error(403, "AccessDenied", "Query-string authentication requires the Signature and Expires.")
        if not hmac.compare_digest(self._s3_sig(key_path, date, expires), sig):
            return _s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        try:
            signed_at = int(datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp())
        except ValueError:
            return _s3_error(403, "AccessDenied", "X-Amz-Date must be in the ISO8601 Long Format")
        if self._now() > signed_at + int(expires):
            return _s3_error(403, "AccessDenied", "Request has expired")
        art = self._artifacts.get(obj.artifact_id)
        if art is not None and art.archived:
            return _s3_error(403, "InvalidObjectState", "The operation is not valid for the object's storage class")
        out = {
            "content-type": obj.content_type,
            "etag": '"' + hashlib.md5(obj.data, usedforsecurity=False).hexdigest() + '"',
            "last-modified": formatdate(signed_at, usegmt=True),
        }
        return _ranged(obj.data, headers.get("range"), out)

    def _route_tasks(self, path: str, query: dict[str, list[str]]) -> _Response:
        numbers: dict[str, int] = {}
        for name, default in (("page", 1), ("page_size", 10)):
            value = _query_int(query, name, default)
            if isinstance(value, _Response):
                return value
            numbers[name] = value
        order = (query.get("order") or ["desc"])[0]
        sort = (query.get("sort") or ["created_at"])[0]
        if order not in ("asc", "desc"):
            return _validation_error(["query", "order"], "Input should be 'asc' or 'desc'", order, "enum")
        if sort not in ("created_at", "modified_at"):
            return _validation_error(["query", "sort"], "Input should be 'created_at' or 'modified_at'", sort, "enum")
        wr_id = (query.get("workflow_run_id") or [None])[0]
        if wr_id is not None:
            run = self._runs.get(wr_id)
            tasks = [self._tasks[t] for t in run.task_ids] if run and run.run_type == "workflow_run" else []
        else:
            tasks = list(self._tasks.values())
        statuses = query.get("task_status")
        if statuses:
            tasks = [t for t in tasks if t.body.get("status") in statuses]
        tasks.sort(key=lambda t: str(t.body.get(sort) or ""), reverse=order == "desc")
        start = (numbers["page"] - 1) * numbers["page_size"]
        page = tasks[start : start + numbers["page_size"]]
        return _json(200, [self._task_body(t) for t in page])

    def _task_body(self, task: _Task) -> dict[str, Any]:
        if task.mode == "local":
            return task.body
        fields = ("screenshot_url", "action_screenshot_urls", "recording_url", "browser_console_log_url")
        return self._rewrite_urls(task.body, fields, [task.task_id])

    def _route_task(self, path: str, query: dict[str, list[str]], task_id: str) -> _Response:
        task = self._tasks.get(task_id)
        if task is None:
            return _detail(404, f"Task {task_id} not found")
        if task.mode == "local" and task.raw is not None:
            return _Response(200, task.raw, {"content-type": "application/json"})
        return _json(200, self._task_body(task))

    def _route_task_steps(self, path: str, query: dict[str, list[str]], task_id: str) -> _Response:
        task = self._tasks.get(task_id)
        steps = task.steps if task else []
        return _json(200, sorted(steps, key=lambda s: (s.get("order") or 0, s.get("retry_index") or 0)))

    def _route_task_actions(self, path: str, query: dict[str, list[str]], task_id: str) -> _Response:
        task = self._tasks.get(task_id)
        if task is None:
            return _json(200, [])
        return _json(200, sorted(task.actions, key=lambda a: str(a.get("created_at") or "")))

    def _route_task_step_artifacts(
        self, path: str, query: dict[str, list[str]], task_id: str, step_id: str
    ) -> _Response:
        if task_id not in self._tasks:
            return _json(200, [])
        arts = [a for a in self._arts([task_id]) if a.row.get("step_id") == step_id]
        return _json(200, self._serve_rows(arts, path))

    def _route_entity_artifacts(self, path: str, query: dict[str, list[str]], kind: str, entity_id: str) -> _Response:
        wr_context = None
        if kind == "task":
            arts = self._arts([entity_id]) if entity_id in self._tasks else []
        elif kind == "step":
            arts = [a for a in self._artifacts.values() if a.row.get("step_id") == entity_id]
        elif kind == "workflow_run":
            run = self._runs.get(entity_id)
            arts = self._arts(run.task_ids) if run and run.run_type == "workflow_run" else []
            wr_context = entity_id
        else:  # workflow_run_block / thought: no row carries those keys here
            arts = []
        arts = sorted(arts, key=lambda a: str(a.row.get("created_at") or ""), reverse=True)
        return _json(200, self._serve_rows(arts, path, wr_context))


# --- helpers -------------------------------------------------------------------------------------


def _query_int(query: dict[str, list[str]], name: str, default: int, highest: int | None = None) -> int | _Response:
    """A FastAPI ``Query(default, ge=1[, le=highest])`` integer, or its 422."""
    text = (query.get(name) or [str(default)])[0]
    try:
        value = int(text)
    except ValueError:
        message = "Input should be a valid integer, unable to parse string as an integer"
        return _validation_error(["query", name], message, text, "int_parsing")
    if value < 1:
        return _validation_error(
            ["query", name], "Input should be greater than or equal to 1", text, "greater_than_equal", {"ge": 1}
        )
    if highest is not None and value > highest:
        return _validation_error(
            ["query", name], f"Input should be less than or equal to {highest}", text, "less_than_equal",
            {"le": highest},
        )
    return value


def _check_enum(query: dict[str, list[str]], name: str, allowed: tuple[str, ...]) -> _Response | None:
    """A repeatable enum query parameter (``?status=failed&status=terminated``): a 422 for any value
    not in ``allowed``, as FastAPI answers (a comma list is one value, and not a valid one)."""
    for index, value in enumerate(query.get(name) or []):
        if value not in allowed:
            expected = ", ".join(f"'{v}'" for v in allowed[:-1]) + f" or '{allowed[-1]}'"
            return _validation_error(
                ["query", name, index], f"Input should be {expected}", value, "enum", {"expected": expected}
            )
    return None


_IDS = re.compile(r"(?<![A-Za-z0-9])(?:tsk|stp|a)_\d+(?!\d)")
_ISO = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?!\d)")


def _whole_floats_as_ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_floats_as_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_floats_as_ints(v) for v in value]
    return value


def _moved_folder(data: _FolderData, shift: timedelta, taken: set[str]) -> _FolderData:
    """``data`` under fresh ids, every ISO time moved by ``shift`` (whole seconds: fractions and zone
    suffixes stay as written). An id keeps its prefix; its number moves by the shift's seconds in
    the top 32 bits (Skyvern ids carry their creation time there), then up to the first free one."""
    seconds = int(shift.total_seconds())
    ids: dict[str, str] = {}
    texts = [data.run_raw.decode(), json.dumps([data.task, data.steps, data.actions, data.rows])]
    for text in texts:
        for old in _IDS.findall(text):
            if old in ids:
                continue
            prefix, number = old.split("_", 1)
            moved = int(number) + (seconds << 32)
            while f"{prefix}_{moved}" in taken or moved <= 0:
                moved += 1
            ids[old] = f"{prefix}_{moved}"
            taken.add(ids[old])

    def rewrite(text: str) -> str:
        text = _IDS.sub(lambda m: ids.get(m.group(0), m.group(0)), text)
        return _ISO.sub(lambda m: (datetime.fromisoformat(m.group(1)) + timedelta(seconds=seconds)).isoformat(), text)

    def moved_json(value: Any) -> Any:
        return json.loads(rewrite(json.dumps(value)))

    blobs: dict[str, bytes] = {}
    for artifact_id, blob in data.blobs.items():
        try:
            text = blob.decode("utf-8")
        except UnicodeDecodeError:
            blobs[ids.get(artifact_id, artifact_id)] = blob  # images, ZIPs: as they are
            continue
        blobs[ids.get(artifact_id, artifact_id)] = blob if "\x00" in text else rewrite(text).encode()
    run_raw = rewrite(data.run_raw.decode()).encode()
    task_raw = rewrite(data.task_raw.decode()).encode() if data.task_raw is not None else None
    return _FolderData(
        run=json.loads(run_raw),
        run_raw=run_raw,
        task=json.loads(task_raw) if task_raw is not None else None,
        task_raw=task_raw,
        steps=moved_json(data.steps),
        actions=moved_json(data.actions),
        rows=moved_json(data.rows),
        blobs=blobs,
    )


def _content_type(kind: str, uri: str) -> str:
    if kind in ("html_scrape", "html_action", "html"):
        return "text/html; charset=utf-8"
    if kind in TEXT_PLAIN_TYPES:
        return "text/plain; charset=utf-8"
    if kind.startswith("screenshot"):
        return "image/png"
    if kind in ("recording", "session_replay"):
        return "video/mp4" if uri.endswith(".mp4") else "video/webm"
    if kind == "download":
        return "application/octet-stream"
    return "application/json"


def _ranged(data: bytes, range_header: str | None, headers: dict[str, str]) -> _Response:
    headers = {**headers, "accept-ranges": "bytes"}
    span = _parse_range(range_header, len(data))
    if span == "unsatisfiable":
        return _Response(416, b"", {"content-range": f"bytes */{len(data)}"})
    if isinstance(span, tuple):
        start, end = span
        headers["content-range"] = f"bytes {start}-{end}/{len(data)}"
        return _Response(206, data[start : end + 1], headers)
    return _Response(200, data, headers)


def _seconds_between(start: Any, end: Any) -> float | None:
    try:
        return round((datetime.fromisoformat(str(end)) - datetime.fromisoformat(str(start))).total_seconds(), 3)
    except ValueError:
        return None


def _synth_task(run: dict[str, Any], task_id: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    """A plausible GET /api/v1/tasks/{id} body for a folder without task.json."""
    request = run.get("run_request") or {}
    return {
        "request": {
            "title": request.get("title"),
            "url": request.get("url"),
            "webhook_callback_url": None,
            "totp_verification_url": None,
            "totp_identifier": None,
            "navigation_goal": request.get("prompt"),
            "data_extraction_goal": None,
            "navigation_payload": None,
            "error_code_mapping": request.get("error_code_mapping"),
            "proxy_location": request.get("proxy_location"),
            "extracted_information_schema": request.get("data_extraction_schema"),
            "complete_criterion": None,
            "terminate_criterion": None,
            "task_type": "general",
            "application": None,
        },
        "task_id": task_id,
        "status": run.get("status"),
        "created_at": run.get("created_at"),
        "modified_at": run.get("modified_at"),
        "queued_at": run.get("queued_at"),
        "started_at": run.get("started_at"),
        "finished_at": run.get("finished_at"),
        "extracted_information": run.get("output"),
        "action_screenshot_urls": run.get("screenshot_urls"),
        "screenshot_url": None,
        "recording_url": run.get("recording_url"),
        "recording_archived": bool(run.get("recording_archived")),
        "browser_console_log_url": None,
        "downloaded_files": run.get("downloaded_files") or [],
        "downloaded_file_urls": None,
        "failure_reason": run.get("failure_reason"),
        "failure_category": None,
        "webhook_failure_reason": None,
        "errors": run.get("errors") or [],
        "max_steps_per_run": request.get("max_steps"),
        "workflow_run_id": None,
        "max_screenshot_scrolls": run.get("max_screenshot_scrolls"),
        "step_count": run.get("step_count", len(steps)),
        "browser_session_id": run.get("browser_session_id"),
    }


def _run_type(folder: Path) -> str:
    """A recorded run's type (workflow and task v2 recordings are not served from their folder)."""
    try:
        return str(json.loads((folder / "run.json").read_bytes()).get("run_type") or "task_v1")
    except (OSError, ValueError):
        return "task_v1"


def default_server(**kwargs: Any) -> SkyvernTestServer:
    """An unstarted server holding the standard test set (what the ``skyvern_server`` fixture serves):

    - the real task runs (fixtures/real/*, task_v1) in local mode;
    - the generated runs (fixtures/runs/*): site_500_submit in unbundled_s3 mode,
      bundled_step_archive in bundled mode, the others local;
    - ``DEFAULT_WR_ID``: a workflow run of two task blocks (site_500_submit, then success);
    - ``DEFAULT_TASK_V2_ID``: a task_v2 run backed by that workflow run.

    ``server.names`` maps "real/<name>", "runs/<name>", "wr" and "task_v2" to run ids.
    """
    server = SkyvernTestServer(**kwargs)
    for folder in sorted((FIXTURES / "real").iterdir()):
        if (folder / "run.json").is_file() and _run_type(folder) == "task_v1":
            server.add_run_folder(folder, mode="local")
    special = {"site_500_submit": "unbundled_s3", "bundled_step_archive": "bundled"}
    for folder in sorted((FIXTURES / "runs").iterdir()):
        if (folder / "run.json").is_file():
            server.add_run_folder(folder, mode=special.get(folder.name, "local"))
    server.add_workflow_run(
        DEFAULT_WR_ID,
        [FIXTURES / "runs" / "site_500_submit", FIXTURES / "runs" / "success"],
        labels=["checkout", "order"],
    )
    server.add_task_v2(DEFAULT_TASK_V2_ID, DEFAULT_WR_ID)
    return server

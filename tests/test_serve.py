"""``debugkit serve`` end to end: a real server process on 127.0.0.1, real signed deliveries over HTTP, the
runs fetched from the Skyvern test server (``tests/skyvern_server.py``).

Each test starts ``debugkit serve --port 0`` as a subprocess, reads the address from its first line,
and posts deliveries the way Skyvern does (the test server's ``webhook_body`` / ``webhook_headers``).
Waits poll ``/runs.json`` until a run reaches a state (a deadline only ends a hang); no elapsed time is checked.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from skyvern_server import SkyvernTestServer

from debugkit.serve.payload import BadPayload, parse_delivery
from debugkit.serve.signature import sign, signature_ok, timestamp_problem

ROOT = Path(__file__).resolve().parent.parent
DEADLINE_S = 180.0  # generous: the machine may be busy; a healthy triage takes seconds
FIRST_LINE = "debugkit serve: listening on http://127.0.0.1:"


class Serve:
    """One ``debugkit serve`` process: its address, its output, and helpers to deliver and wait."""

    def __init__(self, server: SkyvernTestServer, out: Path, cache: Path, *extra: str) -> None:
        self.server = server
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SKYVERN_", "DEBUGKIT_"))}
        env.update(SKYVERN_API_KEY=server.api_key, SKYVERN_BASE_URL=server.base_url, DEBUGKIT_CACHE_DIR=str(cache))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "debugkit", "serve", "--port", "0", "--out", str(out), "--no-render", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
        )
        self.lines: list[str] = []
        self.errors: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.lines), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self.errors), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        self.url = self._address()
        self.http = httpx.Client(base_url=self.url, timeout=30)

    @staticmethod
    def _read(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))

    def _address(self) -> str:
        deadline = time.monotonic() + 60
        while not self.lines:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"debugkit serve did not start: {self.errors}")
            time.sleep(0.05)
        first = self.lines[0]
        assert first.startswith(FIRST_LINE), first
        return first.rsplit(" ", 1)[1]

    def deliver(self, run_id: str, *, status: str | None = None, **headers: Any) -> httpx.Response:
        body = self.server.webhook_body(run_id, status=status)
        return self.post(body, self.server.webhook_headers(body, **headers))

    def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return self.http.post("/skyvern/webhook", content=body, headers=headers)

    def runs(self) -> dict[str, dict[str, Any]]:
        doc = self.http.get("/runs.json").json()
        assert doc["schema"] == "debugkit.serve-runs/1"
        return {run["run_id"]: run for run in doc["runs"]}

    def wait_done(self, run_id: str) -> dict[str, Any]:
        """The run's entry once its triage is over (triaged or failed), polling with a deadline."""
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            run = self.runs().get(run_id)
            if run is not None and run["state"] in ("triaged", "failed"):
                return run
            time.sleep(0.2)
        raise AssertionError(f"{run_id} was not triaged in time: {self.runs().get(run_id)}; log {self.lines}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        for reader in self._readers:
            reader.join(timeout=5)
        if hasattr(self, "http"):
            self.http.close()
        return code

    def output(self) -> str:
        return "\n".join(self.lines + self.errors)


@pytest.fixture
def start(skyvern_server: SkyvernTestServer, tmp_path: Path) -> Iterator[Any]:
    """``start(*extra_args, out=None)`` starts a server (stopped after the test); the same ``out`` folder
    is used unless another is given, so a second start is a restart."""
    started: list[Serve] = []
    default_out = tmp_path / "out"

    def make(*extra: str, out: Path | None = None) -> Serve:
        serve = Serve(skyvern_server, out or default_out, tmp_path / "cache", *extra)
        started.append(serve)
        return serve

    yield make
    for serve in started:
        serve.stop(signal.SIGKILL if serve.process.poll() is None else signal.SIGTERM)


def run_fetches(server: SkyvernTestServer, run_id: str) -> int:
    """How many times the run itself (``GET /v1/runs/{run_id}``: the start of every fetch) was asked for."""
    return sum(1 for r in server.records(f"/v1/runs/{run_id}") if r.path.rstrip("/") == f"/v1/runs/{run_id}")


def assert_no_key(server: SkyvernTestServer, *places: Path | str) -> None:
    for place in places:
        if isinstance(place, Path):
            for path in [place] if place.is_file() else [p for p in place.rglob("*") if p.is_file()]:
                assert server.api_key.encode() not in path.read_bytes(), path
        else:
            assert server.api_key not in place


# --- end to end -----------------------------------------------------------------------------------


def test_a_signed_delivery_of_a_failed_run_is_triaged(start, skyvern_server: SkyvernTestServer, tmp_path: Path):
    serve = start()
    run_id = skyvern_server.names["runs/site_500_submit"]
    answer = serve.deliver(run_id)
    assert answer.status_code == 202 and answer.json() == {"outcome": "queued", "run_id": run_id}
    run = serve.wait_done(run_id)
    assert run["state"] == "triaged", run
    assert run["cause"] == "site_server_error" and run["category"] == "WEBSITE_ERROR" and run["summary"]
    folder = tmp_path / "out" / run_id
    assert sorted(run["files"]) == ["report.html", "ticket.zip", "triage.json"]
    doc = json.loads((folder / "triage.json").read_text())
    assert doc["schema"] == "debugkit.triage/1" and doc["verdict"]["cause"] == "site_server_error"
    assert (folder / "report.html").read_bytes().startswith(b"<!DOCTYPE html>")
    manifest = json.loads(zipfile.ZipFile(folder / "ticket.zip").read("manifest.json"))
    assert manifest["run_id"] == run_id and manifest["redaction"]["enabled"] is True
    # the index and the files, over HTTP
    page = serve.http.get("/")
    assert page.status_code == 200 and "default-src 'none'" in page.headers["content-security-policy"]
    assert run_id in page.text and "site_server_error" in page.text and f"runs/{run_id}/report.html" in page.text
    report = serve.http.get(f"/runs/{run_id}/report.html")
    assert report.status_code == 200 and report.content == (folder / "report.html").read_bytes()
    assert serve.http.get(f"/runs/{run_id}/ticket.zip").headers["content-disposition"].startswith("attachment")
    assert serve.http.get(f"/runs/{run_id}/state.json").status_code == 404  # only the three outputs
    assert serve.http.get("/runs/..%2F..%2Fetc/passwd").status_code == 404
    assert serve.stop() == 0
    assert any(f"delivery 202 queued {run_id} failed from 127.0.0.1" in line for line in serve.lines), serve.lines
    assert any(line.endswith(f"triaged {run_id}: site_server_error (WEBSITE_ERROR)") for line in serve.lines)
    assert_no_key(skyvern_server, tmp_path / "out", serve.output())


def test_a_bad_signature_is_401_and_nothing_is_written(start, skyvern_server: SkyvernTestServer, tmp_path: Path):
    serve = start()
    run_id = skyvern_server.names["runs/site_500_submit"]
    body = skyvern_server.webhook_body(run_id)
    good = skyvern_server.webhook_headers(body)
    tries = {
        "wrong key": skyvern_server.webhook_headers(body, api_key="sk-someone-else"),
        "no signature": {k: v for k, v in good.items() if k != "x-skyvern-signature"},
        "another body": skyvern_server.webhook_headers(body + b" "),
        "old": skyvern_server.webhook_headers(body, timestamp=time.time() - 3600),
        "no timestamp": {k: v for k, v in good.items() if k != "x-skyvern-timestamp"},
    }
    for name, headers in tries.items():
        answer = serve.post(body, headers)
        assert answer.status_code == 401, (name, answer.text)
    assert serve.runs() == {}
    assert not (tmp_path / "out" / run_id).exists()
    assert skyvern_server.count(f"/v1/runs/{run_id}") == 0  # nothing was fetched
    assert serve.stop() == 0
    refused = [line for line in serve.lines if "delivery 401 refused" in line]
    assert len(refused) == len(tries)
    assert_no_key(skyvern_server, serve.output())
    assert body.decode() not in serve.output()  # the body is never logged


def test_a_redelivery_is_triaged_once(start, skyvern_server: SkyvernTestServer, tmp_path: Path):
    serve = start()
    run_id = skyvern_server.names["runs/login_401"]
    first = serve.deliver(run_id)
    again = serve.deliver(run_id)  # Skyvern's retry while the first is still being worked on
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["outcome"] == "duplicate"
    serve.wait_done(run_id)
    late = serve.deliver(run_id)  # a replay after it was triaged
    assert late.status_code == 200 and late.json() == {"outcome": "duplicate", "run_id": run_id, "state": "triaged"}
    assert serve.runs()[run_id]["deliveries"] == 3
    assert run_fetches(skyvern_server, run_id) == 1  # fetched once
    other = serve.deliver(run_id, status="completed")
    assert other.status_code == 200 and other.json()["outcome"] == "ignored"


def test_a_run_that_fails_to_fetch_is_listed_with_its_error(start, skyvern_server: SkyvernTestServer, tmp_path: Path):
    serve = start()
    missing = "tsk_599999999999999999"  # the server has no such run: 404
    assert serve.deliver(missing).status_code == 202
    run = serve.wait_done(missing)
    assert run["state"] == "failed" and run["files"] == [] and run["cause"] is None
    assert run["error"].startswith("fetch failed: ") and missing in run["error"]
    page = serve.http.get("/").text
    assert missing in page and "fetch failed" in page
    assert not (tmp_path / "out" / missing / "report.html").exists()
    assert any(f"not triaged {missing}: fetch failed" in line for line in serve.lines)


def test_a_restart_keeps_what_was_done(start, skyvern_server: SkyvernTestServer, tmp_path: Path):
    first = start()
    run_id = skyvern_server.names["runs/disabled_element"]
    assert first.deliver(run_id).status_code == 202
    done = first.wait_done(run_id)
    assert first.stop(signal.SIGINT) == 0  # Ctrl-C: a graceful stop too
    skyvern_server.reset_log()

    second = start()
    assert second.runs()[run_id] == done  # listed again, as it was
    assert run_id in second.http.get("/").text
    answer = second.deliver(run_id)
    assert answer.status_code == 200 and answer.json()["outcome"] == "duplicate"
    assert skyvern_server.count() == 0  # nothing fetched again
    assert second.stop() == 0


def test_a_full_queue_is_503_and_unfinished_runs_resume_after_a_restart(
    start, skyvern_server: SkyvernTestServer, tmp_path: Path
):
    """One worker, room for one waiting run: the worker hangs on a run the API never answers, the next
    run waits, the third is refused with 503 (Skyvern delivers it again). After a restart the two
    accepted runs are triaged."""
    stuck = skyvern_server.names["runs/site_500_submit"]
    waiting = skyvern_server.names["runs/login_401"]
    refused = skyvern_server.names["runs/disabled_element"]
    skyvern_server.faults.never_answer = True
    skyvern_server.faults.fault_path_prefix = f"/v1/runs/{stuck}"
    serve = start("--workers", "1", "--queue", "1")
    assert serve.deliver(stuck).status_code == 202
    deadline = time.monotonic() + DEADLINE_S
    while serve.runs()[stuck]["state"] != "running":  # the worker took it (and hangs)
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert serve.deliver(waiting).status_code == 202
    full = serve.deliver(refused)
    assert full.status_code == 503 and full.headers["retry-after"]
    assert refused not in serve.runs()
    assert serve.stop() == 0
    assert any("taken up at the next start" in line for line in serve.lines), serve.lines

    skyvern_server.faults.never_answer = False
    again = start("--workers", "1", "--queue", "1")
    done = again.wait_done(stuck)
    assert done["state"] == "triaged", str(done)
    assert again.wait_done(waiting)["state"] == "triaged"
    assert again.deliver(refused).status_code == 202  # Skyvern's next delivery is taken


def test_deliveries_that_are_not_runs(start, skyvern_server: SkyvernTestServer, tmp_path: Path):
    serve = start("--max-body", "4096")
    too_big = b"{" + b" " * 5000 + b"}"
    assert serve.post(too_big, skyvern_server.webhook_headers(too_big)).status_code == 413
    for body in (b"not json", b"[1, 2]", b'{"status": "failed"}', b'{"run_id": "../../etc", "status": "failed"}'):
        answer = serve.post(body, skyvern_server.webhook_headers(body))
        assert answer.status_code == 400, (body, answer.text)
    completed = skyvern_server.names["real/success"]
    assert serve.deliver(completed).json()["outcome"] == "ignored"
    assert serve.http.get("/skyvern/webhook").status_code == 405
    assert serve.runs() == {} and [p.name for p in (tmp_path / "out").iterdir()] == []


def test_usage_errors_are_one_line(tmp_path: Path, skyvern_server: SkyvernTestServer):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SKYVERN_", "DEBUGKIT_"))}
    done = subprocess.run(
        [sys.executable, "-m", "debugkit", "serve", "--port", "0", "--out", str(tmp_path / "o")],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert done.returncode == 2 and "SKYVERN_API_KEY" in done.stderr and "Traceback" not in done.stderr
    env["SKYVERN_API_KEY"] = skyvern_server.api_key
    done = subprocess.run(
        [sys.executable, "-m", "debugkit", "serve", "--port", "0", "--out", str(tmp_path / "no" / "such")],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert done.returncode == 2 and "does not exist" in done.stderr and done.stdout == ""
    busy = skyvern_server.base_url.rsplit(":", 1)[1]  # a port already taken
    done = subprocess.run(
        [sys.executable, "-m", "debugkit", "serve", "--port", busy, "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert done.returncode == 2 and "cannot listen on 127.0.0.1" in done.stderr


# --- the pieces -----------------------------------------------------------------------------------


def test_signature_is_over_the_raw_bytes():
    body = b'{"run_id":"tsk_1","status":"failed","cost":3}'
    key = "sk-test"
    assert signature_ok(body, sign(body, key), key)
    assert signature_ok(body, sign(body, key).upper(), key)
    assert not signature_ok(body.replace(b":3", b":3.0"), sign(body, key), key)  # re-serialised: another body
    assert not signature_ok(body, sign(body, "other"), key)
    assert not signature_ok(body, None, key) and not signature_ok(body, "", key) and not signature_ok(body, "zz", key)
    assert not signature_ok(body, "é" * 64, key)


def test_timestamps_too_far_from_now_are_refused():
    now = 1_800_000_000.0
    assert timestamp_problem(str(int(now - 10)), now, 300) is None
    assert "old" in (timestamp_problem(str(int(now - 301)), now, 300) or "")
    assert "future" in (timestamp_problem(str(int(now + 301)), now, 300) or "")
    for bad in (None, "", "soon", "nan", "inf"):
        assert timestamp_problem(bad, now, 300) is not None


def test_payload_shapes_skyvern_sends():
    run = parse_delivery(b'{"run_id":"wr_123","run_type":"workflow_run","status":"terminated"}')
    assert (run.run_id, run.status, run.failed) == ("wr_123", "terminated", True)
    task = parse_delivery(b'{"task_id":"tsk_9","status":"timed_out","extracted_information":null}')  # older servers
    assert task.key == ("tsk_9", "timed_out") and task.failed
    workflow = parse_delivery(b'{"workflow_run_id":"wr_7","workflow_id":"wpid_1","status":"completed"}')
    assert workflow.run_id == "wr_7" and not workflow.failed
    bad = (b"{}", b'{"run_id": 5, "status": "failed"}', b'{"run_id": "tsk_1"}', b'{"run_id": "tsk_1/x", "status": "x"}')
    for body in bad:
        with pytest.raises(BadPayload):
            parse_delivery(body)


def test_the_index_escapes_what_runs_say():
    from debugkit.serve.page import index_csp, render_index, runs_document
    from debugkit.serve.store import Entry

    payload = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
    entry = Entry(
        run_id="tsk_1", skyvern_status="failed", state="triaged", received_at="2026-05-02T09:00:00+00:00",
        cause="site_server_error", category="WEBSITE_ERROR", summary=payload, files=["report.html"],
        notes=[payload],
    )
    page = render_index([entry])
    assert "<script" not in page and "<img" not in page and "&lt;script&gt;" in page
    assert 'href="runs/tsk_1/report.html"' in page
    css_hash = index_csp().split("style-src '", 1)[1].split("'", 1)[0]
    assert css_hash.startswith("sha256-") and "script-src" not in index_csp()
    assert runs_document([entry])["runs"][0]["links"] == {"report.html": "runs/tsk_1/report.html"}

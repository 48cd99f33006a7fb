"""``debugkit fetch`` and ``debugkit triage RUN_ID`` against a real HTTP server on 127.0.0.1.

The server (tests/skyvern_server.py) speaks Skyvern's routes, storage modes and failure modes;
these tests run the ``debugkit`` command itself, as a user would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from skyvern_server import DEFAULT_TASK_V2_ID, DEFAULT_WR_ID, FIXTURES, SkyvernTestServer
from triaged import document

from debugkit.api.fetch import DEFAULT_TYPES

RUN_500 = "runs/site_500_submit"


def cli(server: SkyvernTestServer | None, *args: str, key: str | None = "server", timeout: float = 120,
        env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SKYVERN_", "DEBUGKIT_"))}
    if server is not None:
        environ["SKYVERN_BASE_URL"] = server.base_url
        if key == "server":
            environ["SKYVERN_API_KEY"] = server.api_key
        elif key is not None:
            environ["SKYVERN_API_KEY"] = key
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "debugkit", *args], capture_output=True, text=True, timeout=timeout, env=environ,
        cwd=cwd,
    )


def verdict_of(folder: Path) -> dict:
    return document(folder)


def files_of(folder: Path) -> dict[str, Path]:
    return {p.name.split("__", 1)[0]: p for p in (folder / "files").iterdir()}


def same_story(fetched: dict, original: dict) -> None:
    assert fetched["verdict"]["category"] == original["verdict"]["category"]
    assert fetched["verdict"]["rule"] == original["verdict"]["rule"]
    assert fetched["failing_action"] == original["failing_action"]
    assert [s["step_id"] for s in fetched["steps"]] == [s["step_id"] for s in original["steps"]]
    assert fetched["network_failures"] == original["network_failures"]
    assert fetched["problems"] == [] and fetched["missing_artifacts"] == []


def assert_no_key_anywhere(server: SkyvernTestServer, folder: Path, *outputs: str) -> None:
    for text in outputs:
        assert server.api_key not in text
    for path in folder.rglob("*"):
        if path.is_file():
            assert server.api_key.encode() not in path.read_bytes(), path


# --- storage modes and run kinds ---------------------------------------------------------------


def test_fetch_a_real_run_in_local_mode(skyvern_server: SkyvernTestServer, tmp_path: Path):
    run_id = skyvern_server.names["real/checkout_500"]
    out = tmp_path / "run"
    done = cli(skyvern_server, "fetch", run_id, "-o", str(out))
    assert done.returncode == 0, done.stderr
    for name in ("run.json", "task.json", "steps.json", "actions.json", "artifacts.json", "debugkit-fetch.json"):
        assert (out / name).is_file(), name
    # every downloaded file holds exactly the server's bytes
    files = files_of(out)
    rows = json.loads((out / "artifacts.json").read_text())
    assert set(files) == {r["artifact_id"] for r in rows if r["artifact_type"] in DEFAULT_TYPES}
    for artifact_id, path in files.items():
        assert path.read_bytes() == skyvern_server.expected_content(artifact_id), path.name
    # local mode: signed_url is file://, so every byte came through /content with the key
    content = skyvern_server.records("/v1/artifacts/")
    assert content and all(r.has_api_key for r in content)
    same_story(verdict_of(out), verdict_of(FIXTURES / "real" / "checkout_500"))
    assert_no_key_anywhere(skyvern_server, out, done.stdout, done.stderr)


def test_unbundled_s3_mode_decompresses_the_har_and_sends_no_key_to_storage(skyvern_server, tmp_path):
    out = tmp_path / "run"
    done = cli(skyvern_server, "fetch", skyvern_server.names[RUN_500], "-o", str(out))
    assert done.returncode == 0, done.stderr
    storage = skyvern_server.records("/s3/")
    assert storage, "signed storage URLs should be used"
    assert not any(r.has_api_key for r in storage)
    har = next(p for p in (out / "files").iterdir() if "__har__" in p.name)
    assert not har.name.endswith(".zst")
    assert json.loads(har.read_bytes())["log"]["entries"]
    same_story(verdict_of(out), verdict_of(FIXTURES / RUN_500))


def test_bundled_mode_downloads_each_archive_once(skyvern_server: SkyvernTestServer, tmp_path: Path):
    out = tmp_path / "run"
    done = cli(skyvern_server, "fetch", skyvern_server.names["runs/bundled_step_archive"], "-o", str(out))
    assert done.returncode == 0, done.stderr
    rows = json.loads((out / "artifacts.json").read_text())
    archives = [r for r in rows if r["artifact_type"] in ("step_archive", "task_archive")]
    fetched = [r for r in skyvern_server.log if r.path.startswith("/v1/artifacts/") and r.path.endswith("/content")]
    assert len(fetched) == len(archives) + 1  # the archives, plus the standalone screenshot_final
    assert {p.name.split("__")[1] for p in (out / "files").iterdir()} == {"step_archive", "task_archive",
                                                                          "screenshot_final"}
    same_story(verdict_of(out), verdict_of(FIXTURES / "runs" / "bundled_step_archive"))


def test_workflow_run_with_two_task_blocks(skyvern_server: SkyvernTestServer, tmp_path: Path):
    out = tmp_path / "wr"
    done = cli(skyvern_server, "fetch", DEFAULT_WR_ID, "-o", str(out))
    assert done.returncode == 0, done.stderr
    tasks = json.loads((out / "tasks.json").read_text())
    assert len(tasks) == 2
    steps = json.loads((out / "steps.json").read_text())
    assert len({s["task_id"] for s in steps}) == 2
    doc = verdict_of(out)
    assert doc["run"]["run_id"] == DEFAULT_WR_ID
    assert doc["verdict"]["cause"] == "site_server_error"  # the checkout block's 500s
    assert doc["problems"] == [] and doc["missing_artifacts"] == []


def test_task_v2_reads_its_workflow_runs_artifacts(skyvern_server: SkyvernTestServer, tmp_path: Path):
    out = tmp_path / "v2"
    done = cli(skyvern_server, "fetch", DEFAULT_TASK_V2_ID, "-o", str(out), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["downloaded"] > 0
    assert any(DEFAULT_WR_ID in note for note in summary["notes"])
    assert skyvern_server.count(f"/v1/runs/{DEFAULT_WR_ID}/artifacts") == 1


def test_step_option_fetches_one_step_plus_the_run_level_files(skyvern_server, tmp_path):
    out = tmp_path / "one"
    done = cli(skyvern_server, "fetch", skyvern_server.names["real/checkout_500"], "-o", str(out), "--step", "1")
    assert done.returncode == 0, done.stderr
    rows = {r["artifact_id"]: r for r in json.loads((out / "artifacts.json").read_text())}
    steps = json.loads((out / "steps.json").read_text())
    step1 = next(s["step_id"] for s in steps if s["order"] == 1)
    kinds = set()
    for artifact_id in files_of(out):
        row = rows[artifact_id]
        kinds.add(row["artifact_type"])
        assert row["step_id"] == step1 or row["artifact_type"] in ("har", "browser_console_log", "screenshot_final")
    assert {"har", "browser_console_log", "visible_elements_tree"} <= kinds
    focused = cli(None, "triage", str(out), "--step", "1", "--json")
    doc = json.loads(focused.stdout)
    assert len(doc["network_failures"]) == 1 and doc["network_failures"][0]["status"] == 500


# --- triage RUN_ID and the cache ----------------------------------------------------------------


def test_triage_by_run_id_then_from_the_cache_without_requests(skyvern_server, tmp_path):
    run_id = skyvern_server.names["real/hallucinated_element"]
    cache = tmp_path / "cache"
    first = cli(skyvern_server, "triage", run_id, "--json", "--cache-dir", str(cache))
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert doc["verdict"]["cause"] == "element_missing"
    assert doc["failing_action"]["element_id"] == "xQ7z"
    skyvern_server.reset_log()
    second = cli(skyvern_server, "triage", run_id, "--json", "--cache-dir", str(cache))
    assert second.returncode == 0
    assert json.loads(second.stdout)["verdict"] == doc["verdict"]
    assert skyvern_server.log == []  # the local copy was used: not a single request
    folder = next(cache.glob(f"runs/*/{run_id}"))
    assert_no_key_anywhere(skyvern_server, folder, first.stdout, first.stderr)


def test_interrupted_fetch_resumes_with_only_what_is_missing(skyvern_server, tmp_path):
    run_id = skyvern_server.names["real/checkout_500"]
    out = tmp_path / "run"
    skyvern_server.faults.latency_seconds = 0.05
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SKYVERN_")}
    environ.update(SKYVERN_BASE_URL=skyvern_server.base_url, SKYVERN_API_KEY=skyvern_server.api_key)
    proc = subprocess.Popen(
        [sys.executable, "-m", "debugkit", "fetch", run_id, "-o", str(out), "--concurrency", "2", "--quiet"],
        env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(list((out / "files").glob("a_*"))) < 10:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    partial = {p.name for p in (out / "files").glob("a_*")}
    assert 10 <= len(partial) < 60, "the fetch should have been cut off midway"
    for path in (out / "files").glob("a_*"):  # whatever has its final name is complete
        assert path.read_bytes() == skyvern_server.expected_content(path.name.split("__")[0])
    skyvern_server.faults.latency_seconds = 0
    skyvern_server.reset_log()
    done = cli(skyvern_server, "fetch", run_id, "-o", str(out), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["cached"] == len(partial)
    content_requests = [r for r in skyvern_server.log if r.path.endswith("/content")]
    assert len(content_requests) == summary["downloaded"]
    assert not list((out / "files").glob(".*.part"))
    same_story(verdict_of(out), verdict_of(FIXTURES / "real" / "checkout_500"))


def test_refresh_downloads_again(skyvern_server: SkyvernTestServer, tmp_path: Path):
    run_id = skyvern_server.names["real/success"]
    out = tmp_path / "run"
    assert cli(skyvern_server, "fetch", run_id, "-o", str(out), "--quiet").returncode == 0
    skyvern_server.reset_log()
    summary = json.loads(cli(skyvern_server, "fetch", run_id, "-o", str(out), "--refresh", "--json").stdout)
    assert summary["cached"] == 0 and summary["downloaded"] > 0


# --- faults ---------------------------------------------------------------------------------------


def test_rate_limit_waits_as_retry_after_says(skyvern_server: SkyvernTestServer, tmp_path: Path):
    skyvern_server.faults.rate_limit_first_n = 2
    skyvern_server.faults.retry_after_seconds = 1
    started = time.monotonic()
    done = cli(skyvern_server, "fetch", skyvern_server.names["real/success"], "-o", str(tmp_path / "r"), "--quiet")
    assert done.returncode == 0, done.stderr
    assert skyvern_server.faults.fired.get("rate_limit", 0) == 2
    assert time.monotonic() - started >= 1.0  # it waited instead of hammering
    same_story(verdict_of(tmp_path / "r"), verdict_of(FIXTURES / "real" / "success"))


@pytest.mark.parametrize(
    "switch", ["server_error_first_n", "drop_connection_first_n", "truncate_body_first_n"]
)
def test_transient_faults_are_retried(skyvern_server: SkyvernTestServer, tmp_path: Path, switch: str):
    setattr(skyvern_server.faults, switch, 3)
    skyvern_server.faults.fault_path_prefix = "/v1/artifacts/"
    out = tmp_path / "r"
    done = cli(skyvern_server, "fetch", skyvern_server.names["real/checkout_500"], "-o", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    assert sum(skyvern_server.faults.fired.values()) == 3
    same_story(verdict_of(out), verdict_of(FIXTURES / "real" / "checkout_500"))


def test_expired_signed_urls_are_minted_again(skyvern_server: SkyvernTestServer, tmp_path: Path):
    skyvern_server.faults.expire_signed_urls_first_n = 1  # the artifact list's URLs are all expired
    out = tmp_path / "r"
    done = cli(skyvern_server, "fetch", skyvern_server.names[RUN_500], "-o", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    refused = [r for r in skyvern_server.records("/s3/") if r.status == 403]
    assert refused, "the stale URLs should have been tried and refused"
    fresh = [r for r in skyvern_server.log if r.path.startswith("/v1/artifacts/") and r.path.count("/") == 3]
    assert fresh, "fresh URLs should come from GET /v1/artifacts/{id}"
    same_story(verdict_of(out), verdict_of(FIXTURES / RUN_500))


def test_an_artifact_truncated_every_time_is_reported_damaged(make_skyvern_server, tmp_path: Path):
    server = make_skyvern_server([FIXTURES / "real" / "success"])
    server.faults.truncate_body_first_n = 1000
    server.faults.fault_path_prefix = "/v1/artifacts/"
    out = tmp_path / "r"
    done = cli(server, "fetch", server.names["real/success"], "-o", str(out), "--json", timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["unavailable"] and all(u["status"] == "damaged" for u in summary["unavailable"])
    assert all("cut short" in u["reason"] or "dropped" in u["reason"] for u in summary["unavailable"])
    doc = verdict_of(out)  # the triage still runs and names what is damaged
    assert any(p["kind"] == "damaged" for p in doc["problems"])


def test_a_dead_server_ends_in_a_clear_error_not_a_hang(skyvern_server: SkyvernTestServer, tmp_path: Path):
    skyvern_server.faults.always_5xx = True
    started = time.monotonic()
    done = cli(skyvern_server, "fetch", skyvern_server.names["real/success"], "-o", str(tmp_path / "r"))
    assert done.returncode == 3
    assert time.monotonic() - started < 30
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "kept failing" in lines[0] and "Traceback" not in done.stderr


def test_nothing_listening_is_a_clear_error(tmp_path: Path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = cli(None, "fetch", "tsk_1", "-o", str(tmp_path / "r"),
               env={"SKYVERN_BASE_URL": f"http://127.0.0.1:{port}", "SKYVERN_API_KEY": "k"})
    assert done.returncode == 3
    assert "could not connect" in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_missing_or_wrong_key_is_one_line_naming_the_variable(skyvern_server, tmp_path, key):
    done = cli(skyvern_server, "triage", skyvern_server.names["real/success"], key=key,
               env={"DEBUGKIT_CACHE_DIR": str(tmp_path)})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "SKYVERN_API_KEY" in lines[0]
    assert "wrong-key" not in done.stderr


def test_unknown_run_is_one_line_naming_it(skyvern_server: SkyvernTestServer, tmp_path: Path):
    done = cli(skyvern_server, "fetch", "tsk_404404404", "-o", str(tmp_path / "r"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "tsk_404404404" in lines[0] and "not found" in lines[0]


def test_archived_artifacts_are_reported_missing_with_the_reason(skyvern_server, tmp_path):
    run_id = skyvern_server.names["real/checkout_500"]
    rows = skyvern_server_rows(skyvern_server, run_id)
    scrape = next(r["artifact_id"] for r in rows if r["artifact_type"] == "html_scrape")
    skyvern_server.archive(scrape)
    out = tmp_path / "run"
    summary = json.loads(cli(skyvern_server, "fetch", run_id, "-o", str(out), "--json").stdout)
    assert [(u["artifact_id"], u["status"]) for u in summary["unavailable"]] == [(scrape, "archived")]
    assert not skyvern_server.records(f"/v1/artifacts/{scrape}/content")  # not even tried
    doc = verdict_of(out)
    missing = [m for m in doc["missing_artifacts"] if m["artifact_type"] == "html_scrape"]
    assert missing and "cold storage" in missing[0]["reason"]
    assert doc["verdict"]["cause"] == "site_server_error"


def _listings(server: SkyvernTestServer, run_id: str) -> int:
    return sum(1 for r in server.log if r.path == f"/v1/runs/{run_id}/artifacts")


def test_triage_right_after_the_end_waits_for_the_late_har(make_skyvern_server, tmp_path):
    server = make_skyvern_server([FIXTURES / "real" / "checkout_500"])
    server.faults.late_network_seconds = 2.0  # the HAR and console rows appear 2 s after the end
    run_id = server.names["real/checkout_500"]
    env = {"DEBUGKIT_CACHE_DIR": str(tmp_path / "cache")}
    done = cli(server, "triage", run_id, "--no-render", env=env)
    assert done.returncode == 0, done.stderr
    assert "waiting up to" in done.stderr and "--no-wait" in done.stderr  # the user sees why it waits
    assert "Cause  site_server_error" in done.stdout
    assert _listings(server, run_id) >= 2  # it asked again until the rows were there
    doc = json.loads(cli(server, "triage", run_id, "--json", env=env).stdout)  # from the cache now
    verdict = doc["verdict"]
    assert verdict["cause"] == "site_server_error" and verdict["missing_evidence"] == []
    assert verdict["chain"][0]["kind"] == "request" and "HTTP 500" in verdict["chain"][0]["detail"]


def test_no_wait_judges_without_the_har_and_the_next_call_completes_the_cache(make_skyvern_server, tmp_path):
    server = make_skyvern_server([FIXTURES / "real" / "checkout_500"])
    server.faults.late_network_seconds = 2.0
    run_id = server.names["real/checkout_500"]
    env = {"DEBUGKIT_CACHE_DIR": str(tmp_path / "cache")}
    first = json.loads(cli(server, "triage", run_id, "--json", "--no-wait", env=env).stdout)
    verdict = first["verdict"]
    # without a HAR the page's own words still name the cause, and the verdict says what it lacked
    assert verdict["cause"] == "site_server_error" and "har" in verdict["missing_evidence"]
    assert verdict["chain"][0]["kind"] == "page_text" and "Error 500" in verdict["chain"][0]["detail"]
    assert _listings(server, run_id) == 1
    deadline = time.monotonic() + 30
    while not any(r["artifact_type"] == "har" for r in skyvern_server_rows(server, run_id)):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    server.reset_log()
    second = json.loads(cli(server, "triage", run_id, "--json", "--no-wait", env=env).stdout)
    fetched = {r.path.split("/")[3] for r in server.log if r.path.endswith("/content")}
    rows = {r["artifact_id"]: r["artifact_type"] for r in skyvern_server_rows(server, run_id)}
    assert {rows[a] for a in fetched} == {"har", "browser_console_log"}  # only what was missing
    assert second["verdict"]["missing_evidence"] == []
    assert second["verdict"]["chain"][0]["kind"] == "request"


def test_fetch_waits_with_a_bound_and_says_what_is_still_missing(make_skyvern_server, tmp_path):
    server = make_skyvern_server([FIXTURES / "real" / "success"])
    server.faults.late_network_seconds = 3600  # they never come while we wait
    run_id = server.names["real/success"]
    out = tmp_path / "run"
    done = cli(server, "fetch", run_id, "-o", str(out), "--json", "--wait", "2")
    summary = json.loads(done.stdout)
    assert any("waited 2 s" in note and "not listed yet" in note for note in summary["notes"]), summary["notes"]
    manifest = json.loads((out / "debugkit-fetch.json").read_text())
    assert manifest["network_may_be_incomplete"] is True and manifest["complete"] is False


def skyvern_server_rows(server: SkyvernTestServer, run_id: str) -> list[dict]:
    import httpx

    return httpx.get(f"{server.base_url}/v1/runs/{run_id}/artifacts", headers={"x-api-key": server.api_key}).json()

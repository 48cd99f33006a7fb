"""The fake Skyvern server itself (tests/skyvern_server.py): routes, shapes, storage modes, faults."""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import time
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import zstandard
from skyvern_server import FIXTURES, SkyvernTestServer

REAL = FIXTURES / "real"
RUNS = FIXTURES / "runs"
SIG_URL = re.compile(
    r"^http://127\.0\.0\.1:\d+/v1/artifacts/(a_\d+)/content\?expiry=(\d+)&kid=k1&sig=([A-Za-z0-9_-]{43})$"
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fixture_files(folder: Path) -> dict[str, bytes]:
    files = folder / "files" if (folder / "files").is_dir() else folder / "artifact_files"
    return {p.name.split("__", 1)[0]: p.read_bytes() for p in files.iterdir()}


def client(server: SkyvernTestServer, key: bool = True) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, headers={"x-api-key": server.api_key} if key else {}, timeout=5)


def rows_of(server: SkyvernTestServer, run_id: str, **params: object) -> list[dict]:
    with client(server) as c:
        response = c.get(f"/v1/runs/{run_id}/artifacts", params=params)
    assert response.status_code == 200, response.text
    return response.json()


# --- basics --------------------------------------------------------------------------------------


def test_binds_to_loopback_only_and_stops():
    with pytest.raises(ValueError):
        SkyvernTestServer(host="0.0.0.0")
    server = SkyvernTestServer().start()
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.base_url)
        assert server.s3_base_url == server.base_url
        with client(server) as c:
            assert c.get("/v1/runs/tsk_1").status_code == 404
    finally:
        server.stop()
    assert not server.running
    with pytest.raises(httpx.TransportError):
        httpx.get(server.base_url + "/v1/runs/tsk_1", timeout=2)
    assert SkyvernTestServer().api_key != server.api_key


def test_auth_403_shape_and_log_never_holds_the_key(skyvern_server):
    server = skyvern_server
    run_id = server.names["real/success"]
    paths = [f"/v1/runs/{run_id}", f"/v1/runs/{run_id}/artifacts", f"/api/v1/tasks/{run_id}/steps", "/api/v1/tasks"]
    for key in (None, "wrong-key"):
        with httpx.Client(base_url=server.base_url, headers={"x-api-key": key} if key else {}) as c:
            for path in paths:
                response = c.get(path)
                assert response.status_code == 403
                assert response.json() == {"detail": "Invalid credentials"}
    with client(server) as c:
        assert c.get(paths[0]).status_code == 200
    records = server.records()
    assert [r.has_api_key for r in records] == [False] * 4 + [True] * 4 + [True]
    assert [r.status for r in records] == [403] * 8 + [200]
    assert server.api_key not in repr(records)


def test_404_and_other_error_shapes(skyvern_server):
    server = skyvern_server
    with client(server) as c:
        assert c.get("/v1/nothing/here").json() == {"detail": "Not Found"}
        assert httpx.get(server.base_url + "/v2/whatever").status_code == 404  # routing comes before auth
        response = c.get("/v1/runs/tsk_404")
        assert response.status_code == 404 and response.json() == {"detail": "Run not found tsk_404"}
        assert c.get("/v1/artifacts/a_1").json() == {"detail": "Artifact not found a_1"}
        assert c.get("/v1/artifacts/a_1/content").status_code == 404
        assert c.get("/api/v1/tasks/tsk_404").json() == {"detail": "Task tsk_404 not found"}
        response = c.get("/api/v1/tasks/tsk_404/steps")
        assert response.status_code == 200 and response.json() == []
        response = c.get("/v1/runs/tsk_1/artifacts", params={"artifact_type": "nope"})
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "artifact_type", 0]
        assert c.post(f"/v1/runs/{server.names['real/success']}").json() == {"detail": "Method Not Allowed"}
        run_id = server.names["real/success"]
        assert c.get(f"/v1/runs/{run_id}/").status_code == 200  # trailing slash
        assert c.get(f"/api/v1/tasks/{run_id}/steps/").status_code == 200


def test_unhandled_error_is_500_with_error_key(skyvern_server):
    server = skyvern_server

    def boom(*args):
        raise ZeroDivisionError

    server._route_run = boom
    with client(server) as c:
        response = c.get("/v1/runs/tsk_1")
    assert response.status_code == 500
    assert response.json() == {"error": "Unexpected error: ZeroDivisionError"}


# --- runs, tasks, real-run fidelity --------------------------------------------------------------


@pytest.mark.parametrize("name", ["success", "checkout_500", "hallucinated_element"])
def test_real_run_served_as_recorded(skyvern_server, name):
    server = skyvern_server
    folder = REAL / name
    run_id = server.names[f"real/{name}"]
    expected = json.loads((folder / "artifacts.json").read_text())
    rows = rows_of(server, run_id)
    assert [r["artifact_id"] for r in rows] == [r["artifact_id"] for r in expected]
    assert rows == expected  # local mode: signed_url is the file:// uri, nothing else changes
    assert all(r["signed_url"].startswith("file://") for r in rows)
    with client(server) as c:
        assert c.get(f"/v1/runs/{run_id}").content == (folder / "run.json").read_bytes()
        assert c.get(f"/api/v1/tasks/{run_id}").content == (folder / "task.json").read_bytes()
        assert c.get(f"/api/v1/tasks/{run_id}/steps").json() == json.loads((folder / "steps.json").read_text())
        assert c.get(f"/api/v1/tasks/{run_id}/actions").json() == json.loads((folder / "actions.json").read_text())
        response = c.get(f"/v1/runs/{run_id}/timeline")
        assert response.status_code == 400
        assert response.json() == {"detail": "Timeline not available for run type task_v1"}
        legacy = c.get(f"/api/v1/task/{run_id}/artifacts").json()  # the singular legacy route: newest first
        assert [r["artifact_id"] for r in legacy] == [
            r["artifact_id"] for r in sorted(expected, key=lambda r: r["created_at"], reverse=True)
        ]


def test_artifact_type_filter(skyvern_server):
    run_id = skyvern_server.names["real/checkout_500"]
    rows = rows_of(skyvern_server, run_id, artifact_type=["har", "screenshot_final"])
    assert sorted(r["artifact_type"] for r in rows) == ["har", "screenshot_final"]
    created = [r["created_at"] for r in rows]
    assert created == sorted(created)


def test_local_content_bytes_and_labels(skyvern_server):
    server = skyvern_server
    folder = REAL / "checkout_500"
    files = fixture_files(folder)
    rows = rows_of(server, server.names["real/checkout_500"])
    with client(server) as c:
        for row in rows:
            response = c.get(f"/v1/artifacts/{row['artifact_id']}/content")
            assert response.status_code == 200, row
            assert sha(response.content) == sha(files[row["artifact_id"]])
            kind = row["artifact_type"]
            label = response.headers["content-type"]
            if kind.startswith("html"):
                assert label.startswith("text/html")
            elif kind.startswith("screenshot"):
                assert label == "image/png"
            elif kind == "recording":
                assert label == "video/mp4"
            elif kind in ("llm_prompt", "browser_console_log", "skyvern_log", "visible_elements_tree_in_prompt"):
                assert label.startswith("text/plain")
            else:
                assert label == "application/json", kind  # HAR too: clients must sniff
        art = rows[5]["artifact_id"]
        response = c.get(f"/v1/artifacts/{art}/content", headers={"range": "bytes=0-3"})
        assert response.status_code == 206 and response.content == files[art][:4]
        assert response.headers["content-range"] == f"bytes 0-3/{len(files[art])}"
        response = c.get(f"/v1/artifacts/{art}/content", headers={"range": f"bytes={len(files[art])}-"})
        assert response.status_code == 416 and response.content == b""


def test_archived_row_has_no_content(skyvern_server):
    server = skyvern_server
    rows = rows_of(server, server.names["runs/success"])
    target = rows[0]["artifact_id"]
    server.archive(target)
    with client(server) as c:
        assert c.get(f"/v1/artifacts/{target}").json()["archived"] is True
        response = c.get(f"/v1/artifacts/{target}/content")
    assert response.status_code == 404 and "archived" in response.json()["detail"]


# --- storage modes -------------------------------------------------------------------------------


def test_unbundled_s3_mode(skyvern_server):
    server = skyvern_server
    files = fixture_files(RUNS / "site_500_submit")
    rows = rows_of(server, server.names["runs/site_500_submit"])
    assert {r["artifact_id"] for r in rows} == set(files)
    for row in rows:
        assert row["uri"].startswith("s3://skyvern-artifacts/")
        assert row["signed_url"].startswith(server.s3_base_url + "/s3/")
        assert "X-Amz-Signature=" in row["signed_url"]
    har = next(r for r in rows if r["artifact_type"] == "har")
    assert har["uri"].endswith(".har.zst")
    with httpx.Client(timeout=5) as plain:  # the fake S3 wants no API key
        for row in rows:
            response = plain.get(row["signed_url"])
            assert response.status_code == 200
            data = response.content
            if row is har:
                assert data[:4] == b"\x28\xb5\x2f\xfd"  # zstd on S3
                data = zstandard.ZstdDecompressor().decompressobj().decompress(data)
            assert sha(data) == sha(files[row["artifact_id"]])
        expires = parse_qs(urlsplit(har["signed_url"]).query)["X-Amz-Expires"][0]
        assert expires == "86400"
        shot = next(r for r in rows if r["artifact_type"] == "screenshot_action")
        assert parse_qs(urlsplit(shot["signed_url"]).query)["X-Amz-Expires"][0] == "3600"
        tampered = plain.get(har["signed_url"][:-4] + "0000")
        assert tampered.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in tampered.content
        server.clock = lambda: time.time() + 2 * 3600  # screenshots (1 h) expired, the HAR (24 h) not
        expired = plain.get(shot["signed_url"])
        assert expired.status_code == 403 and b"Request has expired" in expired.content
        assert plain.get(har["signed_url"]).status_code == 200
        server.clock = time.time
    with client(server) as c:
        response = c.get(f"/v1/artifacts/{har['artifact_id']}/content")
        assert response.content == files[har["artifact_id"]]  # /content decompresses
        c.get(har["signed_url"])  # a client that wrongly sends its key to the storage URL
    s3 = server.records("/s3/")
    assert len(s3) == len(rows) + 4
    assert [r.has_api_key for r in s3] == [False] * (len(rows) + 3) + [True]


def test_bundled_mode_fixture(skyvern_server):
    server = skyvern_server
    folder = RUNS / "bundled_step_archive"
    files = fixture_files(folder)
    expected = json.loads((folder / "artifacts.json").read_text())
    rows = rows_of(server, server.names["runs/bundled_step_archive"])
    assert [r["artifact_id"] for r in rows] == [r["artifact_id"] for r in expected]
    parents = {r["uri"]: r for r in rows if r["artifact_type"] in ("step_archive", "task_archive")}
    assert len(parents) == 4
    now = time.time()
    with httpx.Client(timeout=5) as plain:
        for row in rows:
            match = SIG_URL.match(row["signed_url"])
            assert match and match.group(1) == row["artifact_id"], row["signed_url"]
            ttl = int(match.group(2)) - now
            assert (3500 < ttl <= 3601) if row["artifact_type"].startswith("screenshot") else (43100 < ttl <= 43201)
            response = plain.get(row["signed_url"])
            assert response.status_code == 200, row
            assert response.headers["cache-control"].startswith("private, max-age=")
            if row["bundle_key"]:
                with zipfile.ZipFile(io.BytesIO(files[parents[row["uri"]]["artifact_id"]])) as zf:
                    assert sha(response.content) == sha(zf.read(row["bundle_key"]))
            else:
                assert sha(response.content) == sha(files[row["artifact_id"]])
        first = rows[1]
        bad = plain.get(first["signed_url"].replace("sig=", "sig=x")[:-1])
        assert bad.status_code == 403 and bad.json() == {"detail": "Invalid or expired artifact URL"}
        other = rows[2]["signed_url"].split("?")[0] + "?" + first["signed_url"].split("?")[1]
        assert plain.get(other).status_code == 403  # the signature covers the path
        server.clock = lambda: time.time() + 2 * 3600
        shot = next(r for r in rows if r["artifact_type"] == "screenshot_llm")
        assert plain.get(shot["signed_url"]).status_code == 403
        assert plain.get(first["signed_url"]).status_code == 200
        server.clock = time.time
    with client(server) as c:
        minted = c.get(f"/v1/artifacts/{first['artifact_id']}/signed-url").json()
        assert set(minted) == {"artifact_id", "signed_url", "expires_at"}
        assert 290 <= minted["expires_at"] - time.time() <= 301
        assert SIG_URL.match(minted["signed_url"])
        assert c.get(minted["signed_url"]).status_code == 200
        one = c.get(f"/v1/artifacts/{first['artifact_id']}").json()
        assert SIG_URL.match(one["signed_url"]) and one["archived"] is False and one["bundle_key"]


def test_bundled_mode_built_on_the_fly_and_local_mode_of_a_bundle(make_skyvern_server):
    server = make_skyvern_server([RUNS / "success", (RUNS / "bundled_step_archive", "local")], mode="bundled")
    files = fixture_files(RUNS / "success")
    rows = rows_of(server, json.loads((RUNS / "success" / "run.json").read_text())["run_id"])
    parents = {r["uri"]: r for r in rows if r["artifact_type"] in ("step_archive", "task_archive")}
    steps = json.loads((RUNS / "success" / "steps.json").read_text())
    assert sum(1 for p in parents.values() if p["artifact_type"] == "step_archive") == len(steps)
    assert sum(1 for p in parents.values() if p["artifact_type"] == "task_archive") == 1
    assert {r["artifact_id"] for r in rows if r["artifact_type"] not in ("step_archive", "task_archive")} == set(files)
    keys = {r["bundle_key"] for r in rows if r["bundle_key"]}
    assert {"scrape.html", "element_tree.json", "llm_prompt_0.txt", "screenshot_action_0.png", "har.har"} <= keys
    members = [r for r in rows if r["bundle_key"]]
    assert next(r for r in rows if r["artifact_type"] == "screenshot_final")["bundle_key"] is None
    with httpx.Client(timeout=5) as plain:
        for row in members:
            assert row["file_size"] is None and row["uri"] == parents[row["uri"]]["uri"]
            assert sha(plain.get(row["signed_url"]).content) == sha(files[row["artifact_id"]])
        archive = plain.get(parents[members[0]["uri"]]["signed_url"]).content
        assert zipfile.ZipFile(io.BytesIO(archive)).read(members[0]["bundle_key"]) == files[members[0]["artifact_id"]]
    # a bundled folder served in local mode: legacy unsigned member URLs; /content of a member is the whole ZIP
    local_rows = rows_of(server, json.loads((RUNS / "bundled_step_archive" / "run.json").read_text())["run_id"])
    member = next(r for r in local_rows if r["bundle_key"])
    assert member["uri"].startswith("file://")
    assert "artifact_name=" in member["signed_url"] and "sig=" not in member["signed_url"]
    assert httpx.get(member["signed_url"]).status_code == 403  # needs the key
    with client(server) as c:
        body = c.get(member["signed_url"]).content
    assert body[:4] == b"PK\x03\x04"
    assert zipfile.ZipFile(io.BytesIO(body)).read(member["bundle_key"])


def test_signed_url_route_per_mode(skyvern_server):
    server = skyvern_server
    local = rows_of(server, server.names["real/success"])[3]
    s3 = rows_of(server, server.names["runs/site_500_submit"])[3]
    with client(server) as c:
        answer = c.get(f"/v1/artifacts/{local['artifact_id']}/signed-url").json()
        assert answer == {"artifact_id": local["artifact_id"], "signed_url": local["uri"], "expires_at": None}
        answer = c.get(f"/v1/artifacts/{s3['artifact_id']}/signed-url").json()
        assert answer["expires_at"] is None and "/s3/" in answer["signed_url"]
        # keyring query on a server/run without keyring
        forged = f"/v1/artifacts/{s3['artifact_id']}/content?expiry=9999999999&kid=k1&sig=" + "A" * 43
        response = httpx.get(server.base_url + forged)
        assert response.status_code == 503
        assert response.json() == {"detail": "Artifact URL signing is not configured on this server"}


def test_separate_s3_origin(make_skyvern_server):
    server = make_skyvern_server([(RUNS / "navigation_error", "unbundled_s3")], separate_s3_origin=True)
    assert server.s3_base_url != server.base_url
    rows = rows_of(server, json.loads((RUNS / "navigation_error" / "run.json").read_text())["run_id"])
    assert all(r["signed_url"].startswith(server.s3_base_url + "/s3/") for r in rows)
    assert all(httpx.get(r["signed_url"]).status_code == 200 for r in rows)
    assert {r.listener for r in server.records("/s3/")} == {"s3"}


# --- workflow runs, task v2, task list -----------------------------------------------------------


def test_workflow_run_and_task_v2(skyvern_server):
    server = skyvern_server
    wr, v2 = server.names["wr"], server.names["task_v2"]
    site, success = server.names["runs/site_500_submit"], server.names["runs/success"]
    with client(server) as c:
        run = c.get(f"/v1/runs/{wr}").json()
        assert run["run_type"] == "workflow_run" and run["status"] == "failed" and run["run_id"] == wr
        timeline = c.get(f"/v1/runs/{wr}/timeline").json()
        assert [item["type"] for item in timeline] == ["block", "block"]
        assert [item["block"]["task_id"] for item in timeline] == [success, site]  # newest first
        block = timeline[1]["block"]
        assert block["block_type"] == "task" and block["status"] == "failed" and block["label"] == "checkout"
        assert block["workflow_run_block_id"].startswith("wrb_") and timeline[1]["children"] == []
        rows = c.get(f"/v1/runs/{wr}/artifacts").json()
        assert len(rows) == len(rows_of(server, site)) + len(rows_of(server, success))
        assert {r["workflow_run_id"] for r in rows} == {wr}
        assert [r["created_at"] for r in rows] == sorted(r["created_at"] for r in rows)
        assert all(r["workflow_run_id"] is None for r in rows_of(server, site))  # standalone context unchanged
        task_v2 = c.get(f"/v1/runs/{v2}").json()
        assert task_v2["run_type"] == "task_v2" and task_v2["app_url"].endswith(f"/runs/{wr}")
        assert c.get(f"/v1/runs/{v2}/artifacts").json() == []
        assert c.get(f"/v1/runs/{v2}/timeline").json() == timeline


def test_workflow_run_of_completed_tasks_and_task_only_rows(make_skyvern_server):
    server = make_skyvern_server()
    server.add_workflow_run("wr_1", [RUNS / "success", RUNS / "retry"])
    task_id = json.loads((RUNS / "retry" / "run.json").read_text())["run_id"]
    with client(server) as c:
        assert c.get("/v1/runs/wr_1").json()["status"] == "completed"
        assert c.get(f"/v1/runs/{task_id}").status_code == 404  # a block's task is no run of its own
        rows = c.get(f"/v1/runs/{task_id}/artifacts").json()  # but tsk_ rows match by task_id
        assert rows and {r["workflow_run_id"] for r in rows} == {"wr_1"}
        assert c.get(f"/api/v1/tasks/{task_id}").json()["task_id"] == task_id


def test_task_list_pagination(skyvern_server):
    server = skyvern_server
    wr = server.names["wr"]
    with client(server) as c:
        pages = [
            c.get("/api/v1/tasks", params={"workflow_run_id": wr, "page": p, "page_size": 1}).json() for p in (1, 2, 3)
        ]
        assert [len(p) for p in pages] == [1, 1, 0]
        ids = [p[0]["task_id"] for p in pages[:2]]
        assert ids == [server.names["runs/success"], server.names["runs/site_500_submit"]]  # newest first
        ascending = c.get("/api/v1/tasks", params={"workflow_run_id": wr, "order": "asc"}).json()
        assert [t["task_id"] for t in ascending] == ids[::-1]
        everything = c.get("/api/v1/tasks", params={"page_size": 100}).json()
        task_runs = [name for name in server.names if name.startswith(("runs/", "real/"))]
        assert len(everything) == len(task_runs) and len(task_runs) >= 15
        assert len(c.get("/api/v1/tasks").json()) == 10  # default page_size
        failed = c.get("/api/v1/tasks", params={"workflow_run_id": wr, "task_status": "failed"}).json()
        assert [t["task_id"] for t in failed] == [server.names["runs/site_500_submit"]]
        for bad in ({"page": 0}, {"page_size": 0}, {"page": "x"}):
            response = c.get("/api/v1/tasks", params=bad)
            assert response.status_code == 422 and isinstance(response.json()["detail"], list)


# --- faults ---------------------------------------------------------------------------------------


def statuses(server: SkyvernTestServer, path: str, n: int) -> list[int | str]:
    out: list[int | str] = []
    for _ in range(n):
        try:
            out.append(httpx.get(server.base_url + path, headers={"x-api-key": server.api_key}, timeout=5).status_code)
        except httpx.TransportError as exc:
            out.append(type(exc).__name__)
    return out


def test_fault_rate_limit(skyvern_server):
    server = skyvern_server
    path = f"/v1/runs/{server.names['real/success']}"
    server.faults.rate_limit_first_n = 2
    server.faults.retry_after_seconds = 0
    response = httpx.get(server.base_url + path, headers={"x-api-key": server.api_key})
    assert response.status_code == 429 and response.headers["retry-after"] == "0"
    assert statuses(server, path, 3) == [429, 200, 200]
    assert server.faults.fired == {"rate_limit": 2} and server.faults.rate_limit_first_n == 0
    assert [r.fault for r in server.records()] == ["rate_limit", "rate_limit", None, None]


def test_fault_server_error(skyvern_server):
    server = skyvern_server
    path = f"/v1/runs/{server.names['real/success']}"
    server.faults.server_error_first_n = 1
    response = httpx.get(server.base_url + path, headers={"x-api-key": server.api_key})
    assert response.status_code == 503 and response.json() == {"detail": "Service Unavailable"}
    server.faults.server_error_first_n = 1
    server.faults.server_error_status = 500
    response = httpx.get(server.base_url + path, headers={"x-api-key": server.api_key})
    assert response.status_code == 500 and response.json()["error"].startswith("Unexpected error: ")
    assert statuses(server, path, 2) == [200, 200]
    assert server.faults.fired == {"server_error": 2}


def test_fault_drop_connection(skyvern_server):
    server = skyvern_server
    path = f"/v1/runs/{server.names['real/success']}"
    server.faults.drop_connection_first_n = 2
    result = statuses(server, path, 3)
    assert result[2] == 200 and all(isinstance(r, str) for r in result[:2])
    assert [r.status for r in server.records()] == [0, 0, 200]


def test_fault_truncate_body(skyvern_server):
    server = skyvern_server
    art = rows_of(server, server.names["real/success"])[2]["artifact_id"]
    path = f"/v1/artifacts/{art}/content"
    server.reset_log()
    server.faults.truncate_body_first_n = 1
    assert statuses(server, path, 2) == ["RemoteProtocolError", 200]
    first, second = server.records()
    assert first.fault == "truncate_body" and 0 <= first.bytes_sent < second.bytes_sent


def test_fault_expire_signed_urls(skyvern_server):
    server = skyvern_server
    run_id = server.names["runs/bundled_step_archive"]
    server.faults.expire_signed_urls_first_n = 1
    stale = rows_of(server, run_id)
    fresh = rows_of(server, run_id)
    assert all(int(SIG_URL.match(r["signed_url"]).group(2)) < time.time() for r in stale)
    response = httpx.get(stale[1]["signed_url"])
    assert response.status_code == 403 and response.json() == {"detail": "Invalid or expired artifact URL"}
    assert httpx.get(fresh[1]["signed_url"]).status_code == 200
    local_rows = rows_of(server, server.names["real/success"])  # local runs mint nothing, consume nothing
    assert local_rows and server.faults.fired == {"expire_signed_urls": 1}
    server.faults.expire_signed_urls_first_n = 1
    s3 = rows_of(server, server.names["runs/site_500_submit"])
    assert b"Request has expired" in httpx.get(s3[0]["signed_url"]).content


def test_always_5xx_scoped_by_path_prefix(skyvern_server):
    server = skyvern_server
    run_id = server.names["real/success"]
    server.faults.always_5xx = True
    server.faults.fault_path_prefix = "/v1/artifacts/"
    art = rows_of(server, run_id)[2]["artifact_id"]  # [0] is the recording, absent from the fixture
    assert statuses(server, f"/v1/artifacts/{art}/content", 3) == [503, 503, 503]
    assert statuses(server, f"/v1/runs/{run_id}", 1) == [200]
    assert server.faults.fired == {"always_5xx": 3}
    server.faults.reset()
    assert statuses(server, f"/v1/artifacts/{art}/content", 1) == [200]


def test_fault_latency_and_counting_is_thread_safe(skyvern_server):
    server = skyvern_server
    path = f"/v1/runs/{server.names['real/success']}"
    server.faults.latency_seconds = 0.05
    assert statuses(server, path, 1) == [200]
    assert server.faults.fired.get("latency") == 1  # slept before answering
    server.faults.latency_seconds = 0
    server.faults.reset()
    server.faults.rate_limit_first_n = 5
    results: list[int | str] = []
    lock = threading.Lock()

    def worker() -> None:
        got = statuses(server, path, 2)
        with lock:
            results.extend(got)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=str) == sorted([429] * 5 + [200] * 15, key=str)
    assert server.faults.fired["rate_limit"] == 5
    assert server.count("/v1/runs/") == 21

"""``debugkit runs``: fleet triage against a real HTTP server on 127.0.0.1, and offline over folders.

The server (tests/skyvern_server.py) lists runs as Skyvern's ``GET /v1/runs`` does and serves
copies of the fixture runs under fresh ids and times (``add_run_copies``). The listing is tested
through the library (many runs, no triage needed); the command itself as a user runs it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import escape, unescape
from pathlib import Path
from typing import Any

import pytest
from skyvern_server import DEFAULT_WR_ID, FIXTURES, SkyvernTestServer
from test_fetch import cli

import debugkit
from debugkit.api.client import ApiConfig, ApiError, SkyvernClient
from debugkit.errors import UsageError
from debugkit.fleet.listing import DEFAULT_STATUSES, ListQuery, list_runs, parse_since
from debugkit.fleet.signature import path_template, signature_of

RUNS = FIXTURES / "runs"
FAILED = ("failed", "terminated", "timed_out")
SCRIPT_PAYLOAD = "<script>alert(1)</script>"
IMG_PAYLOAD = '"><img src=x onerror=alert(1)>'
PAYLOAD = f"{SCRIPT_PAYLOAD} {IMG_PAYLOAD}"


def copyable() -> list[Path]:
    """The generated runs the server can copy (unbundled), failed ones and completed ones."""
    return [p for p in sorted(RUNS.iterdir()) if (p / "run.json").is_file() and p.name != "bundled_step_archive"]


def failing() -> list[Path]:
    return [p for p in copyable() if json.loads((p / "run.json").read_text())["status"] in FAILED]


def verdict_of(folder: Path) -> tuple[str, str]:
    t = debugkit.triage(folder, locate=False)  # redacted, not located: as `debugkit runs` triages
    return t.verdict.cause, signature_of(t.analysis)


def runs_json(server: SkyvernTestServer, cache: Path, *args: str) -> dict[str, Any]:
    done = cli(server, "runs", "--json", "--cache-dir", str(cache), *args)
    assert done.returncode == 0, done.stderr
    assert server.api_key not in done.stdout + done.stderr
    return json.loads(done.stdout)


def assert_partition(doc: dict[str, Any]) -> None:
    """Every run in exactly one cluster, of its own cause and signature; the counts add up."""
    rows = {run["run_id"]: run for run in doc["runs"]}
    assert len(rows) == len(doc["runs"])  # each run listed once
    placed = [run_id for cluster in doc["clusters"] for run_id in cluster["run_ids"]]
    assert sorted(placed) == sorted(rows)
    assert sum(cluster["count"] for cluster in doc["clusters"]) == len(rows)
    for cluster in doc["clusters"]:
        assert cluster["count"] == len(cluster["run_ids"]) and cluster["example"] in cluster["run_ids"]
        for run_id in cluster["run_ids"]:
            assert (rows[run_id]["cause"], rows[run_id]["signature"]) == (cluster["cause"], cluster["signature"])
    counts = [cluster["count"] for cluster in doc["clusters"]]
    assert counts == sorted(counts, reverse=True)


# --- the listing, through the library ------------------------------------------------------------

MANY = 230
SPACING = 60  # seconds between two copies' creation


@pytest.fixture(scope="module")
def many_server() -> Iterator[tuple[SkyvernTestServer, list[str], datetime]]:
    """230 failed runs, one a minute, the newest ten minutes old (naive UTC, as Skyvern keeps them)."""
    newest = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(minutes=10)
    with SkyvernTestServer() as server:
        ids = server.add_run_copies(failing(), MANY, newest=newest, spacing_seconds=SPACING)
        yield server, ids, newest


@pytest.fixture
def many(many_server) -> Iterator[tuple[SkyvernTestServer, list[str], datetime]]:
    server = many_server[0]
    server.faults.reset()
    server.reset_log()
    yield many_server
    server.faults.reset()


def client_for(server: SkyvernTestServer) -> SkyvernClient:
    return SkyvernClient(ApiConfig(base_url=server.base_url, api_key=server.api_key, backoff=0.01))


def listing_requests(server: SkyvernTestServer):
    return [r for r in server.records("/v1/runs") if r.path.rstrip("/") == "/v1/runs"]


@pytest.mark.parametrize(
    ("limit", "pages", "kept", "more"),
    [
        (250, 3, 230, False),  # 100 + 100 + a short page of 30: the end
        (230, 3, 230, False),  # exactly all: the short third page says there is no more
        (229, 3, 229, True),  # one more row than needed was there: more exist
        (150, 2, 150, True),
        (9, 1, 9, True),  # page size 10: one page tells
    ],
)
def test_listing_pages_newest_first_asking_one_row_more(many, limit, pages, kept, more) -> None:
    server, ids, _ = many
    with client_for(server) as client:
        listing = list_runs(client, ListQuery(limit=limit))
    assert [run.run_id for run in listing.runs] == ids[:kept]  # newest first, each once
    assert (listing.pages, listing.more) == (pages, more)
    assert listing.stopped == ("limit" if more else "end")
    requests = listing_requests(server)
    size = str(min(100, limit + 1))
    assert [r.query["page"] for r in requests] == [[str(p)] for p in range(1, pages + 1)]
    assert all(r.query["page_size"] == [size] for r in requests)  # one size: the offset stays right
    assert all(r.query["status"] == list(DEFAULT_STATUSES) for r in requests)  # repeated, not a comma list
    assert all(r.status == 200 for r in requests)


def test_listing_stops_at_the_first_page_older_than_since(many) -> None:
    server, ids, newest = many
    since = (newest - timedelta(seconds=150 * SPACING + SPACING // 2)).replace(tzinfo=UTC)  # between copy 150 and 151
    with client_for(server) as client:
        listing = list_runs(client, ListQuery(since=since, limit=1000))
    assert [run.run_id for run in listing.runs] == ids[:151]
    assert (listing.pages, listing.stopped, listing.more) == (2, "since", False)
    assert all(run.created_at is not None and run.created_at >= since for run in listing.runs)


def test_a_429_in_the_middle_of_a_listing_is_waited_out(many) -> None:
    server, ids, _ = many
    server.faults.fault_path_pattern = r"/v1/runs/?"  # the listing only, not the runs' own routes
    server.faults.spare_first_n = 1  # page 1 answers ...
    server.faults.rate_limit_first_n = 1  # ... page 2 gets a 429 first
    server.faults.retry_after_seconds = 0
    with client_for(server) as client:
        listing = list_runs(client, ListQuery(limit=500))
    assert [run.run_id for run in listing.runs] == ids
    assert server.faults.fired == {"rate_limit": 1}
    requests = listing_requests(server)
    assert [(r.query["page"][0], r.status) for r in requests] == [("1", 200), ("2", 429), ("2", 200), ("3", 200)]


def test_the_run_list_refuses_what_skyvern_refuses(many) -> None:
    server, _, _ = many
    with client_for(server) as client:
        for params, where in (
            ({"status": "failed,terminated"}, ["query", "status", 0]),  # a comma list is one (bad) value
            ({"page_size": 101}, ["query", "page_size"]),
            ({"page": 0}, ["query", "page"]),
            ({"page": 101}, ["query", "page"]),
            ({"run_type": "task"}, ["query", "run_type", 0]),
        ):
            status, body = client.get_status("/v1/runs?" + "&".join(f"{k}={v}" for k, v in params.items()), what="x")
            assert status == 422 and body["detail"][0]["loc"] == where, params
        with pytest.raises(ApiError):
            list_runs(client, ListQuery(limit=1000, statuses=("failed,terminated",)))


def test_listing_one_workflow(make_skyvern_server) -> None:
    server = make_skyvern_server([RUNS / "site_500_submit", RUNS / "success"])
    server.add_workflow_run(DEFAULT_WR_ID, [RUNS / "site_500_submit", RUNS / "success"], labels=["a", "b"])
    wpid = "wpid_" + DEFAULT_WR_ID.removeprefix("wr_")
    with client_for(server) as client:
        listing = list_runs(client, ListQuery(statuses=None, workflow=wpid))
    assert [run.run_id for run in listing.runs] == [DEFAULT_WR_ID]
    assert listing.runs[0].run_type == "workflow_run"
    request = listing_requests(server)[0]
    assert request.query["run_type"] == ["workflow_run"] and request.query["search_key"] == [wpid]


@pytest.mark.parametrize(
    ("text", "seconds"), [("24h", 86400), ("90m", 5400), ("7d", 7 * 86400), ("2w", 14 * 86400), ("45s", 45)]
)
def test_since_spans(text: str, seconds: int) -> None:
    now = datetime(2026, 5, 2, 12, 0, tzinfo=UTC)
    assert parse_since(text, now) == now - timedelta(seconds=seconds)


def test_since_dates_are_utc_and_bad_ones_are_usage_errors() -> None:
    assert parse_since("2026-05-01") == datetime(2026, 5, 1, tzinfo=UTC)
    assert parse_since("2026-05-01T09:30:00") == datetime(2026, 5, 1, 9, 30, tzinfo=UTC)  # naive: UTC
    assert parse_since("2026-05-01T11:30:00+02:00") == datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    for bad in ("yesterday", "0h", "-3d", ""):
        with pytest.raises(UsageError):
            parse_since(bad)


# --- signatures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/api/orders/8812/pay", "/api/orders/{id}/pay"),
        ("/api/orders/9001/pay", "/api/orders/{id}/pay"),
        ("/v2/users/550e8400-e29b-41d4-a716-446655440000/cart", "/v2/users/{id}/cart"),
        ("/carts/5f2b9c1e0aa3/items/ord_42", "/carts/{id}/items/{id}"),
        ("/s/eyJhbGciOiJIUzI1NiJ9abc123/x", "/s/{id}/x"),
        ("/files/invoice-2024001.pdf", "/files/{id}.pdf"),
        ("/api/v2/checkout-step-2", "/api/v2/checkout-step-2"),  # versions and step names stay
        ("/api/order", "/api/order"),
        ("", "/"),
    ],
)
def test_path_templates_fold_ids(path: str, template: str) -> None:
    assert path_template(path) == template


@pytest.mark.parametrize(
    ("folder", "signature"),
    [
        ("site_500_submit", "POST shop.example.com/api/order -> 500"),
        ("bot_challenge", "GET gear.example.com/products/{id} -> 403"),  # the product slug is not an id...
        ("navigation_error", "GET shop.invalid/ -> net::ERR_NAME_NOT_RESOLVED"),
        ("disabled_element", "button 'Continue'"),
        ("legacy_numeric_ids", "link 'Apply'"),
        ("hallucinated_id", "MissingElement"),  # no element to name: the exception
        ("success", "run_completed"),  # nothing failed: the rule
    ],
)
def test_signatures_of_the_fixture_runs(folder: str, signature: str) -> None:
    assert verdict_of(RUNS / folder)[1] == signature


def test_bot_challenge_path_is_templated_only_where_ids_are() -> None:
    # ...but summit-40l holds digits and a separator: folded like an id (ord-42). A slug without
    # digits would stay: the line is about which endpoint, not which product.
    assert path_template("/products/summit-40l") == "/products/{id}"
    assert path_template("/products/summit-pack") == "/products/summit-pack"


# --- the command against the server ----------------------------------------------------------------


@pytest.fixture
def fleet_server(make_skyvern_server) -> tuple[SkyvernTestServer, dict[str, Path]]:
    """Every copyable fixture run twice (failed and completed ones), newest ten minutes old."""
    server = make_skyvern_server([])
    folders = copyable()
    ids = server.add_run_copies(folders, 2 * len(folders))
    return server, {run_id: folders[i % len(folders)] for i, run_id in enumerate(ids)}


def test_runs_lists_every_failed_run_once_with_its_cause(fleet_server, tmp_path: Path) -> None:
    server, source = fleet_server
    doc = runs_json(server, tmp_path / "cache")
    assert doc["schema"] == "debugkit.fleet/1"
    failed = [run_id for run_id, folder in source.items() if json.loads((folder / "run.json").read_text())["status"]
              in FAILED]
    assert sorted(run["run_id"] for run in doc["runs"]) == sorted(failed)  # completed runs are not listed
    verdicts = {folder: verdict_of(folder) for folder in set(source.values())}
    for run in doc["runs"]:
        assert run["error"] is None, run
        assert (run["cause"], run["signature"]) == verdicts[source[run["run_id"]]], run["run_id"]
        assert run["status"] in FAILED and run["run_type"] == "task_v1" and run["created_at"].endswith("+00:00")
        for key in ("category", "summary", "failing_action"):
            assert key in run
    assert_partition(doc)
    # the same problem in different runs is one line: two copies of each folder, the two 500s on
    # POST /api/order (site_500_submit and nothing else: bundled_step_archive is not served here)
    biggest = {(c["cause"], c["signature"]): c["count"] for c in doc["clusters"]}
    assert biggest[("site_server_error", "POST shop.example.com/api/order -> 500")] == 2
    assert doc["listing"] == {"pages": 1, "more": False, "stopped": "end"}


def test_a_second_runs_fetches_no_run_again(make_skyvern_server, tmp_path: Path) -> None:
    server = make_skyvern_server([])
    ids = server.add_run_copies(failing()[:6], 6)
    first = runs_json(server, tmp_path / "cache")
    fetched = {r.path.split("/")[3] for r in server.records("/v1/runs/") if r.path.count("/") == 3}
    assert fetched == set(ids)  # each run's document once ...
    assert len([r for r in server.records("/v1/runs/") if r.path.count("/") == 3]) == len(ids)
    server.reset_log()
    second = runs_json(server, tmp_path / "cache")
    assert {r.path.rstrip("/") for r in server.records()} == {"/v1/runs"}  # ... and the second time only the list
    assert [(r["run_id"], r["cause"], r["signature"]) for r in second["runs"]] == [
        (r["run_id"], r["cause"], r["signature"]) for r in first["runs"]
    ]


def test_a_run_that_fails_to_fetch_is_listed_with_its_error(make_skyvern_server, tmp_path: Path) -> None:
    server = make_skyvern_server([])
    ids = server.add_run_copies(failing()[:5], 5)
    broken = ids[2]
    server.faults.fault_path_prefix = f"/v1/runs/{broken}"
    server.faults.always_5xx = True
    server.faults.server_error_status = 500
    done = cli(server, "runs", "--json", "--cache-dir", str(tmp_path / "cache"))
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    rows = {run["run_id"]: run for run in doc["runs"]}
    assert sorted(rows) == sorted(ids)
    bad = rows[broken]
    assert (bad["cause"], bad["category"], bad["signature"]) == ("unknown", "UNKNOWN", "not triaged: fetch failed")
    assert bad["error"].startswith("fetch failed: ") and "HTTP 500" in bad["error"] and "\n" not in bad["error"]
    assert bad["status"] in FAILED and bad["created_at"] is not None  # what the listing said
    assert server.api_key not in done.stdout + done.stderr
    assert all(rows[i]["error"] is None and rows[i]["cause"] != "unknown" for i in ids if i != broken)
    alone = [c for c in doc["clusters"] if broken in c["run_ids"]]
    assert alone[0]["run_ids"] == [broken]
    assert_partition(doc)
    assert any("could not be triaged" in note for note in doc["notes"])


def test_limit_and_status_and_jsonl(fleet_server, tmp_path: Path) -> None:
    server, source = fleet_server
    jsonl = tmp_path / "runs.jsonl"
    doc = runs_json(server, tmp_path / "cache", "--limit", "3", "--status", "terminated,timed_out", "--jsonl",
                    str(jsonl))
    assert len(doc["runs"]) == 3 and all(run["status"] in ("terminated", "timed_out") for run in doc["runs"])
    assert doc["listing"]["more"] is True and doc["query"]["statuses"] == ["terminated", "timed_out"]
    assert any("--limit 3" in note for note in doc["notes"])
    lines = jsonl.read_text().splitlines()
    rows = [json.loads(line) for line in lines]  # one object a line, for pandas / DuckDB
    assert [row["run_id"] for row in rows] == [run["run_id"] for run in doc["runs"]]
    assert rows == doc["runs"]
    request = [r for r in server.records("/v1/runs") if r.path.rstrip("/") == "/v1/runs"][0]
    assert request.query["status"] == ["terminated", "timed_out"] and request.query["page_size"] == ["4"]


def test_terminal_table_biggest_first(fleet_server, tmp_path: Path) -> None:
    server, _ = fleet_server
    earlier = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=2)
    server.add_run_copies([RUNS / "site_500_submit"], 3, newest=earlier)
    done = cli(server, "runs", "--cache-dir", str(tmp_path / "cache"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert re.match(r"\d+ run\(s\) \(failed, terminated, timed_out\) since .* distinct problem\(s\)", lines[0])
    first_row = next(line for line in lines if line.startswith("│"))
    assert "site_server_error" in first_row and "POST shop.example.com/api/order -> 500" in first_row
    assert re.match(r"│\s+5 │", first_row)  # 2 + 3 copies of site_500_submit: the biggest, first
    assert any(line.startswith("Biggest problem: site_server_error") for line in lines)


def test_listing_failures_end_the_command_with_their_exit_code(make_skyvern_server, tmp_path: Path) -> None:
    server = make_skyvern_server([])
    refused = cli(server, "runs", "--cache-dir", str(tmp_path), key="sk-wrong")
    assert refused.returncode == 2 and "SKYVERN_API_KEY" in refused.stderr and "Traceback" not in refused.stderr
    server.faults.always_5xx = True
    server.faults.fault_path_pattern = r"/v1/runs/?"
    server.faults.retry_after_seconds = 0
    dead = cli(server, "runs", "--cache-dir", str(tmp_path))
    assert dead.returncode == 3 and "try again later" in dead.stderr and "Traceback" not in dead.stderr
    assert len(dead.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["--since", "yesterday"],
        ["--status", "failed,bogus"],
        ["--limit", "0"],
        ["/no/such/folder"],
        ["--limit", "many"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], tmp_path: Path) -> None:
    done = cli(None, "runs", "--cache-dir", str(tmp_path), *args)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


# --- offline ---------------------------------------------------------------------------------------


def test_offline_groups_the_generated_runs_by_cause(tmp_path: Path) -> None:
    done = cli(None, "runs", str(RUNS), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    folders = [p for p in sorted(RUNS.iterdir()) if (p / "expected.json").is_file()]
    assert len(doc["runs"]) == len(folders)  # offline: every status, no time limit
    expected = {json.loads((p / "expected.json").read_text())["run_id"]: p for p in folders}
    for run in doc["runs"]:
        folder = expected[run["run_id"]]
        assert run["cause"] == json.loads((folder / "expected.json").read_text())["cause"], folder.name
        assert run["source"] == str(folder)
    assert_partition(doc)
    by_cause: dict[str, int] = {}
    for cluster in doc["clusters"]:
        by_cause[cluster["cause"]] = by_cause.get(cluster["cause"], 0) + cluster["count"]
    assert by_cause["site_server_error"] == 4 and by_cause["none"] == 2
    site_500 = [c for c in doc["clusters"] if c["signature"] == "POST shop.example.com/api/order -> 500"]
    assert site_500[0]["count"] == 2  # site_500_submit and its bundled twin: one problem
    assert doc["source"] == {"kind": "path", "path": str(RUNS)} and doc["listing"] is None


def test_offline_reads_storage_trees_and_archives_and_names_unreadable_ones(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "local_storage", tmp_path / "storage")
    shutil.copy(FIXTURES / "archives" / "step_archive.zip", tmp_path / "a.zip")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    done = cli(None, "runs", str(tmp_path), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert len(doc["runs"]) == 3
    broken = [run for run in doc["runs"] if run["error"]]
    assert len(broken) == 1 and broken[0]["run_id"] == str(tmp_path / "broken.zip")
    assert broken[0]["signature"] == "not triaged: unreadable" and broken[0]["cause"] == "unknown"
    assert_partition(doc)


def hostile_runs(folder: Path) -> Path:
    """A folder of two runs: disabled_element with the payloads as the button's text and the failure
    reason (so in the signature and the summary), and site_500_submit as it is."""
    folder.mkdir(parents=True, exist_ok=True)
    run = folder / "hostile"
    shutil.copytree(RUNS / "disabled_element", run)
    shutil.copytree(RUNS / "site_500_submit", folder / "site_500_submit")
    for tree in (run / "files").glob("*__visible_elements_tree__*"):
        tree.write_text(tree.read_text().replace('"Continue"', json.dumps(PAYLOAD)))
    for scrape in (run / "files").glob("*__html_*"):
        scrape.write_text(scrape.read_text().replace(">Continue<", ">" + escape(PAYLOAD, quote=False) + "<"))
    for name in ("run.json", "task.json"):
        doc = json.loads((run / name).read_text())
        doc["failure_reason"] = f"failure {PAYLOAD}"
        (run / name).write_text(json.dumps(doc))
    return folder


def test_overview_escapes_hostile_page_text(tmp_path: Path) -> None:
    runs = hostile_runs(tmp_path / "runs")
    page = tmp_path / "out" / "fleet.html"
    page.parent.mkdir()
    done = cli(None, "runs", str(runs), "--html", str(page), "--json", "--reports", str(tmp_path / "out" / "r"))
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    hostile = next(run for run in doc["runs"] if run["cause"] == "element_disabled")
    assert SCRIPT_PAYLOAD in hostile["signature"]  # the button's text, as the page had it
    html = page.read_text()
    assert "<script" not in html and "<img" not in html and "onerror=alert(1)>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    csp = unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1))
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert csp == f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and all(h.startswith("#") or h.startswith("./r/debugkit-tsk_") for h in hrefs)
    for href in {h for h in hrefs if h.startswith("./")}:
        assert (page.parent / href).is_file(), href
    assert not re.search(r"\bstyle=", html) and not re.search(r"\son\w+=", html)

"""Structure of the real runs recorded by fixtures/lab/ (fixtures/real/<scenario>/capture.json): no verdicts here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real"
CAUSES = {
    "none", "canceled_by_user", "site_server_error", "site_rejected_request", "auth_rejected", "anti_bot_challenge",
    "navigation_failed", "page_load_timeout", "proxy_failed", "browser_crashed", "element_missing",
    "element_disabled", "element_not_actionable", "click_intercepted", "agent_loop", "llm_provider_error",
    "llm_invalid_output", "data_extraction_failed", "pending_request_timeout", "unknown",
}
STATUSES = {"completed", "failed", "terminated", "canceled", "timed_out"}
RECORDINGS = sorted(p.parent for p in REAL.glob("*/capture.json"))


def load(p: Path):
    return json.loads(p.read_text())


def test_enough_recordings():
    caps = [load(d / "capture.json") for d in RECORDINGS]
    assert len(caps) >= 12
    assert len({c["cause"] for c in caps if c["cause"] != "none"}) >= 10
    assert {"task_v1", "workflow_run", "task_v2"} <= {c["run_type"] for c in caps}


@pytest.mark.parametrize("run_dir", RECORDINGS, ids=lambda p: p.name)
def test_capture(run_dir: Path):
    cap = load(run_dir / "capture.json")
    for key in ("skyvern_version", "scenario", "cause", "recorded_at", "notes", "run_id", "run_type", "status",
                "expect", "browser", "arrivals", "secrets"):
        assert key in cap, key
    assert cap["scenario"] == run_dir.name
    assert cap["cause"] in CAUSES
    assert cap["status"] in STATUSES
    assert cap["notes"].strip()
    for key in ("failing_step_order", "element_id", "element_text", "failed_requests", "page_text"):
        assert key in cap["expect"], key
    for req in cap["expect"]["failed_requests"]:
        assert set(req) >= {"method", "path", "status"}
    w, h = cap["browser"]
    assert w > 0 and h > 0
    run = load(run_dir / "run.json")
    assert run["run_id"] == cap["run_id"]
    assert run["status"] == cap["status"]
    assert run["run_type"] == cap["run_type"]


@pytest.mark.parametrize("run_dir", RECORDINGS, ids=lambda p: p.name)
def test_artifact_files(run_dir: Path):
    cap = load(run_dir / "capture.json")
    dropped = {d["artifact_id"] for d in cap.get("dropped_artifact_bytes", [])}
    rows = load(run_dir / "artifacts.json")
    assert rows
    names = {p.name.split("__", 1)[0] for p in (run_dir / "artifact_files").iterdir()}
    for a in rows:
        assert a["artifact_id"] in names or a["artifact_id"] in dropped, a["artifact_id"]
    for d in dropped:
        assert d in cap["notes"] or any(x["artifact_id"] == d and x["reason"] for x in cap["dropped_artifact_bytes"])
    assert any((run_dir / "local_storage").rglob("*"))
    exchanges = run_dir / "fake_llm_exchanges"  # absent (git keeps no empty folder) when no model call was made
    for f in exchanges.iterdir() if exchanges.is_dir() else []:
        assert {"kind", "prompt_text", "status"} <= set(load(f))


@pytest.mark.parametrize("run_dir", RECORDINGS, ids=lambda p: p.name)
def test_arrivals(run_dir: Path):
    arr = load(run_dir / "arrivals.json")
    ids = {a["artifact_id"] for a in load(run_dir / "artifacts.json")}
    assert set(arr["arrivals"]) <= ids
    for row in arr["arrivals"].values():
        assert row["seconds"] >= 0  # recorded data: a row cannot appear before the run ended (no clock read here)
    cap = load(run_dir / "capture.json")
    assert cap["arrivals"] == {aid: row["seconds"] for aid, row in arr["arrivals"].items()}


@pytest.mark.parametrize("run_dir", [d for d in RECORDINGS if (d / "truth").is_dir()], ids=lambda p: p.name)
def test_truth_files(run_dir: Path):
    files = sorted((run_dir / "truth").glob("*.json"))
    assert files
    for f in files:
        t = load(f)
        for key in ("page", "url", "viewport", "page_height", "tile_offsets", "tile_rule", "step_id", "chosen",
                    "elements"):
            assert key in t, key
        assert t["step_id"] == f.stem
        for eid, e in t["elements"].items():
            assert set(e) >= {"tag", "interactable", "frame", "frame_chain", "shadow", "fixed", "text", "box"}, eid
            assert len(e["box"]) == 4

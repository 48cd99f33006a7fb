"""Damaged or missing pieces inside a readable run: named in the output, the rest still analysed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from triaged import document

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
BASE = FIXTURES / "runs" / "site_500_submit"
DECISIVE_STEP = json.loads((BASE / "expected.json").read_text())["decisive_action"]["step_id"]

JSON_TYPES = [
    "visible_elements_tree",
    "visible_elements_id_frame_map",
    "visible_elements_id_css_map",
    "llm_response_parsed",
    "har",
]
ALL_READ_TYPES = [
    *JSON_TYPES, "html_scrape", "html_action", "screenshot_llm", "screenshot_action", "browser_console_log",
]


def triage(path: Path) -> dict:
    return document(path)


@pytest.fixture()
def run(tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(BASE, target)
    return target


def files_of(run: Path, artifact_type: str) -> list[Path]:
    return sorted(p for p in (run / "files").iterdir() if f"__{artifact_type}__" in p.name)


def named(doc: dict, artifact_type: str, kinds: set[str]) -> list[dict]:
    rows = [dict(p, kind=p["kind"]) for p in doc["problems"]]
    rows += [dict(m, kind="missing") for m in doc["missing_artifacts"]]
    return [r for r in rows if r["artifact_type"] == artifact_type and r["kind"] in kinds]


@pytest.mark.parametrize("artifact_type", JSON_TYPES)
def test_malformed_json_artifact_is_named_and_the_rest_runs(run: Path, artifact_type: str):
    for path in files_of(run, artifact_type):
        path.write_bytes(b'{"this is": not json')
    doc = triage(run)
    hits = named(doc, artifact_type, {"damaged"})
    assert hits, doc["problems"]
    assert all("JSON" in h["detail"] or "truncated" in h["detail"] or "HAR" in h["detail"] for h in hits)
    assert doc["verdict"]["category"] is not None and doc["steps"]


def test_damaged_tree_falls_back_to_the_actions_element_data(run: Path):
    for path in files_of(run, "visible_elements_tree"):
        path.write_bytes(b"[{")
    doc = triage(run)
    step = next(s for s in doc["steps"] if s["step_id"] == DECISIVE_STEP)
    click = next(a for a in step["actions"] if a["element_id"] == "AAAH")
    assert click["element"]["found"] is True and click["element"]["source"] == "action_data"
    assert click["element"]["tag"] == "button"
    assert doc["verdict"]["cause"] == "site_server_error"  # the network evidence still decides


def test_truncated_har_keeps_the_complete_entries(run: Path):
    har = files_of(run, "har")[0]
    data = har.read_bytes()
    har.write_bytes(data[: int(len(data) * 0.8)])
    doc = triage(run)
    hits = named(doc, "har", {"damaged"})
    assert hits and "truncated" in hits[0]["detail"]
    assert any(f["status"] == 500 for f in doc["network_failures"])
    assert doc["verdict"]["cause"] == "site_server_error"


def test_har_with_mixed_naive_and_aware_times(run: Path):
    har = files_of(run, "har")[0]
    doc = json.loads(har.read_bytes())
    entries = doc["log"]["entries"]
    for entry in entries[::2]:
        entry["startedDateTime"] = entry["startedDateTime"].rstrip("Z")  # naive: taken as UTC
    har.write_text(json.dumps(doc))
    out = triage(run)
    assert named(out, "har", {"damaged"}) == []
    assert out["verdict"]["cause"] == "site_server_error"
    assert all(f["started_at"].endswith("+00:00") for f in out["network_failures"])


def test_corrupt_png_is_reported_not_fatal(run: Path):
    shots = files_of(run, "screenshot_llm")
    shots[0].write_bytes(shots[0].read_bytes()[:100])
    shots[1].write_bytes(b"not an image at all")
    doc = triage(run)
    hits = named(doc, "screenshot_llm", {"damaged"})
    assert len(hits) == 2
    assert doc["verdict"]["cause"] == "site_server_error"


def test_hostile_and_binary_html_does_not_break_the_join(run: Path):
    for path in files_of(run, "html_scrape"):
        path.write_bytes(b"\xff\xfe<<<script>alert(1)</script><button unique_id='AAAH' onclick='x()'>Go\x00")
    doc = triage(run)
    step = next(s for s in doc["steps"] if s["step_id"] == DECISIVE_STEP)
    click = next(a for a in step["actions"] if a["element_id"] == "AAAH")
    assert click["element"]["html"].startswith("<button")
    assert doc["verdict"]["cause"] == "site_server_error"


@pytest.mark.parametrize("artifact_type", ALL_READ_TYPES)
def test_missing_artifact_of_each_type_is_named(run: Path, artifact_type: str):
    for path in files_of(run, artifact_type):
        path.unlink()
    doc = triage(run)
    hits = named(doc, artifact_type, {"missing"})
    assert hits, (doc["missing_artifacts"], doc["problems"])
    assert doc["steps"] and doc["verdict"]["summary"]


@pytest.mark.parametrize("name", ["steps.json", "actions.json", "artifacts.json", "run.json", "task.json"])
def test_malformed_run_documents_are_named(run: Path, name: str):
    (run / name).write_text("{ nope")
    doc = triage(run)
    details = " ".join(p.get("detail") or p.get("reason") or "" for p in doc["problems"] + doc["missing_artifacts"])
    assert name in details
    assert doc["verdict"]["summary"]


def test_action_whose_element_id_is_absent_everywhere(run: Path):
    steps = json.loads((run / "steps.json").read_text())
    step = next(s for s in steps if s["step_id"] == DECISIVE_STEP)
    action = step["output"]["actions_and_results"][2][0]
    action["element_id"] = "ZZZZ"
    action["skyvern_element_data"] = {"page_url": action["skyvern_element_data"]["page_url"]}
    (run / "steps.json").write_text(json.dumps(steps))
    doc = triage(run)
    view = next(s for s in doc["steps"] if s["step_id"] == DECISIVE_STEP)
    element = next(a for a in view["actions"] if a["index"] == 2)["element"]
    assert element["found"] is False and "ZZZZ" in element["note"]


def test_archived_artifact_is_reported_with_its_reason(run: Path):
    rows = json.loads((run / "artifacts.json").read_text())
    for row in rows:
        if row["artifact_type"] == "html_scrape":
            row["archived"] = True
    (run / "artifacts.json").write_text(json.dumps(rows))
    doc = triage(run)
    hits = named(doc, "html_scrape", {"missing"})
    assert hits and all("archiv" in h["reason"] for h in hits)

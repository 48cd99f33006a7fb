"""Every real Skyvern recording (``fixtures/real/*/capture.json``, made by ``fixtures/lab``) triaged
against what its scenario staged: the cause, the run's status, the element the verdict is about,
the failed requests it must cite, and the page's own words.

The expectations come from the lab's ``capture.json`` (written when the scenario was staged and
reviewed against the recording), not from debugkit's output.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from triaged import document

from debugkit.analysis.causes import category_of

REAL = Path(os.environ.get("DEBUGKIT_REAL_RUNS", Path(__file__).resolve().parent.parent / "fixtures" / "real"))
RECORDINGS = sorted(p for p in REAL.iterdir() if (p / "capture.json").is_file())
# Pages whose own words the chain of these causes must quote.
SAYS_IT = {"site_server_error", "site_rejected_request", "auth_rejected", "anti_bot_challenge"}
# The model's own HTTP call: in the capture (the scripted LLM answered 503), never in the browser's HAR.
NOT_IN_HAR = ("/v1/chat/completions",)


def _capture(run: Path) -> dict:
    return json.loads((run / "capture.json").read_text())


def _triage(run: Path) -> dict:
    return document(run)


def _cited(doc: dict) -> list[dict]:
    return doc["verdict"]["chain"] + doc["verdict"]["evidence"]


def test_the_lab_recorded_enough_distinct_failures():
    causes = {_capture(p)["cause"] for p in RECORDINGS}
    assert len(QUOTING) >= 5
    kinds = {_capture(p)["run_type"] for p in RECORDINGS}
    assert len(RECORDINGS) >= 12 and len(causes - {"none"}) >= 10
    assert {"task_v1", "workflow_run", "task_v2"} <= kinds


@pytest.mark.parametrize("run", RECORDINGS, ids=[p.name for p in RECORDINGS])
def test_real_recording_cause_and_status(run: Path):
    capture = _capture(run)
    doc = _triage(run)
    verdict = doc["verdict"]
    assert doc["run"]["status"] == capture["status"]
    assert verdict["cause"] == capture["cause"], verdict["summary"]
    assert verdict["category"] == category_of(capture["cause"])
    if capture["cause"] not in ("none", "canceled_by_user"):
        assert verdict["chain"] and verdict["evidence"], "a failure's verdict cites its chain and evidence"
    assert not [p for p in doc["problems"] if p["kind"] == "damaged"], doc["problems"]


@pytest.mark.parametrize("run", RECORDINGS, ids=[p.name for p in RECORDINGS])
def test_real_recording_element_and_requests(run: Path):
    capture = _capture(run)
    expect = capture["expect"]
    doc = _triage(run)
    decisive = doc["decisive_action"]
    if expect.get("element_id") and capture["run_type"] == "task_v1":
        assert decisive is not None and decisive["element_id"] == expect["element_id"]
    if expect.get("element_text") and decisive is not None and decisive["element_id"]:
        step = next(s for s in doc["steps"] if s["step_id"] == decisive["step_id"])
        action = next(a for a in step["actions"] if a["index"] == decisive["action_index"])
        element = action["element"] or {}
        names = " ".join(str(element.get(k) or "") for k in ("text", "label")) + " " + str(element.get("attributes"))
        assert expect["element_text"].lower() in names.lower(), element
    failures = doc["network_failures"]
    cited = {item["ref"] for item in _cited(doc)}
    for want in expect["failed_requests"]:
        if want["path"].startswith(NOT_IN_HAR) or (want["status"] is not None and want["status"] < 400):
            continue
        hits = [
            f
            for f in failures
            if f["method"] == want["method"]
            and urlsplit(f["url"]).path == want["path"]
            and f["status"] == want["status"]
        ]
        assert hits, f"{want} not among the failed requests"
        assert any(f"har:{f['har_index']}" in cited for f in hits), f"{want} is not cited by the verdict"


QUOTING = [p for p in RECORDINGS if _capture(p)["expect"].get("page_text") and _capture(p)["cause"] in SAYS_IT]


@pytest.mark.parametrize("run", QUOTING, ids=[p.name for p in QUOTING])
def test_real_recording_quotes_the_page(run: Path):
    text = _capture(run)["expect"]["page_text"]
    doc = _triage(run)
    assert any(text in item["detail"] for item in _cited(doc)), doc["verdict"]["chain"]


def _root_step_order(doc: dict) -> int | None:
    """The step order the chain's first link points at (a step, an action, or a request's step)."""
    chain = doc["verdict"]["chain"]
    if not chain:
        return None
    ref = chain[0]["ref"]
    orders = {s["step_id"]: s["order"] for s in doc["steps"]}
    if ref.startswith("step:"):
        return orders.get(ref.split("/", 1)[0].removeprefix("step:"))
    failure = next((f for f in doc["network_failures"] if ref == f"har:{f['har_index']}"), None)
    return orders.get(failure["step_id"]) if failure else None


ROOTED = [p for p in RECORDINGS if _capture(p)["expect"].get("failing_step_order") is not None]


@pytest.mark.parametrize("run", ROOTED, ids=[p.name for p in ROOTED])
def test_real_recording_chain_starts_where_the_failure_began(run: Path):
    doc = _triage(run)
    assert _root_step_order(doc) == _capture(run)["expect"]["failing_step_order"], doc["verdict"]["chain"]


# The three runs recorded before the lab existed (shared real-runs/, byte for byte, no capture.json): their
# causes from the stories in real-runs/README.md and their notes.md.
EARLIER = {"checkout_500": "site_server_error", "hallucinated_element": "element_missing", "success": "none"}


@pytest.mark.parametrize("name,cause", sorted(EARLIER.items()))
def test_the_runs_recorded_before_the_lab_name_their_cause(name: str, cause: str):
    run = REAL / name
    assert not (run / "capture.json").exists()
    assert _triage(run)["verdict"]["cause"] == cause


def test_every_real_run_is_asserted():
    assert {p.name for p in REAL.iterdir() if p.is_dir()} == {p.name for p in RECORDINGS} | set(EARLIER)

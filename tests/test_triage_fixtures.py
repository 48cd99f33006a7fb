"""Each fixture run against the ground truth its generator wrote (``expected.json``).

The expectations come from how the scenario was built, not from debugkit's output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from triaged import document

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RUNS = sorted(p for p in (FIXTURES / "runs").iterdir() if (p / "expected.json").is_file())


def _expected(run: Path) -> dict:
    return json.loads((run / "expected.json").read_text())


def _target(expected: dict) -> dict | None:
    return expected["failing_action"] or expected.get("decisive_action")


WITH_ELEMENT = [p for p in RUNS if _target(_expected(p)) and _expected(p)["element"] is not None]
WITH_FAILED_REQUESTS = [p for p in RUNS if _expected(p)["failed_requests"]]


def triage_json(path: Path, step: str | None = None) -> dict:
    return document(path, step=step)  # exactly what --json prints (tests/triaged.py)


def find_action(doc: dict, step_id: str, index: int) -> dict:
    step = next(s for s in doc["steps"] if s["step_id"] == step_id)
    return next(a for a in step["actions"] if a["index"] == index)


def test_there_are_enough_distinct_failures():
    causes = {_expected(p)["cause"] for p in RUNS}
    assert len(RUNS) >= 18 and len(WITH_ELEMENT) >= 8 and len(WITH_FAILED_REQUESTS) >= 8
    assert len(causes - {"none"}) >= 13


@pytest.mark.parametrize("run", RUNS, ids=[p.name for p in RUNS])
def test_verdict_and_failing_action_match_the_scenario(run: Path):
    expected = json.loads((run / "expected.json").read_text())
    doc = triage_json(run)
    assert doc["schema"] == "debugkit.triage/1"
    assert doc["run"]["status"] == expected["run_status"]
    assert doc["verdict"]["cause"] == expected["cause"], doc["verdict"]["summary"]
    assert doc["verdict"]["category"] == expected["category"]
    assert doc["verdict"]["summary"]
    assert doc["problems"] == []
    missing = {(m["step_id"], m["artifact_type"]) for m in doc["missing_artifacts"]}
    assert missing == {(m["step_id"], m["artifact_type"]) for m in expected.get("missing_artifacts", [])}

    failing = expected["failing_action"]
    if failing is None:
        assert doc["failing_action"] is None
        assert doc["failing_action_reason"]
    else:
        got = doc["failing_action"]
        for key in ("step_id", "action_index", "action_type", "element_id", "exception_type"):
            assert got[key] == failing[key], key
    if expected["cause"] != "none":
        assert doc["verdict"]["evidence"], "a verdict must cite evidence"
        assert doc["verdict"]["chain"], "a failure's verdict goes from a root cause to the symptom"
        assert 0 < doc["verdict"]["confidence"] <= 1


@pytest.mark.parametrize("run", WITH_ELEMENT, ids=[p.name for p in WITH_ELEMENT])
def test_element_facts_of_the_decisive_action(run: Path):
    expected = _expected(run)
    target = _target(expected)
    doc = triage_json(run)
    element = find_action(doc, target["step_id"], target["action_index"])["element"]
    want = expected["element"]
    assert element["found"] == want["found"]
    for key in ("tag", "interactable", "label"):
        assert element[key] == want[key], key
    assert (element["text"] or "") == (want["text"] or "")
    assert element["frame"] == want["frame"] or (element["frame"] is None and want["frame"] is None)


@pytest.mark.parametrize("run", WITH_FAILED_REQUESTS, ids=[p.name for p in WITH_FAILED_REQUESTS])
def test_failed_requests_are_attributed_to_the_decisive_action(run: Path):
    expected = _expected(run)
    doc = triage_json(run)
    failures = {(f["method"], f["url"]): f for f in doc["network_failures"]}
    for want in expected["failed_requests"]:
        got = failures[(want["method"], want["url"])]
        assert got["status"] == want["status"]
        if want.get("error"):
            assert want["error"] in got["error"]
        owner = want["action"]  # the action that fired it (None: the run's first navigation)
        if owner is not None:
            assert got["step_id"] == owner["step_id"]
            assert got["action_index"] == owner["action_index"]
            action = find_action(doc, owner["step_id"], owner["action_index"])
            assert any(n["url"] == want["url"] and n["failed"] for n in action["network"])
        else:
            assert got["action_index"] is None
        # the verdict cites the request itself
        assert any(e["ref"] == f"har:{got['har_index']}" for e in doc["verdict"]["evidence"])


def test_hallucinated_id_is_not_found_and_cited():
    doc = triage_json(FIXTURES / "runs" / "hallucinated_id")
    assert doc["verdict"]["rule"] == "hallucinated_element_id"
    kinds = {e["kind"] for e in doc["verdict"]["evidence"]}
    assert {"result", "element"} <= kinds
    failing = doc["failing_action"]
    action = find_action(doc, failing["step_id"], failing["action_index"])
    assert action["element"]["found"] is False and action["element"]["source"] is None
    assert action["result"]["stop_execution_on_failure"] is False


def test_iframe_element_has_its_frame_chain_and_no_html():
    doc = triage_json(FIXTURES / "runs" / "iframe_element")
    failing = doc["failing_action"]
    element = find_action(doc, failing["step_id"], failing["action_index"])["element"]
    assert element["frame_chain"] == ["AAAF", "BAAD"]  # outermost first
    assert element["html"] is None and "iframe" in element["note"]


def test_legacy_numeric_id_vanished_before_the_action():
    doc = triage_json(FIXTURES / "runs" / "legacy_numeric_ids")
    assert doc["verdict"]["rule"] == "element_vanished"
    assert any("already gone" in e["detail"] for e in doc["verdict"]["evidence"])


def test_retry_ids_resolve_in_their_own_step():
    doc = triage_json(FIXTURES / "runs" / "retry")
    attempts = [s for s in doc["steps"] if s["order"] == 1]
    assert [s["retry_index"] for s in attempts] == [0, 1]
    texts = {
        s["retry_index"]: [a["element"]["text"] for a in s["actions"] if a["element_id"] == "AAAM"] for s in attempts
    }
    # the same id names a different element after the retry's new scrape
    assert texts[0] and texts[1] and texts[0] != texts[1]
    assert "recovered" in doc["verdict"]["summary"]


def test_typed_password_never_appears():
    run = FIXTURES / "runs" / "login_401"
    secret = json.loads((run / "expected.json").read_text())["secrets"]["password"]
    text = json.dumps(triage_json(run))
    assert secret not in text
    assert "[masked: " in text


def test_navigation_noise_is_marked_not_blamed():
    doc = triage_json(FIXTURES / "runs" / "navigation_error")
    noise = [f for f in doc["network_failures"] if f["noise"]]
    assert noise and all("ERR_ABORTED" in f["error"] for f in noise)
    assert all(e["ref"] != f"har:{n['har_index']}" for n in noise for e in doc["verdict"]["evidence"])


def test_step_focus_limits_everything_to_one_step():
    run = FIXTURES / "runs" / "disabled_element"
    full = triage_json(run)
    target = full["failing_action"]["step_id"]
    focused = triage_json(run, step=target)
    assert focused["focus"] == {"step_id": target}
    assert [s["step_id"] for s in focused["steps"]] == [target]
    assert focused["verdict"] == full["verdict"]
    step = full["steps"][[s["step_id"] for s in full["steps"]].index(target)]
    assert triage_json(run, step=f"{step['order']}.{step['retry_index']}")["focus"] == {"step_id": target}


WITH_PAGE_TEXT = [p for p in RUNS if _expected(p).get("page_text")]


@pytest.mark.parametrize("run", WITH_PAGE_TEXT, ids=[p.name for p in WITH_PAGE_TEXT])
def test_the_chain_cites_the_pages_own_words(run: Path):
    expected = _expected(run)
    doc = triage_json(run)
    texts = [link for link in doc["verdict"]["chain"] if link["kind"] == "page_text"]
    assert any(expected["page_text"] in link["detail"] for link in texts), doc["verdict"]["chain"]


def test_the_chain_starts_at_the_root_cause_not_the_symptom():
    run = FIXTURES / "runs" / "results_502_disabled"
    expected = _expected(run)
    doc = triage_json(run)
    chain = doc["verdict"]["chain"]
    root = expected["chain_root"]
    assert chain[0]["kind"] == root["kind"] == "request" and "502" in chain[0]["detail"]
    failure = next(f for f in doc["network_failures"] if chain[0]["ref"] == f"har:{f['har_index']}")
    assert failure["step_id"] == root["step_id"]
    # ... and ends at the symptom: the failing click on the disabled button
    assert chain[-1]["kind"] == "result" and "InteractWithDisabledElement" in chain[-1]["detail"]
    assert any(link["kind"] == "element" and "disabled" in link["detail"] for link in chain)


def test_typeahead_aborts_are_noise_with_a_reason_and_not_blamed():
    doc = triage_json(FIXTURES / "runs" / "search_late_500")
    expected = _expected(FIXTURES / "runs" / "search_late_500")
    noise = {f["url"]: f for f in doc["network_failures"] if f["noise"]}
    for want in expected["noise_requests"]:
        assert "same endpoint" in noise[want["url"]]["noise_reason"]
    cited = {e["ref"] for e in doc["verdict"]["evidence"]} | {c["ref"] for c in doc["verdict"]["chain"]}
    assert not any(f"har:{f['har_index']}" in cited for f in noise.values())


def test_a_silent_fallback_click_is_listed_even_though_it_reported_success():
    doc = triage_json(FIXTURES / "runs" / "overlay_fallback")
    assert doc["failing_action"] is None  # every action reported success ...
    silent = doc["silent_failures"]
    assert len(silent) == 3 and all(
        s["kind"] == "fallback" and "intercepts pointer events" in s["detail"] for s in silent
    )
    assert doc["verdict"]["cause"] == "click_intercepted"

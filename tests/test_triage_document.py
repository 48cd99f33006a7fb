"""The bounded ``debugkit.triage/1`` document (issue 12): a long run's ``--json`` stays small; ``--full`` has it all."""

from __future__ import annotations

import json
from pathlib import Path

from test_report_html import busy_triage

from debugkit.analysis.triage import Triage
from debugkit.pipeline import place
from debugkit.report.json_report import LISTED_FAILURES, LISTED_RUN_FAILURES, triage_document


def busy(extra: int = 6000) -> Triage:
    """test_report_html's long run (every 40th of ``extra`` more requests a 404), every other failure noise,
    every action located (without Chromium: the location says why)."""
    t = busy_triage(extra)
    for n, entry in enumerate(e for e in t.run.network if e.failed and e.index >= 100):
        entry.noise, entry.noise_reason = (True, "test noise") if n % 2 else (False, None)
    place(t, "all", render=False)
    return t


def test_a_long_runs_document_lists_a_bounded_share_with_counts_and_the_cited_request():
    t = busy()
    doc = triage_document(t)
    full = triage_document(t, full=True)
    failed = sum(1 for e in t.run.network if e.failed)
    assert doc["full"] is False and doc["network_failures_count"] == failed == full["network_failures_count"]
    assert len(doc["network_failures"]) == LISTED_RUN_FAILURES < failed == len(full["network_failures"])
    cited = {int(e["ref"][4:]) for e in doc["verdict"]["evidence"] if e["ref"].startswith("har:")}
    assert cited and cited <= {f["har_index"] for f in doc["network_failures"]}  # what the verdict cites is there
    position = {e.index: n for n, e in enumerate(t.run.network)}
    listed = [position[f["har_index"]] for f in doc["network_failures"]]
    assert listed == sorted(listed)  # in the run's order
    for step, step_full in zip(doc["steps"], full["steps"], strict=True):
        assert len(step["network"]) <= LISTED_FAILURES and step["network_counts"] == step_full["network_counts"]
        for action, action_full in zip(step["actions"], step_full["actions"], strict=True):
            assert len(action["network"]) <= LISTED_FAILURES and all(r["failed"] for r in action["network"])
            assert action["network_counts"] == action_full["network_counts"]
            if action_full["network_counts"]["failed"] >= LISTED_FAILURES:  # real failures before noise
                assert not any(r["noise"] for r in action["network"])
    assert len(json.dumps(doc)) * 3 < len(json.dumps(full))


def test_locations_are_given_for_the_steps_the_document_shows():
    """Bounded: the decisive and the failing action's steps carry their elements' locations; --full: every step."""
    t = busy(40)
    doc, full = triage_document(t), triage_document(t, full=True)
    decisive = doc["decisive_action"]["step_id"]
    for step, step_full in zip(doc["steps"], full["steps"], strict=True):
        for action, action_full in zip(step["actions"], step_full["actions"], strict=True):
            if action_full["element"] is None:
                continue
            assert action_full["element"]["location"] is not None
            if step["step_id"] == decisive:
                assert action["element"]["location"] == action_full["element"]["location"]
            elif step["step_id"] != (doc["failing_action"] or {}).get("step_id"):
                assert action["element"]["location"] is None
    assert len({s["step_id"] for s in doc["steps"]}) > 1


def test_without_a_decisive_or_failing_action_every_step_is_located():
    """Nothing to focus on (a recorded page: no action ran): the bounded document locates every step."""
    import debugkit

    modal = Path(__file__).resolve().parent.parent / "fixtures" / "recorded" / "modal"
    doc = debugkit.triage(modal, render=False).to_json()
    assert doc["decisive_action"] is None and doc["failing_action"] is None
    elements = [a["element"] for s in doc["steps"] for a in s["actions"] if a["element"]]
    assert elements and all(e["location"] is not None for e in elements)

"""The rule registry: the README's table is the code's, and every rule has a run that it decides.

Rules with a fixture run (generated or recorded) are checked on it; the others on a small run
built here from the model, the way a source would hand it over, each with the one signal the
rule reads.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from triaged import as_recorded

from debugkit.analysis.causes import CAUSES, category_of
from debugkit.analysis.rules import RULES, rule_names
from debugkit.analysis.triage import analyse
from debugkit.model import Action, ActionResult, NetworkEntry, RunData, StepData

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
README = (ROOT / "README.md").read_text()


def _table(heading: str) -> list[list[str]]:
    """The rows of the first table after a README heading, as cell lists."""
    section = README.split(heading, 1)[1]
    rows = []
    for line in section.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not set(cells[0]) <= {"-"} and cells[0] not in ("rule", "cause"):
                rows.append(cells)
        elif rows:
            break
    return rows


def test_the_readme_rule_table_is_the_registry_in_order():
    ids = [re.sub(r"`", "", row[0]) for row in _table("### The rules")]
    assert ids == rule_names()
    assert len(set(ids)) == len(ids) == len(RULES)


def test_the_readme_cause_table_is_the_vocabulary_and_its_categories():
    rows = _table("### The cause vocabulary")
    table = {row[0].strip("`"): row[2].strip("`") for row in rows}
    assert set(table) == set(CAUSES)
    for cause, category in table.items():
        assert (category_of(cause) or "null") == category, cause


# --- rules decided by a fixture run ---------------------------------------------------------

BY_FIXTURE = {
    "run_completed": "runs/success",
    "browser_crashed": "runs/browser_crash",
    "anti_bot_challenge": "runs/bot_challenge",
    "proxy_failed": "runs/proxy_error",
    "navigation_failed": "runs/navigation_error",
    "auth_rejected": "runs/login_401",
    "site_server_error": "runs/results_502_disabled",
    "site_rejected_request": "runs/signup_422",
    "hallucinated_element_id": "runs/hallucinated_id",
    "element_vanished": "runs/legacy_numeric_ids",
    "click_intercepted": "real/overlay_click_js_noop",
    "silent_fallback": "runs/overlay_fallback",
    "element_replaced": "real/stale_id_spa",
    "data_extraction_failed": "real/extraction_empty",
    "canceled_by_user": "real/canceled_by_user",
    "llm_provider_error": "real/llm_503",
    "llm_invalid_output": "real/llm_truncated_json",
    "page_load_timeout": "real/page_load_timeout",
    "element_disabled": "runs/disabled_element",
    "element_not_actionable": "runs/iframe_element",
    "timeout_pending_request": "runs/pending_timeout",
    "agent_loop": "runs/repeated_max_steps",
}


@pytest.mark.parametrize("rule,fixture", sorted(BY_FIXTURE.items()))
def test_rule_decides_its_fixture(rule: str, fixture: str):
    verdict = as_recorded(FIXTURES / fixture).verdict
    assert verdict.rule == rule, verdict.summary
    assert verdict.evidence


# --- rules decided by a run built here ------------------------------------------------------

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def _run(status: str, *, reason: str | None = None, steps: list[StepData] | None = None, **extra) -> RunData:
    run = RunData(
        source="built",
        source_kind="run_folder",
        run_id="tsk_1",
        run_type="task_v1",
        status=status,
        failure_reason=reason,
        steps_from_api=True,
        network_loaded=True,
        **extra,
    )
    run.steps = steps or []
    run.created_at = T0
    run.finished_at = T0 + timedelta(seconds=60)
    return run


def _step(order: int, *actions: Action, status: str = "completed", **extra) -> StepData:
    step = StepData(
        step_id=f"stp_{order}",
        task_id="tsk_1",
        order=order,
        retry_index=0,
        status=status,
        created_at=T0 + timedelta(seconds=10 * order),
        modified_at=T0 + timedelta(seconds=10 * order + 8),
        has_output=True,
        **extra,
    )
    for action in actions:
        action.step_id = step.step_id
    step.actions = list(actions)
    return step


def _action(index: int, kind: str, *results: ActionResult, at: float = 2.0, **extra) -> Action:
    return Action(
        step_id="",
        index=index,
        action_type=kind,
        results=list(results),
        executed=True,
        status="failed" if results and not results[-1].success else "completed",
        started_at=T0 + timedelta(seconds=at),
        finished_at=T0 + timedelta(seconds=at + 1),
        **extra,
    )


def _entry(
    index: int,
    url: str,
    status: int | None,
    at: float,
    *,
    method: str = "GET",
    document=False,
    error: str | None = None,
    pending=False,
) -> NetworkEntry:
    failed = pending or error is not None or (status is not None and status >= 400)
    return NetworkEntry(
        index=index,
        url=url,
        method=method,
        status=status,
        started_at=T0 + timedelta(seconds=at),
        time_ms=None if pending else 20.0,
        failed=failed,
        error=error or ("pending (no response)" if pending else f"HTTP {status}" if failed else None),
        pending=pending,
        is_document=document,
    )


OK = ActionResult(success=True)


def _verdict(run: RunData):
    return analyse(run).diagnosis.verdict


def test_data_extraction_failed():
    run = _run(
        "completed", steps=[_step(0, _action(0, "extract", OK))], extraction_goal="the order total", extracted=None
    )
    verdict = _verdict(run)
    assert (verdict.rule, verdict.cause) == ("data_extraction_failed", "data_extraction_failed")


def test_canceled_by_user():
    run = _run("canceled", steps=[_step(0, _action(0, "click", OK), status="canceled")])
    verdict = _verdict(run)
    assert (verdict.rule, verdict.cause, verdict.category) == ("canceled_by_user", "canceled_by_user", None)


def test_llm_provider_error():
    step = _step(0, status="failed", llm_prompts=1, llm_responses=0)
    run = _run("failed", reason="LLMProviderError: the model provider returned 503 Service Unavailable", steps=[step])
    verdict = _verdict(run)
    assert (verdict.rule, verdict.cause) == ("llm_provider_error", "llm_provider_error")
    assert "1 model call(s) asked, 0 answered" in verdict.chain[0].detail


def test_llm_invalid_output():
    missing = ActionResult(success=False, exception_type="MissingElement", exception_message="Found no elements.")
    step = _step(0, _action(0, "click", missing), status="failed", llm_unusable=['{"actions": [{"action_type": "CLI'])
    verdict = _verdict(_run("failed", steps=[step]))
    assert (verdict.rule, verdict.cause) == ("llm_invalid_output", "llm_invalid_output")


def test_page_load_timeout():
    step = _step(0, status="failed", step_exception="FailedToNavigateToUrl")
    run = _run(
        "failed",
        reason="Failed to navigate to URL. URL:https://slow.example/, Error:Timeout 30000ms exceeded.",
        steps=[step],
    )
    run.network = [_entry(0, "https://slow.example/", None, 1.0, document=True, error="net::ERR_TIMED_OUT")]
    verdict = _verdict(run)
    assert (verdict.rule, verdict.cause) == ("page_load_timeout", "page_load_timeout")


def test_exception_type():
    totp = ActionResult(success=False, exception_type="NoTOTPSecretFound", exception_message="no totp secret")
    verdict = _verdict(_run("failed", steps=[_step(0, _action(0, "input_text", totp))]))
    assert (verdict.rule, verdict.cause) == ("exception_type", "auth_rejected")


def test_action_timeout():
    timeout = ActionResult(success=False, exception_type="TimeoutError", exception_message="Timeout 30000ms exceeded.")
    verdict = _verdict(_run("failed", steps=[_step(0, _action(0, "click", timeout))]))
    assert (verdict.rule, verdict.cause) == ("action_timeout", "page_load_timeout")


def test_pending_request():
    run = _run("timed_out", reason="Task timed out", steps=[_step(0, _action(0, "click", OK))])
    run.network = [_entry(0, "https://shop.example/api/slow", None, 2.5, pending=True)]
    verdict = _verdict(run)
    assert (verdict.rule, verdict.cause) == ("pending_request", "pending_request_timeout")


def test_agent_terminated():
    terminate = _action(0, "terminate", OK, reasoning="The product is sold out; there is nothing to buy.")
    verdict = _verdict(_run("terminated", reason="The product is sold out", steps=[_step(0, terminate)]))
    assert verdict.rule == "agent_terminated" and verdict.cause == "unknown"
    assert "sold out" in verdict.summary


def test_network_only():
    run = _run("failed", steps=[])
    run.steps_from_api = False
    run.network = [_entry(0, "https://shop.example/api/order", 503, 1.0, method="POST")]
    verdict = _verdict(run)
    assert (verdict.rule, verdict.cause) == ("network_only", "site_server_error")


def test_failure_text_keywords():
    verdict = _verdict(_run("failed", reason="Element not found: no matching element for the Apply button"))
    assert (verdict.rule, verdict.cause) == ("failure_text_keywords", "element_missing")


def test_no_signal():
    verdict = _verdict(_run("failed", reason="Something happened."))
    assert (verdict.rule, verdict.cause, verdict.category) == ("no_signal", "unknown", "UNKNOWN")


def test_every_rule_has_a_test_here():
    tested = set(BY_FIXTURE) | {
        name.removeprefix("test_") for name in globals() if name.startswith("test_") and name[5:] in rule_names()
    }
    assert tested == set(rule_names())

"""The verdict: one of Skyvern's categories, a confidence, a summary, and the evidence behind it.

Rules run in order and the first that fires decides. Evidence from results, elements and the
network comes before keywords in ``failure_reason``; the README's table mirrors ``RULES``.
Pure functions over a :class:`Correlation`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from debugkit.analysis.categories import classify_text
from debugkit.analysis.correlate import ActionView, Correlation, StepView
from debugkit.model import ConsoleLine, NetworkEntry


@dataclass
class Evidence:
    kind: str  # result | element | request | console | failure_text | action | step
    ref: str  # step:<id>/action:<i>, har:<index>, console:<line>, run.failure_reason, step:<id>
    detail: str


@dataclass
class Verdict:
    category: str | None  # None only when the run completed
    confidence: float
    summary: str
    rule: str
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class FailingAction:
    view: ActionView | None
    reason: str | None = None  # why there is none


@dataclass
class Diagnosis:
    verdict: Verdict
    failing: FailingAction
    decisive: ActionView | None  # the action the verdict is about (failing, or the one whose request failed)


Outcome = tuple[Verdict, ActionView | None] | None
Rule = Callable[[Correlation, FailingAction], Outcome]

STATE_EXCEPTIONS = frozenset({"InteractWithDisabledElement", "InputToReadonlyElement", "InputToInvisibleElement"})
INTERACTION_EXCEPTIONS = frozenset(
    {"FailToClick", "FailToHover", "ElementIsNotLabel", "InteractWithDropdownContainer", "ErrFoundSelectableElement"}
)
SELECT_EXCEPTIONS = frozenset(
    {
        "EmptySelect",
        "OptionIndexOutOfBound",
        "FailToSelectByLabel",
        "FailToSelectByValue",
        "FailToSelectByIndex",
        "NoElementMatchedForTargetOption",
        "MultipleElementsFound",
    }
)
DIRECT_EXCEPTIONS: dict[str, tuple[str, float, str]] = {
    "LLMProviderError": ("LLM_ERROR", 0.9, "the model provider failed"),
    "CaptchaSolveError": ("ANTI_BOT_DETECTION", 0.85, "a CAPTCHA could not be solved"),
    "ScreenshotTargetClosed": ("BROWSER_ERROR", 0.85, "the page closed under the action"),
    "TargetClosedError": ("BROWSER_ERROR", 0.85, "the page closed under the action"),
    "NoTOTPSecretFound": ("CREDENTIAL_ERROR", 0.85, "no TOTP secret was configured"),
    "FailedToFetchSecret": ("CREDENTIAL_ERROR", 0.85, "a secret could not be fetched"),
    "SecretInputMismatch": ("CREDENTIAL_ERROR", 0.75, "the typed secret did not match"),
    "TOTPExpiredError": ("AUTH_FAILURE", 0.8, "the one-time code expired"),
    "ImaginaryFileUrl": ("LLM_REASONING_ERROR", 0.8, "the model invented a file URL"),
    "ImaginarySecretValue": ("LLM_REASONING_ERROR", 0.8, "the model invented a secret value"),
    "MissingFileUrl": ("PARAMETER_BINDING_ERROR", 0.6, "no file URL was provided for the upload"),
}
_STATE_WORDS = re.compile(
    r"not visible|not enabled|disabled|not stable|intercepts pointer events|obscured|covered|readonly",
    re.IGNORECASE,
)
_LOCATOR_WORDS = re.compile(r"locator|wait_for_selector|waiting for selector", re.IGNORECASE)
TAG_NAMES = {"a": "link", "select": "dropdown", "textarea": "text area"}
_AUTH_URL = re.compile(r"log-?in|sign-?in|auth|session|token|oauth|account", re.IGNORECASE)


# --- descriptions -----------------------------------------------------------------------------


def describe_element(view: ActionView) -> str:
    join = view.element
    element_id = view.action.element_id or "?"
    if join is None or join.element is None:
        return f"element {element_id}"
    element = join.element
    name = join.label or element.text
    name = name or element.attributes.get("placeholder") or element.attributes.get("name")
    text = f" '{_clip(str(name), 40)}'" if name else ""
    kind = TAG_NAMES.get(element.tag or "", element.tag or "element")
    return f"{kind}{text} ({element_id})"


def describe_action(view: ActionView) -> str:
    verb = view.action.action_type.replace("_", " ")
    if view.action.element_id:
        return f"{verb} on {describe_element(view)} in step {view.step.label}"
    return f"{verb} in step {view.step.label}"


def describe_request(entry: NetworkEntry) -> str:
    outcome = entry.error or (f"HTTP {entry.status}" if entry.status else "no status")
    return f"{entry.method} {_clip(entry.url, 120)} -> {outcome}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _result_evidence(view: ActionView) -> Evidence:
    result = view.action.result
    if result is None:
        return Evidence("action", view.ref, describe_action(view))
    detail = f"{describe_action(view)}: {result.exception_type or ('success' if result.success else 'failure')}"
    if result.exception_message:
        detail += f": {_clip(result.exception_message, 200)}"
    return Evidence("result", view.ref, detail)


def _element_evidence(view: ActionView) -> Evidence | None:
    join = view.element
    if join is None:
        return None
    if join.found is False:
        return Evidence("element", view.ref, join.note or f"id {view.action.element_id} not found")
    if join.element is None:
        return Evidence("element", view.ref, join.note or "element facts unavailable")
    element = join.element
    facts = [describe_element(view), f"from the {join.source or 'css map'}"]
    if element.frame_chain:
        facts.append("in iframe " + " > ".join(element.frame_chain))
    if element.attributes.get("disabled") is True:
        facts.append("disabled")
    if element.interactable is False:
        facts.append("not interactable")
    if join.html and join.html.present_after_action is False:
        facts.append("gone from the page after the action")
    return Evidence("element", view.ref, ", ".join(facts))


def _request_evidence(entry: NetworkEntry, view: ActionView | None) -> Evidence:
    where = f" in the window of {describe_action(view)}" if view else ""
    return Evidence("request", f"har:{entry.index}", describe_request(entry) + where)


def _console_evidence(line: ConsoleLine) -> Evidence:
    return Evidence("console", f"console:{line.line_no}", f"[{line.level}] {_clip(line.message, 160)}")


def _failure_text_evidence(corr: Correlation) -> Evidence | None:
    reason = corr.run.failure_reason
    if not reason:
        return None
    return Evidence("failure_text", "run.failure_reason", _clip(reason, 240))


def _with(*items: Evidence | None) -> list[Evidence]:
    return [item for item in items if item is not None]


def _error_console(view: ActionView, limit: int = 2) -> list[Evidence]:
    return [_console_evidence(line) for line in view.console if line.level == "error"][:limit]


# --- the failing action -----------------------------------------------------------------------


def find_failing_action(corr: Correlation) -> FailingAction:
    """The decisive failed action: the last failed ``[action, results]`` pair of the latest step."""
    run = corr.run
    if run.status == "completed":
        return FailingAction(None, "the run completed")
    for step in reversed(corr.steps):
        failed = [view for view in step.actions if view.real_failure]
        if failed:
            return FailingAction(failed[-1])
        if step.step.step_exception and step.step.has_output:
            return FailingAction(
                None, f"step {step.step.label} failed with {step.step.step_exception} before any action failed"
            )
    terminate = terminate_action(corr)
    if terminate is not None:
        reasoning = _clip(terminate.action.reasoning or "no reason given", 160)
        where = terminate.step.label
        return FailingAction(None, f"no action failed; the agent chose TERMINATE in step {where}: {reasoning}")
    if not corr.all_actions():
        return FailingAction(None, "no action was chosen or run")
    if not run.steps_from_api:
        return FailingAction(None, "action results are unknown: the source has no step output")
    return FailingAction(None, "no action failed: every executed action reported success")


def terminate_action(corr: Correlation) -> ActionView | None:
    """The TERMINATE the agent ran last, if the run ended with one (it reports success)."""
    executed = [view for view in corr.all_actions() if view.action.executed]
    if executed and executed[-1].action.action_type == "terminate":
        return executed[-1]
    return None


# --- rules ------------------------------------------------------------------------------------


def rule_completed(corr: Correlation, failing: FailingAction) -> Outcome:
    if corr.run.status != "completed":
        return None
    recovered = [view for view in corr.all_actions() if view.real_failure]
    evidence = [_result_evidence(view) for view in recovered[:3]]
    summary = "The run completed."
    if recovered:
        summary += f" It recovered from {len(recovered)} failed action(s) on the way."
    return Verdict(None, 1.0, summary, "run_completed", evidence), None


def rule_navigation(corr: Correlation, failing: FailingAction) -> Outcome:
    run = corr.run
    step_exc = next((s for s in corr.steps if s.step.step_exception and "Navigat" in s.step.step_exception), None)
    reason = (run.failure_reason or "").lower()
    docs = [e for e in run.network if e.is_document and e.failed and not e.noise]
    executed = [v for v in corr.all_actions() if v.action.executed]
    if not (step_exc or "failed to navigate" in reason or (docs and not executed)):
        return None
    doc = docs[-1] if docs else None
    timed_out = bool(doc and (doc.pending or "TIMED_OUT" in (doc.error or ""))) or "timeout" in reason
    category = "PAGE_LOAD_TIMEOUT" if timed_out else "NAVIGATION_FAILURE"
    if doc:
        summary = f"The page never loaded: {describe_request(doc)}."
    else:
        summary = "Skyvern could not navigate to the page."
    evidence = _with(
        _request_evidence(doc, None) if doc else None,
        Evidence("step", f"step:{step_exc.step.step_id}", f"step {step_exc.step.label}: {step_exc.step.step_exception}")
        if step_exc
        else None,
        _failure_text_evidence(corr),
    )
    return Verdict(category, 0.9 if doc else 0.75, summary, "navigation_failed", evidence), None


def rule_failing_action(corr: Correlation, failing: FailingAction) -> Outcome:
    view = failing.view
    if view is None or view.action.result is None or view.action.result.success:
        return None
    result = view.action.result
    exc = result.exception_type or ""
    message = result.exception_message or ""
    join = view.element
    base = _with(_result_evidence(view), _element_evidence(view))
    failed_requests = [_request_evidence(e, view) for e in view.network if e.failed and not e.noise][:3]

    if exc == "MissingElement":
        if join is not None and (join.found is False or join.in_scrape is False):
            before = result.stop_execution_on_failure is False
            summary = (
                f"The model chose element id {view.action.element_id}, which is not on the page "
                f"(a hallucinated id); the {view.action.action_type.replace('_', ' ')} "
                f"{'never ran' if before else 'failed'} in step {view.step.label}."
            )
            return Verdict("LLM_REASONING_ERROR", 0.9, summary, "hallucinated_element_id", base), view
        summary = _sentence(
            f"{describe_element(view)} was on the page when it was scraped but gone when the "
            f"{view.action.action_type.replace('_', ' ')} ran in step {view.step.label}."
        )
        extra = _vanished_evidence(corr, view)
        return Verdict("ELEMENT_NOT_FOUND", 0.8, summary, "element_vanished", base + extra), view

    disabled = bool(join and join.element and join.element.attributes.get("disabled") is True)
    if exc in STATE_EXCEPTIONS or (exc in INTERACTION_EXCEPTIONS and (disabled or _STATE_WORDS.search(message))):
        state = "disabled" if disabled or exc == "InteractWithDisabledElement" else "not ready"
        if exc == "InputToReadonlyElement":
            state = "read-only"
        if exc == "InputToInvisibleElement":
            state = "invisible"
        summary = (
            f"The {view.action.action_type.replace('_', ' ')} on {describe_element(view)} failed in step "
            f"{view.step.label}: the element was {state} ({exc})."
        )
        return Verdict("ELEMENT_STATE_TIMEOUT", 0.85, summary, "element_not_ready", base + failed_requests), view

    if exc in INTERACTION_EXCEPTIONS or exc in SELECT_EXCEPTIONS:
        where = ""
        if join and join.element and join.element.frame_chain:
            where = " inside iframe " + " > ".join(join.element.frame_chain)
        summary = (
            f"Skyvern could not act on {describe_element(view)}{where} in step {view.step.label} ({exc})."
        )
        return Verdict("ELEMENT_NOT_FOUND", 0.75, summary, "element_unreachable", base + failed_requests), view

    if exc in DIRECT_EXCEPTIONS:
        category, confidence, what = DIRECT_EXCEPTIONS[exc]
        summary = _sentence(f"{describe_action(view)} failed: {what} ({exc}).")
        return Verdict(category, confidence, summary, "exception_type", base), view

    if "Timeout" in exc or "timeout" in message.lower():
        pending = [e for e in view.network if e.pending and not e.noise]
        if pending:
            summary = _sentence(
                f"{describe_action(view)} timed out; a request in its window never answered: "
                f"{pending[0].method} {_clip(pending[0].url, 120)}."
            )
            evidence = base + [_request_evidence(e, view) for e in pending[:3]]
            return Verdict("PAGE_LOAD_TIMEOUT", 0.85, summary, "timeout_pending_request", evidence), view
        if _LOCATOR_WORDS.search(message):
            summary = _sentence(f"{describe_action(view)} timed out waiting for the element ({exc}).")
            return Verdict("ELEMENT_STATE_TIMEOUT", 0.75, summary, "timeout_locator", base), view
        summary = _sentence(f"{describe_action(view)} timed out ({exc or 'timeout'}).")
        return Verdict("PAGE_LOAD_TIMEOUT", 0.7, summary, "timeout", base + failed_requests), view
    return None


def rule_chosen_id_missing(corr: Correlation, failing: FailingAction) -> Outcome:
    """Without results: a chosen element id that is nowhere in its step's scrape."""
    if corr.run.steps_from_api:
        return None
    for step in reversed(corr.steps):
        missing = [v for v in step.actions if v.element and v.element.found is False]
        if missing:
            view = missing[-1]
            summary = (
                f"The model chose element id {view.action.element_id} in step {view.step.label}, which is not on "
                "the page (a hallucinated id); results are unknown without step output."
            )
            return Verdict("LLM_REASONING_ERROR", 0.7, summary, "hallucinated_element_id", _with(
                _element_evidence(view), Evidence("action", view.ref, describe_action(view))
            )), view
    return None


def _vanished_evidence(corr: Correlation, view: ActionView) -> list[Evidence]:
    """Was the element already gone in the html_action of the action before it?"""
    step = view.step
    same_step = next(v for v in corr.steps if v.step is step)
    previous = [
        v for v in same_step.actions if v.action.index < view.action.index and v.post_html_index is not None
    ]
    if not previous or not view.action.element_id:
        return []
    prev = previous[-1]
    snapshot = step.html_actions[prev.post_html_index] if prev.post_html_index is not None else None
    if snapshot is None:
        return []
    present = snapshot.has(view.action.element_id)
    state = "still present" if present else "already gone"
    return [
        Evidence(
            "element",
            prev.ref,
            f"id {view.action.element_id} {state} in the page after the previous action ({describe_action(prev)})",
        )
    ]


def rule_auth_network(corr: Correlation, failing: FailingAction) -> Outcome:
    candidates: list[tuple[NetworkEntry, ActionView]] = []
    for entry in corr.run.network:
        view = corr.action_of(entry)
        if view is None or entry.noise or entry.status not in (401, 403):
            continue
        if entry.status == 401 or _AUTH_URL.search(entry.url) or _has_password_field(view):
            candidates.append((entry, view))
    if not candidates:
        return None
    entry, view = candidates[-1]
    summary = f"The site rejected the login: {describe_request(entry)} after {describe_action(view)}."
    evidence = [_request_evidence(e, v) for e, v in candidates[-3:]]
    evidence += _with(_element_evidence(view), *_error_console(view))
    terminate = terminate_action(corr)
    if terminate is not None and terminate.action.reasoning:
        reasoning = _clip(terminate.action.reasoning, 200)
        evidence.append(Evidence("action", terminate.ref, f"terminate: {reasoning}"))
    evidence += _with(_failure_text_evidence(corr))
    return Verdict("AUTH_FAILURE", 0.85, summary, "auth_rejected", evidence), view


def _has_password_field(view: ActionView) -> bool:
    elements = view.step.elements or {}
    return any(str(e.attributes.get("type", "")).lower() == "password" for e in elements.values())


def rule_site_error(corr: Correlation, failing: FailingAction) -> Outcome:
    hits: list[tuple[NetworkEntry, ActionView]] = []
    estimated = False
    for entry in corr.run.network:
        if entry.status is None or entry.status < 500 or entry.noise:
            continue
        view = corr.action_of(entry)
        if view is None:  # no action times (no step output): the step's last web action is the likely one
            step = corr.step_of(entry)
            view = _last_web_action(step) if step else None
            estimated = estimated or view is not None
        if view is not None:
            hits.append((entry, view))
    if not hits:
        return None
    entry, view = hits[-1]
    same = [e for e, _ in hits if (e.method, _path(e.url)) == (entry.method, _path(entry.url))]
    steps = {v.step.step_id for _, v in hits}
    repeat = f" ({len(same)} times in {len(steps)} step(s))" if len(same) > 1 else ""
    category = "NAVIGATION_FAILURE" if entry.is_document else "WRONG_PAGE_STATE"
    tail = ""
    if failing.view is None and corr.run.steps_from_api:
        tail = "; every action reported success, so the agent kept trying"
    when = "during the step of" if estimated else "after"
    summary = f"The site failed: {describe_request(entry)} {when} {describe_action(view)}{repeat}{tail}."
    evidence = [_request_evidence(e, v) for e, v in hits[-3:]]
    evidence += _with(_element_evidence(view), *_error_console(view), _failure_text_evidence(corr))
    return Verdict(category, 0.6 if estimated else 0.85, summary, "site_server_error", evidence), view


def _last_web_action(step: StepView) -> ActionView | None:
    candidates = [v for v in step.actions if v.action.element_id and v.action.executed is not False]
    return candidates[-1] if candidates else None


def _path(url: str) -> str:
    return url.split("?", 1)[0]


def rule_pending_request(corr: Correlation, failing: FailingAction) -> Outcome:
    executed = [v for v in corr.all_actions() if v.action.executed]
    if not executed:
        return None
    last = failing.view or executed[-1]
    pending = [e for e in last.network if e.pending and not e.noise]
    timed_out = corr.run.status == "timed_out" or "timeout" in (corr.run.failure_reason or "").lower()
    if not pending or not timed_out:
        return None
    summary = _sentence(
        f"{describe_action(last)} waited on {pending[0].method} {_clip(pending[0].url, 120)}, which never answered."
    )
    evidence = [_request_evidence(e, last) for e in pending[:3]] + _with(_failure_text_evidence(corr))
    return Verdict("PAGE_LOAD_TIMEOUT", 0.8, summary, "pending_request", evidence), last


def rule_repeated_action(corr: Correlation, failing: FailingAction) -> Outcome:
    """The same action on the same element in three or more steps in a row, to the step limit."""
    reason = (corr.run.failure_reason or "").lower()
    codes = {str(e.get("error_code")) for e in corr.run.errors}
    if not ("REACH_MAX_STEPS" in codes or "maximum steps" in reason or "max steps" in reason):
        return None
    runs: list[ActionView] = []
    best: list[ActionView] = []
    previous_key = None
    for step in corr.steps:
        executed = [v for v in step.actions if v.action.executed and v.action.action_type != "terminate"]
        if not executed:
            continue
        key = tuple((v.action.action_type, v.action.element_id, _element_key(v)) for v in executed)
        runs = runs + [executed[-1]] if key == previous_key else [executed[-1]]
        previous_key = key
        if len(runs) >= len(best):
            best = runs
    if len(best) < 3:
        return None
    last = best[-1]
    summary = (
        f"The agent repeated the same {describe_action(last).split(' in step')[0]} in {len(best)} steps in a "
        "row until it ran out of steps; the page did not move on."
    )
    evidence = [_result_evidence(v) for v in best[-3:]] + _with(_failure_text_evidence(corr))
    return Verdict("MAX_STEPS_EXCEEDED", 0.8, summary, "repeated_action", evidence), last


def _element_key(view: ActionView) -> str | None:
    join = view.element
    if join and join.element:
        return join.element.xpath or join.element.text
    return None


def rule_terminate(corr: Correlation, failing: FailingAction) -> Outcome:
    view = terminate_action(corr) if failing.view is None else None
    if view is None:
        return None
    reasoning = view.action.reasoning or corr.run.failure_reason
    suggested = classify_text(reasoning)
    category, confidence = (suggested[0][0], min(suggested[0][1], 0.6)) if suggested else ("UNKNOWN", 0.4)
    summary = f"The agent gave up in step {view.step.label}: {_clip(reasoning or 'no reason given', 160)}"
    said = Evidence("action", view.ref, f"terminate: {_clip(reasoning or '', 200)}")
    evidence = _with(said, _failure_text_evidence(corr))
    return Verdict(category, confidence, summary, "agent_terminated", evidence), view


def rule_network_only(corr: Correlation, failing: FailingAction) -> Outcome:
    """No actions to tie requests to (e.g. a lone task archive): the failed requests alone."""
    if corr.all_actions():
        return None
    failed = [e for e in corr.run.network if e.failed and not e.noise]
    if not failed:
        return None
    auth = [e for e in failed if e.status in (401, 403)]
    server = [e for e in failed if e.status is not None and e.status >= 500]
    documents = [e for e in failed if e.is_document]
    if auth:
        category, picked = "AUTH_FAILURE", auth
    elif documents:
        category, picked = "NAVIGATION_FAILURE", documents
    elif server:
        category, picked = "WRONG_PAGE_STATE", server
    else:
        category, picked = "UNKNOWN", failed
    summary = (
        f"No actions are known; the network log shows {len(failed)} failed request(s), "
        f"the last: {describe_request(picked[-1])}."
    )
    evidence = [_request_evidence(e, None) for e in picked[-3:]] + _with(_failure_text_evidence(corr))
    return Verdict(category, 0.5 if category != "UNKNOWN" else 0.3, summary, "network_only", evidence), None


def rule_failure_text(corr: Correlation, failing: FailingAction) -> Outcome:
    texts = [corr.run.failure_reason or ""]
    texts += [s.step.step_exception or "" for s in corr.steps]
    suggested = classify_text(" ".join(texts))
    if not suggested:
        return None
    category, confidence, hit = suggested[0]
    summary = f"Only the failure text explains this run (matched '{hit}'): {_clip(corr.run.failure_reason or '', 160)}"
    evidence = _with(_failure_text_evidence(corr))
    if failing.view is not None:
        evidence.insert(0, _result_evidence(failing.view))
    return Verdict(category, min(confidence, 0.6), summary, "failure_text_keywords", evidence), failing.view


def rule_unknown(corr: Correlation, failing: FailingAction) -> Outcome:
    evidence = _with(_failure_text_evidence(corr))
    if failing.view is not None:
        evidence.insert(0, _result_evidence(failing.view))
    if corr.run.status is None:
        summary = "No result, element, request or failure text points to a cause (the run's status is unknown)."
    elif corr.run.status in ("created", "queued", "running", "paused"):
        summary = f"The run has not finished (status {corr.run.status}); its last step's artifacts are not written yet."
    else:
        summary = "No result, element, request or failure text points to a cause."
    return Verdict("UNKNOWN", 0.3, summary, "no_signal", evidence), failing.view


RULES: list[Rule] = [
    rule_completed,
    rule_navigation,
    rule_failing_action,
    rule_chosen_id_missing,
    rule_auth_network,
    rule_site_error,
    rule_pending_request,
    rule_repeated_action,
    rule_terminate,
    rule_network_only,
    rule_failure_text,
    rule_unknown,
]


def diagnose(corr: Correlation) -> Diagnosis:
    failing = find_failing_action(corr)
    for rule in RULES:
        outcome = rule(corr, failing)
        if outcome is not None:
            verdict, decisive = outcome
            return Diagnosis(verdict=verdict, failing=failing, decisive=decisive)
    raise AssertionError("rule_unknown always decides")  # pragma: no cover

"""The rules that find a run's root cause, in the order they are tried.

Each rule is a function named for what it detects; that name is the ``rule`` users see in the
verdict, and the README's rule table has one row per function of :data:`RULES` (a test keeps them
equal). A rule returns a :class:`Finding` (a cause of the vocabulary, a summary, the evidence and
the chain from root to symptom) or None. Rules that look for a cause upstream of the symptom (the
site, the network, the model) come before those that read the symptom itself (the failing
action), so a 502 two steps before a click on a disabled button is named, not the button.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from debugkit.analysis import network
from debugkit.analysis.categories import classify_text
from debugkit.analysis.correlate import ActionView, Correlation, StepView
from debugkit.analysis.describe import (
    Evidence,
    describe_action,
    describe_element,
    describe_request,
    element_evidence,
    error_console,
    failure_text_evidence,
    present,
    request_evidence,
    result_evidence,
    sentence,
)
from debugkit.analysis.diagnose import FailingAction, Verdict, terminate_action
from debugkit.analysis.facts import Facts, FlowFailure, gather, intercept_message, interceptor_of
from debugkit.analysis.pagetext import AUTH_WORDS, SERVER_WORDS
from debugkit.constants import FAILED_STATUSES
from debugkit.parsers.actions import WEB_ACTIONS
from debugkit.text import clip

STATE_EXCEPTIONS = frozenset({"InputToReadonlyElement", "InputToInvisibleElement"})
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
# Exceptions whose type alone names the cause: (cause, confidence, what happened).
DIRECT_EXCEPTIONS: dict[str, tuple[str, float, str]] = {
    "CaptchaSolveError": ("anti_bot_challenge", 0.85, "a CAPTCHA could not be solved"),
    "NoTOTPSecretFound": ("auth_rejected", 0.8, "no TOTP secret was configured"),
    "FailedToFetchSecret": ("auth_rejected", 0.8, "a secret could not be fetched"),
    "SecretInputMismatch": ("auth_rejected", 0.7, "the typed secret did not match"),
    "TOTPExpiredError": ("auth_rejected", 0.8, "the one-time code expired"),
    "NoTOTPVerificationCodeFound": ("auth_rejected", 0.8, "no one-time code arrived"),
    "ImaginaryFileUrl": ("llm_invalid_output", 0.75, "the model invented a file URL"),
    "ImaginarySecretValue": ("llm_invalid_output", 0.75, "the model invented a secret value"),
    "MissingFileUrl": ("llm_invalid_output", 0.6, "no file URL was given for the upload"),
}
_BROWSER_GONE = re.compile(
    r"TargetClosedError|ScreenshotTargetClosed|BrowserStateMissingPage|MissingBrowserState|"
    r"target page, context or browser has been closed|target crashed|page crashed|browser has disconnected|"
    r"browser_disconnected|browser context closed|browser crash",
    re.IGNORECASE,
)
_LLM_PROVIDER = re.compile(
    r"LLMProviderError|LLM provider|litellm\.|RateLimitError|ServiceUnavailableError|APIConnectionError|"
    r"llm request failed|LLM (?:API )?(?:call|request) (?:failed|timed out)|model provider",
    re.IGNORECASE,
)
_LLM_INVALID = re.compile(
    r"InvalidLLMResponse|EmptyLLMResponse|LLMResponseParse|FailedToParseActionInstruction|"
    r"invalid (?:llm|model) response|could not parse the (?:llm|model)",
    re.IGNORECASE,
)
_STATE_WORDS = re.compile(
    r"not visible|not enabled|not stable|obscured|readonly|detached|outside of the viewport", re.I
)
_LOCATOR_WORDS = re.compile(r"locator|wait_for_selector|waiting for selector", re.IGNORECASE)
_AUTH_URL = re.compile(r"log-?in|sign-?in|auth|session|token|oauth|account|password", re.IGNORECASE)
_DOWNLOAD_URL = re.compile(r"download|export|file|attachment|\.pdf|\.csv|\.zip|\.xlsx?", re.IGNORECASE)
_CONSOLE_STATUS = re.compile(r"status of (\d{3})")
NEAR_STEPS = 2  # a site failure this many steps before the symptom (or closer) can be its cause


@dataclass
class Finding:
    cause: str
    confidence: float
    summary: str
    evidence: list[Evidence] = field(default_factory=list)
    chain: list[Evidence] = field(default_factory=list)  # root first; the symptom is added by decide()
    decisive: ActionView | None = None


class Context:
    """What every rule reads: the join, the failing action, and the facts computed once."""

    def __init__(self, corr: Correlation, failing: FailingAction) -> None:
        self.corr = corr
        self.run = corr.run
        self.failing = failing
        self.facts: Facts = gather(corr)

    @cached_property
    def terminate(self) -> ActionView | None:
        return terminate_action(self.corr) if self.failing.view is None else None

    @cached_property
    def executed(self) -> list[ActionView]:
        return [v for v in self.corr.all_actions() if v.action.executed]

    @cached_property
    def hit_limit(self) -> bool:
        """The run stopped at its step or retry limit."""
        codes = {str(e.get("error_code")) for e in self.run.errors}
        reason = (self.run.failure_reason or "").lower()
        return bool(
            {"REACH_MAX_STEPS", "REACH_MAX_RETRIES"} & codes
            or "maximum steps" in reason
            or "max steps" in reason
            or "max retries" in reason
            or "maximum number of" in reason
        )

    @cached_property
    def symptom_position(self) -> int:
        """The index in ``corr.steps`` of the step where the run visibly failed."""
        view = self.failing.view or self.terminate
        if view is not None:
            return self.step_position(view)
        with_output = [i for i, s in enumerate(self.corr.steps) if s.step.has_output or s.actions]
        return with_output[-1] if with_output else len(self.corr.steps) - 1

    def step_position(self, view: ActionView) -> int:
        return next((i for i, s in enumerate(self.corr.steps) if s.step is view.step), len(self.corr.steps))

    def position_of(self, failure: FlowFailure) -> int:
        if failure.view is not None:
            return self.step_position(failure.view)
        if failure.step is not None:
            return next(i for i, s in enumerate(self.corr.steps) if s is failure.step)
        return -1

    def texts(self) -> str:
        """Every free text Skyvern wrote about the failure: reason, step exceptions, errors, results."""
        parts = [self.run.failure_reason or ""]
        parts += [s.step.step_exception or "" for s in self.corr.steps]
        parts += [str(e.get("reasoning") or "") + " " + str(e.get("error_code") or "") for e in self.run.errors]
        for view in self.corr.all_actions():
            for result in view.action.results or []:
                parts.append(f"{result.exception_type or ''} {result.exception_message or ''}")
        return "\n".join(p for p in parts if p.strip())

    def symptom(self) -> Evidence | None:
        """The last link of every chain: what Skyvern itself reported."""
        view = self.failing.view
        if view is not None and view.action.result is not None and not view.action.result.success:
            return result_evidence(view)
        if self.terminate is not None:
            reasoning = clip(self.terminate.action.reasoning or "no reason given", 160)
            return Evidence(
                "action", self.terminate.ref, f"the agent gave up in step {self.terminate.step.label}: {reasoning}"
            )
        if self.run.status in FAILED_STATUSES and self.run.failure_reason:
            return Evidence(
                "failure_text", "run.failure_reason", f"the run {self.run.status}: {clip(self.run.failure_reason, 200)}"
            )
        if self.run.status in FAILED_STATUSES:
            return Evidence("step", "run", f"the run {self.run.status}")
        return None

    def near_symptom(self, failure: FlowFailure) -> bool:
        """Close enough before the symptom to be its cause (or repeated, so still going on)."""
        position = self.position_of(failure)
        if position > self.symptom_position:
            return False
        if self.symptom_position - position <= NEAR_STEPS:
            return True
        same = [f for f in self.facts.flow_failures if network.endpoint(f.entry) == network.endpoint(failure.entry)]
        return len(same) >= 2


Rule = Callable[[Context], Finding | None]
RULES: list[Rule] = []


def rule(function: Rule) -> Rule:
    """Register a rule; the order of registration is the order they are tried."""
    RULES.append(function)
    return function


def rule_names() -> list[str]:
    return [r.__name__ for r in RULES]


# --- how the run ended, when that is the whole story -----------------------------------------


@rule
def data_extraction_failed(ctx: Context) -> Finding | None:
    """An extraction action failed, or a run asked to extract data completed with nothing."""
    extract = [v for v in ctx.corr.all_actions() if v.action.action_type == "extract" and v.real_failure]
    if extract:
        view = extract[-1]
        summary = sentence(f"{describe_action(view)} failed: the requested data could not be extracted.")
        return Finding("data_extraction_failed", 0.85, summary, [result_evidence(view)], [], view)
    if ctx.run.status == "completed" and ctx.run.extraction_goal and _empty(ctx.run.extracted):
        goal = clip(ctx.run.extraction_goal, 120)
        summary = f"The run completed but extracted nothing for its extraction goal ({goal})."
        output = Evidence("step", "run.output", f"output is {clip(repr(ctx.run.extracted), 120)} for the goal: {goal}")
        ran = [v for v in ctx.executed if v.action.action_type == "extract"]
        chain = [Evidence("action", ran[-1].ref, f"{describe_action(ran[-1])} returned no data")] if ran else []
        return Finding(
            "data_extraction_failed", 0.75, summary, [*chain, output], [*chain, output], ran[-1] if ran else None
        )
    return None


@rule
def run_completed(ctx: Context) -> Finding | None:
    if ctx.run.status != "completed":
        return None
    recovered = [view for view in ctx.corr.all_actions() if view.real_failure]
    done = [v for v in ctx.executed if v.action.action_type == "complete"]
    evidence = [result_evidence(done[-1])] if done else [Evidence("step", "run", "the run's status is completed")]
    evidence += [result_evidence(view) for view in recovered[:3]]
    summary = "The run completed."
    if recovered:
        summary += f" It recovered from {len(recovered)} failed action(s) on the way."
    hidden = [h for h in ctx.facts.hidden if h.kind == "fallback"]
    if hidden:
        summary += f" {len(hidden)} action(s) reported success only after a fallback (see evidence)."
        evidence += [Evidence("result", h.view.ref, f"{describe_action(h.view)}: {h.detail}") for h in hidden[:3]]
    # the action worth a look in a run that completed: the last that needed a fallback or a retry
    worth = [h.view for h in hidden] + recovered
    decisive = max(worth, key=lambda v: (ctx.step_position(v), v.action.index)) if worth else None
    return Finding("none", 1.0, summary, evidence, [], decisive)


@rule
def canceled_by_user(ctx: Context) -> Finding | None:
    if ctx.run.status != "canceled":
        return None
    canceled = [s for s in ctx.corr.steps if s.step.status == "canceled"]
    where = f" during step {canceled[-1].step.label}" if canceled else ""
    last = ctx.executed[-1] if ctx.executed else None
    summary = f"The run was canceled{where}; it had not failed."
    if last is not None:
        summary += f" The last action that ran: {describe_action(last)}."
    evidence = [Evidence("step", f"step:{s.step.step_id}", f"step {s.step.label} canceled") for s in canceled[-1:]]
    return Finding("canceled_by_user", 0.95, summary, evidence, list(evidence), last)


# --- causes upstream of the page: the model, the browser ---------------------------------------


@rule
def llm_provider_error(ctx: Context) -> Finding | None:
    """The model provider failed: an error in Skyvern's words, or a model call left unanswered."""
    texts = ctx.texts()
    match = _LLM_PROVIDER.search(texts)
    unanswered = [s for s in ctx.corr.steps if s.step.status == "failed" and s.step.llm_prompts > s.step.llm_responses]
    if not match and not (unanswered and not any(v.action.executed for v in unanswered[-1].actions)):
        return None
    evidence: list[Evidence] = []
    chain: list[Evidence] = []
    if unanswered:
        step = unanswered[-1].step
        link = Evidence(
            "llm",
            f"step:{step.step_id}",
            f"step {step.label}: {step.llm_prompts} model call(s) asked, {step.llm_responses} answered",
        )
        evidence.append(link)
        chain.append(link)
    if match:
        line = _line_with(texts, match)
        evidence.append(Evidence("failure_text", "run.failure_reason", clip(line, 240)))
        if not chain:
            chain.append(evidence[-1])
    where = f" in step {unanswered[-1].step.label}" if unanswered else ""
    summary = f"The model provider failed{where}: {clip(_line_with(texts, match), 160) if match else 'no answer'}."
    return Finding("llm_provider_error", 0.9 if match else 0.75, summary, evidence, chain, None)


@rule
def llm_invalid_output(ctx: Context) -> Finding | None:
    """The model's answer was not the JSON Skyvern asked for (Skyvern's repair then guessed)."""
    target = ctx.failing.view.step if ctx.failing.view else None
    steps = [s for s in ctx.corr.steps if s.step.llm_unusable and (target is None or s.step is target)]
    match = _LLM_INVALID.search(ctx.texts())
    if not steps and not match:
        return None
    if steps:
        step = steps[-1].step
        answer = step.llm_unusable[-1]
        link = Evidence(
            "llm",
            f"step:{step.step_id}",
            f"step {step.label}: the model's answer is not valid JSON: '{clip(answer, 100)}'",
        )
        chain = [link]
        evidence = [link]
        view = ctx.failing.view
        if view is not None:
            evidence.append(result_evidence(view))
        summary = f"The model answered with output Skyvern could not parse in step {step.label}"
        if view is None:  # the repaired answer's action, when it never ran
            chosen = next((s.actions for s in steps[-1:] if s.actions), [])
            if chosen:
                view = chosen[-1]
                what = view.action.action_type.replace("_", " ")
                target = f" on id '{view.action.element_id}'" if view.action.element_id else ""
                summary += f"; Skyvern's repair made it a {what}{target}, which never ran"
        elif not view.action.element_id:
            summary += (
                f"; its repair became a {view.action.action_type.replace('_', ' ')} with no element id, which failed"
            )
        elif view is not None:
            summary += f"; {describe_action(view)} failed after it"
        return Finding("llm_invalid_output", 0.85, summary + ".", evidence, chain, view)
    line = _line_with(ctx.texts(), match)
    evidence = [Evidence("failure_text", "run.failure_reason", clip(line, 240))]
    return Finding(
        "llm_invalid_output",
        0.7,
        f"Skyvern could not use the model's answer: {clip(line, 160)}.",
        evidence,
        list(evidence),
        ctx.failing.view,
    )


@rule
def browser_crashed(ctx: Context) -> Finding | None:
    match = _BROWSER_GONE.search(ctx.texts())
    if not match or ctx.run.status not in (*FAILED_STATUSES, None):
        return None
    line = _line_with(ctx.texts(), match)
    view = ctx.failing.view
    evidence = [result_evidence(view)] if view is not None else []
    evidence.append(Evidence("failure_text", "run.failure_reason", clip(line, 240)))
    summary = f"The browser or the page closed under the run: {clip(line, 160)}."
    return Finding("browser_crashed", 0.85, summary, evidence, [evidence[-1]], view)


# --- causes on the site's side -----------------------------------------------------------------


@rule
def anti_bot_challenge(ctx: Context) -> Finding | None:
    """The site answered with a bot check: its words or a challenge frame, often behind a 403/429."""
    if ctx.run.status == "completed":
        return None
    view = ctx.failing.view
    if view is not None and view.action.result and view.action.result.exception_type == "CaptchaSolveError":
        return Finding(
            "anti_bot_challenge",
            0.85,
            sentence(f"{describe_action(view)} failed: a CAPTCHA could not be solved."),
            [result_evidence(view)],
            [],
            view,
        )
    challenge = ctx.facts.challenge
    if challenge is None:
        return None
    step_view, markers = challenge
    blocked = [
        f
        for f in ctx.facts.flow_failures
        if f.entry.status in (403, 429) and ctx.position_of(f) <= ctx.symptom_position
    ]
    chain: list[Evidence] = []
    evidence: list[Evidence] = []
    if blocked:
        first = blocked[0]
        chain.append(request_evidence(first.entry, first.view))
        evidence += [request_evidence(f.entry, f.view) for f in blocked[:3]]
    page = Evidence(
        "page_text", f"step:{step_view.step.step_id}", f"step {step_view.step.label}: " + "; ".join(markers)
    )
    chain.append(page)
    evidence.append(page)
    evidence += present(failure_text_evidence(ctx.corr))
    status = f" ({describe_request(blocked[0].entry)})" if blocked else ""
    summary = f"The site showed a bot check in step {step_view.step.label}{status}: {markers[0]}."
    decisive = blocked[0].view if blocked and blocked[0].view else ctx.failing.view
    if decisive is None:  # what the agent did on the challenge: its last web action there or after
        position = next(i for i, s in enumerate(ctx.corr.steps) if s is step_view)
        tried = [
            v for s in ctx.corr.steps[: position + 1] for v in s.actions if v.action.executed and v.action.element_id
        ]
        decisive = tried[-1] if tried else None
    return Finding("anti_bot_challenge", 0.85 if blocked else 0.7, summary, evidence, chain, decisive)


@rule
def proxy_failed(ctx: Context) -> Finding | None:
    failures = [f for f in ctx.facts.failures(network.PROXY) if ctx.near_symptom(f)]
    if not failures and not re.search(r"proxy", ctx.run.failure_reason or "", re.IGNORECASE):
        return None
    if failures:
        first = failures[0]
        summary = f"The browser could not connect through its proxy: {describe_request(first.entry)}."
        evidence = [request_evidence(f.entry, f.view) for f in failures[:3]] + present(failure_text_evidence(ctx.corr))
        return Finding("proxy_failed", 0.9, summary, evidence, [evidence[0]], first.view)
    evidence = present(failure_text_evidence(ctx.corr))
    return Finding(
        "proxy_failed",
        0.7,
        f"The proxy failed: {clip(ctx.run.failure_reason or '', 160)}.",
        evidence,
        list(evidence),
        None,
    )


@rule
def page_load_timeout(ctx: Context) -> Finding | None:
    """A page (document) request that timed out or never answered before anything could be done."""
    documents = [
        f for f in ctx.facts.failures(network.TIMEOUT, network.PENDING) if f.entry.is_document and ctx.near_symptom(f)
    ]
    navigation_text = _navigation_text(ctx)
    timed_out_text = navigation_text and re.search(r"timeout|timed out", navigation_text, re.IGNORECASE)
    if not documents and not timed_out_text:
        return None
    evidence: list[Evidence] = [request_evidence(f.entry, f.view) for f in documents[-3:]]
    if navigation_text:
        evidence.append(Evidence("failure_text", "run.failure_reason", clip(navigation_text, 240)))
    if documents:
        summary = f"The page did not load in time: {describe_request(documents[-1].entry)}."
    else:
        summary = f"The page did not load in time: {clip(navigation_text or '', 160)}."
    decisive = documents[-1].view if documents else None
    return Finding("page_load_timeout", 0.85, summary, evidence, [evidence[0]], decisive)


@rule
def navigation_failed(ctx: Context) -> Finding | None:
    """A page that could not be reached (DNS, refused, TLS, ERR_*), or answered 404."""
    documents = [
        f
        for f in ctx.facts.failures(network.CONNECTION, network.NOT_FOUND)
        if f.entry.is_document and ctx.near_symptom(f)
    ]
    navigation_text = _navigation_text(ctx)
    if not documents and not navigation_text:
        return None
    evidence: list[Evidence] = [request_evidence(f.entry, f.view) for f in documents[-3:]]
    steps = [s for s in ctx.corr.steps if s.step.step_exception and "Navigat" in s.step.step_exception]
    evidence += [
        Evidence("step", f"step:{s.step.step_id}", f"step {s.step.label}: {s.step.step_exception}") for s in steps[-1:]
    ]
    evidence += present(failure_text_evidence(ctx.corr))
    if documents:
        summary = f"The page could not be reached: {describe_request(documents[-1].entry)}."
    else:
        summary = f"Skyvern could not navigate to the page: {clip(navigation_text or '', 160)}."
    decisive = documents[-1].view if documents else None
    return Finding("navigation_failed", 0.9 if documents else 0.75, summary, evidence, [evidence[0]], decisive)


@rule
def auth_rejected(ctx: Context) -> Finding | None:
    """The site refused the credentials or a permission: a 401/403, or the page saying so."""
    if ctx.run.status == "completed" or not ctx.corr.all_actions():
        return None
    hits = [f for f in ctx.facts.failures(network.AUTH) if ctx.near_symptom(f) and _counts_as_auth(ctx, f)]
    words = [w for w in ctx.facts.page_words if any(AUTH_WORDS.search(line) for line in w.lines)]
    words = [w for w in words if ctx.step_position(w.view) <= ctx.symptom_position]
    if not hits and not words:
        return None
    chain: list[Evidence] = []
    evidence: list[Evidence] = []
    if hits:
        last = hits[-1]
        chain.append(request_evidence(last.entry, last.view))
        evidence += [request_evidence(f.entry, f.view) for f in hits[-3:]]
        view = last.view
    else:
        view = words[-1].view
    said = _words_after(ctx, view, AUTH_WORDS) if view is not None else None
    if said is None and words:
        said = _page_link(words[-1], AUTH_WORDS)
    if said is not None:
        chain.append(said)
        evidence.append(said)
    if view is not None:
        evidence += present(element_evidence(view), *error_console(view))
    evidence += present(failure_text_evidence(ctx.corr))
    if hits:
        what = describe_request(hits[-1].entry)
        summary = f"The site refused the credentials or the permission: {what}"
        summary += f" after {describe_action(view)}." if view else "."
    else:
        said_line = clip(words[-1].lines[0], 100)
        summary = f"The site refused the login: the page said '{said_line}' after {describe_action(words[-1].view)}."
    return Finding("auth_rejected", 0.9 if hits else 0.7, summary, evidence, chain, view)


@rule
def site_server_error(ctx: Context) -> Finding | None:
    """A 5xx answer to a request the flow needed, before the symptom and never recovered."""
    if not ctx.corr.all_actions():
        return None  # nothing to tie the failure to: network_only
    hits = [f for f in ctx.facts.failures(network.SERVER_ERROR) if ctx.near_symptom(f)]
    if hits:
        return _site_failure(ctx, hits, "site_server_error", "The site failed", SERVER_WORDS)
    return _site_failure_without_har(ctx)


@rule
def site_rejected_request(ctx: Context) -> Finding | None:
    """A non-auth 4xx (422 validation, 402 declined, 409, 429) on a submit, an XHR or a page."""
    hits = [f for f in ctx.facts.failures(network.REJECTED, network.RATE_LIMITED) if ctx.near_symptom(f)]
    if not hits or not ctx.corr.all_actions():
        return None
    return _site_failure(ctx, hits, "site_rejected_request", "The site rejected a request", None)


# --- the symptom itself: the failing action ----------------------------------------------------


@rule
def hallucinated_element_id(ctx: Context) -> Finding | None:
    """The chosen id is not in the step's scrape (or empty); without results, any such chosen id."""
    view = ctx.failing.view
    if view is not None and _exception(view) == "MissingElement":
        join = view.element
        empty = not view.action.element_id and view.action.action_type in WEB_ACTIONS
        if empty or (join is not None and (join.found is False or join.in_scrape is False)):
            stopped = view.action.result.stop_execution_on_failure is False if view.action.result else False
            what = "no element id" if empty else f"element id {view.action.element_id}, which is not on the page"
            summary = (
                f"The model chose {what} (a hallucinated id); the "
                f"{view.action.action_type.replace('_', ' ')} {'never ran' if stopped else 'failed'} "
                f"in step {view.step.label}."
            )
            evidence = present(result_evidence(view), element_evidence(view))
            chain = evidence[1:2]
            earlier = [
                v
                for v in ctx.corr.all_actions()
                if v is not view
                and _exception(v) == "MissingElement"
                and v.element is not None
                and v.element.found is False
                and ctx.step_position(v) < ctx.step_position(view)
            ]
            if earlier:  # the first time the model chose an id that was not there
                first = earlier[0]
                link = element_evidence(first)
                if link is not None:
                    chain = [Evidence(link.kind, link.ref, f"first in step {first.step.label}: {link.detail}"), *chain]
                    summary += f" It did so {len(earlier) + 1} times, first in step {first.step.label}."
            return Finding("element_missing", 0.9, summary, evidence, chain, view)
    if ctx.run.steps_from_api:
        return None
    for step in reversed(ctx.corr.steps):
        missing = [v for v in step.actions if v.element and v.element.found is False]
        if missing:
            view = missing[-1]
            summary = (
                f"The model chose element id {view.action.element_id} in step {view.step.label}, which is not on "
                "the page (a hallucinated id); results are unknown without step output."
            )
            evidence = present(element_evidence(view), Evidence("action", view.ref, describe_action(view)))
            return Finding("element_missing", 0.7, summary, evidence, evidence[:1], view)
    return None


@rule
def element_vanished(ctx: Context) -> Finding | None:
    """``MissingElement`` for an id that was in the scrape: it disappeared before the action ran."""
    view = ctx.failing.view
    if view is None or _exception(view) != "MissingElement":
        return None
    summary = sentence(
        f"{describe_element(view)} was on the page when it was scraped but gone when the "
        f"{view.action.action_type.replace('_', ' ')} ran in step {view.step.label}."
    )
    before = _vanished_evidence(ctx.corr, view)
    evidence = present(result_evidence(view), element_evidence(view)) + before
    return Finding("element_missing", 0.8, summary, evidence, before[:1], view)


@rule
def click_intercepted(ctx: Context) -> Finding | None:
    """Another element took the click: Playwright's 'intercepts pointer events', failed outright or
    hidden behind a fallback that reported success while the page did not change."""
    view = ctx.failing.view
    if view is not None and intercept_message(view) and view.real_failure:
        cover = interceptor_of(view) or "another element"
        link = Evidence("element", view.ref, f"{clip(cover, 100)} lay over {describe_element(view)} and took the click")
        summary = sentence(f"{describe_action(view)} failed: an overlay ({clip(cover, 80)}) took the click.")
        return Finding("click_intercepted", 0.9, summary, [result_evidence(view), link], [link], view)
    return None


@rule
def silent_fallback(ctx: Context) -> Finding | None:
    """An action "succeeded" only through Skyvern's fallback after a failed attempt, and nothing
    happened: the first attempt's words name the cause (an overlay took the click; the element was
    not stable, visible or enabled). The run ran out of steps or retries on it."""
    if ctx.run.status == "completed":
        return None
    silent = [h for h in ctx.facts.hidden if h.kind == "fallback"]
    silent = [h for h in silent if id(h.view) in ctx.facts.unchanged or ctx.hit_limit]
    silent = [h for h in silent if ctx.step_position(h.view) <= ctx.symptom_position]
    if not silent:
        return None
    last = silent[-1]
    same = [h for h in silent if h.view.action.element_id == last.view.action.element_id]
    first = next(r for r in last.view.action.results or [] if not r.success)
    message = first.exception_message or ""
    if last.interceptor or intercept_message(last.view):
        cause = "click_intercepted"
        cover = last.interceptor or "another element"
        root = Evidence("element", last.view.ref, f"{clip(cover, 100)} lay over {describe_element(last.view)}")
        opening = f"An overlay ({clip(cover, 80)}) intercepted the {describe_action(last.view)}"
    elif "disabled" in message.lower() or first.exception_type == "InteractWithDisabledElement":
        cause = "element_disabled"
        root = Evidence("element", last.view.ref, f"{describe_element(last.view)} was disabled")
        opening = f"{sentence(describe_element(last.view))} was disabled for the {describe_action(last.view)}"
    else:
        cause = "element_not_actionable"
        state = _STATE_WORDS.search(message)
        why = state.group(0) if state else (first.exception_type or "not actionable")
        root = Evidence("element", last.view.ref, f"{describe_element(last.view)}: {why}")
        opening = f"{sentence(describe_element(last.view))} was {why} for the {describe_action(last.view)}"
    if same[0] is not last:  # it began earlier: the chain starts where it first happened
        root = Evidence(root.kind, same[0].view.ref, f"first in step {same[0].view.step.label}: {root.detail}")
    chain = [root, Evidence("result", last.view.ref, f"{describe_action(last.view)}: {last.detail}")]
    if id(last.view) in ctx.facts.unchanged:
        chain.append(Evidence("page_text", last.view.ref, "the page did not change after it"))
    evidence = list(chain) + present(failure_text_evidence(ctx.corr))
    times = f" ({len(same)} times)" if len(same) > 1 else ""
    summary = f"{opening}{times}: Skyvern's fallback reported success but nothing happened, and the agent kept trying."
    return Finding(cause, 0.85, summary, evidence, chain, last.view)


@rule
def element_disabled(ctx: Context) -> Finding | None:
    view = ctx.failing.view
    if view is None or not view.real_failure:
        return None
    exc = _exception(view)
    join = view.element
    disabled = bool(join and join.element and join.element.attributes.get("disabled") is True)
    if exc != "InteractWithDisabledElement" and not (exc in INTERACTION_EXCEPTIONS and disabled):
        return None
    summary = (
        f"The {view.action.action_type.replace('_', ' ')} on {describe_element(view)} failed in step "
        f"{view.step.label}: the element was disabled ({exc})."
    )
    evidence = present(result_evidence(view), element_evidence(view))
    return Finding("element_disabled", 0.85, summary, evidence, evidence[1:2], view)


@rule
def element_not_actionable(ctx: Context) -> Finding | None:
    """The element never became visible, stable, editable or reachable (iframes included) in time."""
    view = ctx.failing.view
    if view is None or not view.real_failure:
        return None
    exc = _exception(view) or ""
    message = view.action.result.exception_message or "" if view.action.result else ""
    timed_out = "Timeout" in exc or "timeout" in message.lower()
    pending = [e for e in view.network if e.pending and not e.noise]
    if timed_out and pending:
        return None  # a request it waited for never answered: pending_request_timeout
    locator = timed_out and _LOCATOR_WORDS.search(message)
    if not (exc in STATE_EXCEPTIONS or exc in INTERACTION_EXCEPTIONS or exc in SELECT_EXCEPTIONS or locator):
        return None
    join = view.element
    where = ""
    if join and join.element and join.element.frame_chain:
        where = " inside iframe " + " > ".join(join.element.frame_chain)
    state = {"InputToReadonlyElement": "read-only", "InputToInvisibleElement": "invisible"}.get(exc)
    if state is None and _STATE_WORDS.search(message):
        state = "not ready (" + _STATE_WORDS.search(message).group(0) + ")"
    what = f"the element was {state}" if state else "Skyvern could not act on it"
    verb = view.action.action_type.replace("_", " ")
    summary = (
        f"The {verb} on {describe_element(view)}{where} failed in step {view.step.label}: {what} ({exc or 'timeout'})."
    )
    failed = [request_evidence(e, view) for e in view.network if e.failed and not e.noise][:3]
    evidence = present(result_evidence(view), element_evidence(view)) + failed
    return Finding("element_not_actionable", 0.75, summary, evidence, evidence[1:2], view)


@rule
def exception_type(ctx: Context) -> Finding | None:
    """Exceptions whose type names the cause (TOTP and secret errors, invented file URLs)."""
    view = ctx.failing.view
    exc = _exception(view) if view is not None else None
    if view is None or exc not in DIRECT_EXCEPTIONS:
        return None
    cause, confidence, what = DIRECT_EXCEPTIONS[exc]
    summary = sentence(f"{describe_action(view)} failed: {what} ({exc}).")
    return Finding(cause, confidence, summary, present(result_evidence(view), element_evidence(view)), [], view)


@rule
def timeout_pending_request(ctx: Context) -> Finding | None:
    """The failing action timed out while a request in its window never answered."""
    view = _timed_out(ctx.failing.view)
    if view is None:
        return None
    pending = [e for e in view.network if e.pending and not e.noise]
    if not pending:
        return None
    summary = sentence(
        f"{describe_action(view)} timed out; a request in its window never answered: "
        f"{pending[0].method} {clip(pending[0].url, 120)}."
    )
    links = [request_evidence(e, view) for e in pending[:3]]
    return Finding("pending_request_timeout", 0.85, summary, present(result_evidence(view)) + links, links[:1], view)


@rule
def action_timeout(ctx: Context) -> Finding | None:
    """The failing action timed out, with no request left pending and no locator named."""
    view = _timed_out(ctx.failing.view)
    if view is None:
        return None
    summary = sentence(f"{describe_action(view)} timed out ({_exception(view) or 'timeout'}).")
    failed = [request_evidence(e, view) for e in view.network if e.failed and not e.noise][:3]
    return Finding(
        "page_load_timeout", 0.6, summary, present(result_evidence(view), element_evidence(view)) + failed, [], view
    )


@rule
def element_replaced(ctx: Context) -> Finding | None:
    """The chosen id named another element by the time the action ran (the page re-rendered in
    place after an earlier action of the step): the action "succeeded" on the wrong element."""
    if ctx.run.status == "completed":
        return None
    replaced = [h for h in ctx.facts.hidden if h.kind == "other_element"]
    replaced = [h for h in replaced if ctx.step_position(h.view) <= ctx.symptom_position]
    if not replaced:
        return None
    hit = replaced[-1]
    view = hit.view
    step = next(s for s in ctx.corr.steps if s.step is view.step)
    earlier = [v for v in step.actions if v.action.index < view.action.index and v.action.executed]
    chain = []
    if earlier:
        chain.append(Evidence("action", earlier[-1].ref, f"{describe_action(earlier[-1])} changed the page"))
    chain.append(Evidence("element", view.ref, hit.detail))
    chain.append(Evidence("result", view.ref, f"{describe_action(view)} reported success on the other element"))
    summary = sentence(
        f"{describe_action(view)} ran on another element than the model chose: {hit.detail}. "
        "The page re-rendered after the previous action, and the id moved with it."
    )
    evidence = [*chain, *present(failure_text_evidence(ctx.corr))]
    return Finding("element_missing", 0.8, summary, evidence, chain, view)


# --- how the agent ended without an action failing ---------------------------------------------


@rule
def pending_request(ctx: Context) -> Finding | None:
    """The run timed out while a request of its last action never answered."""
    if not ctx.executed:
        return None
    last = ctx.failing.view or ctx.executed[-1]
    pending = [e for e in last.network if e.pending and not e.noise]
    timed_out = ctx.run.status == "timed_out" or "timeout" in (ctx.run.failure_reason or "").lower()
    if not pending or not timed_out:
        return None
    summary = sentence(
        f"{describe_action(last)} waited on {pending[0].method} {clip(pending[0].url, 120)}, which never answered."
    )
    links = [request_evidence(e, last) for e in pending[:3]]
    return Finding(
        "pending_request_timeout", 0.8, summary, links + present(failure_text_evidence(ctx.corr)), links[:1], last
    )


@rule
def agent_loop(ctx: Context) -> Finding | None:
    """At its step limit, the agent repeated the same action (on the same element) and the page did
    not move on: 3+ steps in a row, or 2+ when the page is seen not to change."""
    if not ctx.hit_limit:
        return None
    run: list[ActionView] = []
    best: list[ActionView] = []
    previous = None
    for step in ctx.corr.steps:
        executed = [v for v in step.actions if v.action.executed and v.action.action_type != "terminate"]
        if not executed:
            continue
        key = tuple((v.action.action_type, v.action.element_id, _element_key(v)) for v in executed)
        run = [*run, executed[-1]] if key == previous else [executed[-1]]
        previous = key
        if len(run) >= len(best):
            best = run
    unchanged = [v for v in best if id(v) in ctx.facts.unchanged]
    if len(best) < 3 and not (len(best) >= 2 and unchanged):
        return None
    last = best[-1]
    what = describe_action(last).split(" in step")[0]
    summary = (
        f"The agent repeated the same {what} in {len(best)} steps in a row until it ran out of steps; "
        "every time it reported success and the page did not move on."
    )
    chain = [Evidence("result", best[0].ref, f"{describe_action(best[0])}: success, the page did not change")]
    evidence = [result_evidence(v) for v in best[-3:]] + present(failure_text_evidence(ctx.corr))
    return Finding("agent_loop", 0.8, summary, evidence, chain, last)


@rule
def agent_terminated(ctx: Context) -> Finding | None:
    """The agent chose TERMINATE: its reasoning, in Skyvern's keyword classes."""
    view = ctx.terminate
    if view is None:
        return None
    reasoning = view.action.reasoning or ctx.run.failure_reason
    suggested = classify_text(reasoning)
    cause, confidence = (suggested[0][0], min(suggested[0][1], 0.6)) if suggested else ("unknown", 0.4)
    summary = f"The agent gave up in step {view.step.label}: {clip(reasoning or 'no reason given', 160)}"
    said = Evidence("action", view.ref, f"terminate: {clip(reasoning or '', 200)}")
    return Finding(cause, confidence, summary, present(said, failure_text_evidence(ctx.corr)), [], view)


@rule
def network_only(ctx: Context) -> Finding | None:
    """No actions are known (e.g. a lone task archive): the failed requests alone."""
    if ctx.corr.all_actions():
        return None
    failed = [f for f in ctx.facts.flow_failures if not f.recovered]
    if not failed:
        return None
    by_kind = {
        "auth_rejected": [f for f in failed if f.kind == network.AUTH],
        "navigation_failed": [
            f for f in failed if f.entry.is_document and f.kind in (network.CONNECTION, network.NOT_FOUND)
        ],
        "site_server_error": [f for f in failed if f.kind == network.SERVER_ERROR],
        "site_rejected_request": [f for f in failed if f.kind == network.REJECTED],
    }
    cause, picked = next(((c, p) for c, p in by_kind.items() if p), ("unknown", failed))
    summary = (
        f"No actions are known; the network log shows {len(failed)} failed request(s) the flow needed, "
        f"the last: {describe_request(picked[-1].entry)}."
    )
    evidence = [request_evidence(f.entry, None) for f in picked[-3:]] + present(failure_text_evidence(ctx.corr))
    return Finding(cause, 0.5 if cause != "unknown" else 0.3, summary, evidence, evidence[:1], None)


@rule
def failure_text_keywords(ctx: Context) -> Finding | None:
    """Only Skyvern's own words explain the run: its failure text and step exceptions, by keyword."""
    texts = [ctx.run.failure_reason or ""] + [s.step.step_exception or "" for s in ctx.corr.steps]
    suggested = classify_text(" ".join(texts))
    if not suggested:
        return None
    cause, confidence, hit = suggested[0]
    summary = f"Only the failure text explains this run (matched '{hit}'): {clip(ctx.run.failure_reason or '', 160)}"
    evidence = present(failure_text_evidence(ctx.corr))
    if ctx.failing.view is not None:
        evidence.insert(0, result_evidence(ctx.failing.view))
    return Finding(cause, min(confidence, 0.6), summary, evidence, [], ctx.failing.view)


@rule
def no_signal(ctx: Context) -> Finding | None:
    evidence = present(failure_text_evidence(ctx.corr))
    if ctx.failing.view is not None:
        evidence.insert(0, result_evidence(ctx.failing.view))
    status = ctx.run.status
    if status is None:
        summary = "No result, element, request or failure text points to a cause (the run's status is unknown)."
    elif status in ("created", "queued", "running", "paused"):
        summary = f"The run has not finished (status {status}); its last step's artifacts are not written yet."
    else:
        summary = "No result, element, request or failure text points to a cause."
    return Finding("unknown", 0.3, summary, evidence, [], ctx.failing.view)


# --- deciding ----------------------------------------------------------------------------------


def decide(corr: Correlation, failing: FailingAction) -> tuple[Verdict, ActionView | None, Facts]:
    """Run the rules in order; the first finding becomes the verdict, its chain closed by the symptom."""
    ctx = Context(corr, failing)
    for function in RULES:
        finding = function(ctx)
        if finding is None:
            continue
        chain = list(finding.chain)
        symptom = ctx.symptom() if finding.cause not in ("none", "canceled_by_user") else None
        if symptom is not None and all(link.ref != symptom.ref or link.kind != symptom.kind for link in chain):
            chain.append(symptom)
        missing = _missing_evidence(ctx)
        summary = finding.summary
        if missing and finding.cause not in ("none", "canceled_by_user"):
            summary += f" (Not yet available: {', '.join(missing)}; the verdict rests on what is.)"
        verdict = Verdict(
            cause=finding.cause,
            confidence=finding.confidence,
            summary=summary,
            rule=function.__name__,
            evidence=_dedupe(finding.evidence),
            chain=chain,
            missing_evidence=missing,
        )
        return verdict, finding.decisive, ctx.facts
    raise AssertionError("no_signal always decides")  # pragma: no cover


def _missing_evidence(ctx: Context) -> list[str]:
    """Run-level evidence that was not there to look at: the HAR and the console log."""
    if not any(s.step.has_output or s.actions for s in ctx.corr.steps):
        return []
    types = {p.artifact_type for p in ctx.run.problems if p.kind in ("missing", "archived")}
    missing = []
    if not ctx.run.network_loaded and "har" in types:
        missing.append("har")
    if not ctx.run.console and "browser_console_log" in types:
        missing.append("browser_console_log")
    return missing


# --- helpers -----------------------------------------------------------------------------------


def _site_failure(
    ctx: Context, hits: list[FlowFailure], cause: str, opening: str, words: re.Pattern[str] | None
) -> Finding:
    last = hits[-1]
    key = network.endpoint(last.entry)
    same = [f for f in hits if network.endpoint(f.entry) == key]
    first = same[0]
    steps = {ctx.position_of(f) for f in same}
    view = last.view
    chain = [_request_link(ctx, first)]
    said = _words_after(ctx, first.view, words) if first.view is not None else None
    if said is None and view is not None and view is not first.view:
        said = _words_after(ctx, view, words)
    if said is not None:
        chain.append(said)
    failing = ctx.failing.view
    if failing is not None and failing is not view:
        state = element_evidence(failing)
        if state is not None and ("disabled" in state.detail or "not interactable" in state.detail):
            chain.append(state)
    repeat = f" ({len(same)} times in {len(steps)} step(s))" if len(same) > 1 else ""
    tail = ""
    if ctx.terminate is not None:
        tail = f"; the agent then gave up in step {ctx.terminate.step.label}"
    elif ctx.failing.view is None and ctx.run.steps_from_api:
        tail = "; every action reported success, so the agent kept trying"
    elif failing is not None and failing is not view:
        tail = f"; then {describe_action(failing)} failed"
    estimated = last.view is None
    when = f" after {describe_action(view)}" if view is not None else ""
    summary = f"{opening}: {describe_request(last.entry)}{when}{repeat}{tail}."
    if said is not None:
        summary += f" The page said: {said.detail.split(': ', 1)[-1]}"
    evidence = [request_evidence(f.entry, f.view) for f in hits[-3:]]
    if said is not None:
        evidence.append(said)
    if view is not None:
        evidence += present(element_evidence(view), *error_console(view))
    evidence += present(failure_text_evidence(ctx.corr))
    decisive = view or _last_web_action(last.step)
    return Finding(cause, 0.6 if estimated else 0.9, summary, evidence, chain, decisive)


def _site_failure_without_har(ctx: Context) -> Finding | None:
    """No HAR to read: the page's own words (or the console) saying the server failed."""
    if ctx.run.network_loaded or ctx.run.status == "completed":
        return None
    for words in reversed(ctx.facts.page_words):
        if ctx.step_position(words.view) > ctx.symptom_position:
            continue
        lines = [line for line in words.lines if SERVER_WORDS.search(line)]
        if lines:
            link = _page_link(words, SERVER_WORDS)
            summary = (
                f"The site failed after {describe_action(words.view)}: the page said '{clip(lines[0], 120)}' "
                "(no network log to show the request)."
            )
            consoles = [c for c in words.view.console if _server_status(c.message)]
            evidence = present(
                link, *(Evidence("console", f"console:{c.line_no}", clip(c.message, 160)) for c in consoles[:2])
            )
            return Finding(
                "site_server_error",
                0.6,
                summary,
                evidence + present(failure_text_evidence(ctx.corr)),
                present(link),
                words.view,
            )
    for view in reversed(ctx.executed):
        consoles = [c for c in view.console if _server_status(c.message)]
        if consoles and ctx.step_position(view) <= ctx.symptom_position:
            link = Evidence(
                "console", f"console:{consoles[0].line_no}", f"[{consoles[0].level}] {clip(consoles[0].message, 160)}"
            )
            summary = (
                f"The site failed after {describe_action(view)}: the console says {clip(consoles[0].message, 120)}."
            )
            return Finding(
                "site_server_error", 0.6, summary, [link, *present(failure_text_evidence(ctx.corr))], [link], view
            )
    return None


def _server_status(message: str) -> bool:
    match = _CONSOLE_STATUS.search(message)
    return bool(match and match.group(1).startswith("5"))


def _request_link(ctx: Context, failure: FlowFailure) -> Evidence:
    where = (
        f"step {failure.view.step.label}"
        if failure.view is not None
        else (f"step {failure.step.step.label}" if failure.step is not None else "the run")
    )
    after = f", after {describe_action(failure.view).split(' in step')[0]}" if failure.view is not None else ""
    return Evidence("request", f"har:{failure.entry.index}", f"{describe_request(failure.entry)} in {where}{after}")


def _words_after(ctx: Context, view: ActionView | None, pattern: re.Pattern[str] | None) -> Evidence | None:
    if view is None:
        return None
    words = ctx.facts.words_after(view)
    return _page_link(words, pattern) if words is not None else None


def _page_link(words, pattern: re.Pattern[str] | None) -> Evidence | None:
    lines = [line for line in words.lines if pattern is None or pattern.search(line)] or list(words.lines)
    if not lines:
        return None
    where = "the next page" if words.where == "next_scrape" else "the page"
    shown = "; ".join(f"'{clip(line, 120)}'" for line in lines[:2])
    return Evidence("page_text", words.view.ref, f"{where} then said: {shown}")


def _counts_as_auth(ctx: Context, failure: FlowFailure) -> bool:
    entry = failure.entry
    if entry.status == 401:
        return True
    if _AUTH_URL.search(entry.url) or _DOWNLOAD_URL.search(entry.url) or entry.is_document:
        return True
    view = failure.view
    if view is not None and view.action.action_type == "download_file":
        return True
    return view is not None and _has_password_field(view)


def _has_password_field(view: ActionView) -> bool:
    elements = view.step.elements or {}
    return any(str(e.attributes.get("type", "")).lower() == "password" for e in elements.values())


def _last_web_action(step: StepView | None) -> ActionView | None:
    if step is None:
        return None
    candidates = [v for v in step.actions if v.action.element_id and v.action.executed is not False]
    return candidates[-1] if candidates else None


def _navigation_text(ctx: Context) -> str | None:
    for step in ctx.corr.steps:
        if step.step.step_exception and "Navigat" in step.step.step_exception:
            return ctx.run.failure_reason or step.step.step_exception
    reason = ctx.run.failure_reason or ""
    if "failed to navigate" in reason.lower():
        return reason
    return None


def _vanished_evidence(corr: Correlation, view: ActionView) -> list[Evidence]:
    """Was the element already gone in the html_action of the action before it?"""
    step = view.step
    same_step = next(v for v in corr.steps if v.step is step)
    previous = [v for v in same_step.actions if v.action.index < view.action.index and v.post_html_index is not None]
    if not previous or not view.action.element_id:
        return []
    prev = previous[-1]
    snapshot = step.html_actions[prev.post_html_index] if prev.post_html_index is not None else None
    if snapshot is None:
        return []
    state = "still present" if snapshot.has(view.action.element_id) else "already gone"
    return [
        Evidence(
            "element",
            prev.ref,
            f"id {view.action.element_id} {state} in the page after the previous action ({describe_action(prev)})",
        )
    ]


def _element_key(view: ActionView) -> str | None:
    join = view.element
    if join and join.element:
        return join.element.xpath or join.element.text
    return None


def _timed_out(view: ActionView | None) -> ActionView | None:
    """The failing action, when its failure is a timeout (by type or by message)."""
    if view is None or not view.real_failure:
        return None
    message = view.action.result.exception_message or "" if view.action.result else ""
    return view if "Timeout" in (_exception(view) or "") or "timeout" in message.lower() else None


def _exception(view: ActionView | None) -> str | None:
    if view is None or view.action.result is None:
        return None
    return view.action.result.exception_type


def _line_with(text: str, match: re.Match[str] | None) -> str:
    if match is None:
        return ""
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    return text[start : end if end >= 0 else len(text)].strip()


def _empty(value: object) -> bool:
    """No data: None, "", [], {}, or an object whose every value is empty (``{"orders": []}``)."""
    if isinstance(value, dict):
        return all(_empty(v) for v in value.values())
    return value is None or value == "" or value == []


def _dedupe(items: list[Evidence]) -> list[Evidence]:
    seen: set[tuple[str, str, str]] = set()
    out = []
    for item in items:
        key = (item.kind, item.ref, item.detail)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


__all__ = ["RULES", "Finding", "decide", "rule_names"]

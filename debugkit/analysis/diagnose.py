"""The verdict: the root cause, the chain from it to the symptom, and the evidence behind it.

``diagnose`` runs the rules of :mod:`debugkit.analysis.rules` in order; the first that finds its
signal decides. A rule names a *cause* from the fixed vocabulary of
:mod:`debugkit.analysis.causes`; the category (Skyvern's name for it) follows from one table.
Pure functions over a :class:`Correlation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from debugkit.analysis.causes import category_of
from debugkit.analysis.correlate import ActionView, Correlation
from debugkit.analysis.describe import (  # noqa: F401  (re-exported for the reporters)
    Evidence,
    describe_action,
    describe_element,
    describe_request,
)
from debugkit.text import clip

if TYPE_CHECKING:
    from debugkit.analysis.facts import Facts


@dataclass
class Verdict:
    """Why the run failed, in the words of one cause, with what it rests on.

    Read it as a sentence: ``summary`` ("The site answered POST /api/order with HTTP 500 ...") says it,
    ``cause`` names it, ``chain`` retells it step by step, ``evidence`` lists what it cites, and
    ``confidence`` says how sure the deciding ``rule`` is. Each :class:`~debugkit.analysis.describe.Evidence`
    has a ``kind`` (request, result, element, page_text, console, failure_text, action, step, llm),
    a ``ref`` that points at the thing itself (``har:3``, ``step:<id>/action:<i>``, ``console:12``,
    ``run.failure_reason``) and a one-line ``detail``. Example::

        Verdict(cause="site_server_error", confidence=0.9, rule="site_server_error",
                summary="The site answered POST /api/order with HTTP 500 ...",
                chain=[Evidence("request", "har:3", "POST http://shop.test/api/order -> HTTP 500"),
                       Evidence("result", "step:stp_2/action:1", "click on AAAG failed ...")])

    ``cause`` is one id of the vocabulary (``none`` for a completed run); ``category`` is the
    Skyvern category that cause maps to (None for ``none`` and ``canceled_by_user``). ``chain``
    goes from the root cause to the symptom Skyvern reported, one link per thing that followed
    from the one before (a 502, the page's "Couldn't load results", a disabled button, the click
    that failed). ``evidence`` is every item the verdict cites; ``missing_evidence`` names the
    artifacts that were not there to look at (a HAR that had not arrived yet). ``rule`` is the
    name of the rule that decided.
    """

    cause: str
    confidence: float
    summary: str
    rule: str
    evidence: list[Evidence] = field(default_factory=list)
    chain: list[Evidence] = field(default_factory=list)
    missing_evidence: list[str] = field(default_factory=list)

    @property
    def category(self) -> str | None:
        return category_of(self.cause)


@dataclass
class FailingAction:
    view: ActionView | None
    reason: str | None = None  # why there is none


@dataclass
class Diagnosis:
    verdict: Verdict
    failing: FailingAction
    decisive: ActionView | None  # the action the verdict is about (failing, or the one whose request failed)
    facts: Facts | None = None  # what the rules read (debugkit.analysis.facts)


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
        reasoning = clip(terminate.action.reasoning or "no reason given", 160)
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


def diagnose(corr: Correlation) -> Diagnosis:
    from debugkit.analysis.rules import decide

    failing = find_failing_action(corr)
    verdict, decisive, facts = decide(corr, failing)
    return Diagnosis(verdict=verdict, failing=failing, decisive=decisive, facts=facts)

"""One call from a parsed run to everything the reporters show."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from debugkit.analysis.correlate import Correlation, StepView, correlate
from debugkit.analysis.diagnose import Diagnosis, diagnose
from debugkit.analysis.facts import Facts
from debugkit.model import RunData
from debugkit.steps import pick_step


@dataclass
class Triage:
    """The analysed model of one run: what every reporter (terminal, JSON, HTML, bundle) reads.

    It is built in three layers, each from the one before, by :func:`analyse`:

    1. ``run`` (:class:`~debugkit.model.RunData`): the parsed run, redacted or not; steps with their
       actions, element trees, scrapes and screenshots, the HAR's requests, the console lines.
    2. ``corr`` (:class:`~debugkit.analysis.correlate.Correlation`): the join. Every action becomes an
       :class:`~debugkit.analysis.correlate.ActionView` holding the element its id named, the page
       before and after it, and the requests and console lines of its time window.
    3. ``diagnosis`` (:class:`~debugkit.analysis.diagnose.Diagnosis`): the rules' answer.
       ``diagnosis.verdict`` is the cause with its chain and evidence; ``diagnosis.failing`` the
       action that failed (or, in ``reason``, why none did); ``diagnosis.decisive`` the action the
       verdict is about (the failing one, or the one whose request failed). ``facts`` is what the
       rules found along the way: failed requests the flow needed, the page's words after each
       action, actions that reported success without doing their job.

    Two things are filled later, outside the analysis: ``locations`` (by :mod:`debugkit.locate`, which
    may need a browser: where each action's element was on its screenshot) and ``show_secrets``
    (``--no-redact``). ``focus`` narrows :attr:`steps` to one step (``--step``); the verdict stays
    the run's.

    For example, to list every action that failed and the requests that failed around it::

        t = analyse(run)
        for view in t.corr.all_actions():
            if view.real_failure:
                failed = [e.url for e in view.network if e.failed]
                print(view.ref, view.action.action_type, view.element and view.element.label, failed)

    The public :class:`debugkit.Triage` wraps this model with outputs (``to_json``, ``write_html``...).
    """

    run: RunData
    corr: Correlation
    diagnosis: Diagnosis
    facts: Facts
    focus: StepView | None = None  # set by --step
    # (step_id, action index) -> debugkit.locate.Location, filled by locate_triage (it needs a browser)
    locations: dict[tuple[str, int], Any] = field(default_factory=dict)
    show_secrets: bool = False  # --no-redact: reporters do not mask typed secrets either

    @property
    def steps(self) -> list[StepView]:
        return [self.focus] if self.focus else self.corr.steps

    def failing_step_first(self) -> list[StepView]:
        """The steps with the decisive step first, then the others in run order."""
        decisive = self.diagnosis.decisive or self.diagnosis.failing.view
        steps = self.steps
        if decisive is None or self.focus:
            return steps
        first = [s for s in steps if s.step is decisive.step]
        return first + [s for s in steps if s.step is not decisive.step]


def analyse(run: RunData, step: str | None = None) -> Triage:
    """Join and diagnose a parsed run (pure: no I/O, no browser); ``step`` focuses on one step."""
    corr = correlate(run)
    diagnosis = diagnose(corr)
    triage = Triage(run=run, corr=corr, diagnosis=diagnosis, facts=diagnosis.facts)
    if step is not None:
        triage.focus = select_step(corr, step)
    return triage


def select_step(corr: Correlation, selector: str) -> StepView:
    """A step by id (``stp_…``), by order (``2``: its latest retry) or by order.retry (``2.1``)."""
    step_id = pick_step([(v.step.step_id, v.step.order, v.step.retry_index) for v in corr.steps], selector)
    return next(v for v in corr.steps if v.step.step_id == step_id)

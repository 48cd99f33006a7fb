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
    """Everything the reporters show of one run: the parsed run, the join, the verdict, the facts.

    ``diagnosis.verdict`` is the answer (cause, chain, evidence); ``diagnosis.failing`` the
    action that failed (or why none did) and ``diagnosis.decisive`` the action the verdict is
    about; ``facts`` what the rules found along the way (failed requests the flow needed, the
    page's words after each action, actions that reported success without doing their job).
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

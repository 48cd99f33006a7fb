"""The ``--step`` selector, shared by triage, report, fetch and annotate."""

from __future__ import annotations

from collections.abc import Sequence

from debugkit.errors import UsageError

# (step_id, order, retry_index) of each step, in run order
StepKey = tuple[str, int, int]


def pick_step(steps: Sequence[StepKey], selector: str) -> str:
    """The step id a selector names: a step id, an order (``2``: its latest retry) or ``order.retry``.

    Raises UsageError listing the run's steps when nothing matches.
    """
    wanted = selector.strip()
    for step_id, _, _ in steps:
        if step_id == wanted:
            return step_id
    order, _, retry = wanted.partition(".")
    if order.isdigit() and (retry == "" or retry.isdigit()):
        matches = [s for s in steps if s[1] == int(order) and (retry == "" or s[2] == int(retry))]
        if matches:
            return max(matches, key=lambda s: s[2])[0]
    known = ", ".join(f"{o}.{r} ({i})" for i, o, r in steps) or "none"
    raise UsageError(f"no step '{selector}' in this run; steps are: {known}")

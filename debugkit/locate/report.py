"""Locations for the HTML report and the support bundle: every step the report shows, one re-render per step."""

from __future__ import annotations

from debugkit.analysis.triage import Triage
from debugkit.locate.core import locate_actions, locate_steps
from debugkit.locate.model import Location

# step_id -> {element_id: Location}: what the "element numbers" overlay draws for each step
# (``"@<action index>"`` keys are computer-use click points).
Overlays = dict[str, dict[str, Location]]


def locate_for_report(t: Triage, *, render: bool = True) -> Overlays:
    """Locate for the report with one re-render per step: fill ``t.locations`` (every action's element or
    click point, as :func:`debugkit.locate.locate_triage` does) and return the overlays for
    :func:`debugkit.report.html.render_html` (every interactable element of each step, the chosen ones first).

    All steps at once (:func:`debugkit.locate.locate_steps`): one browser renders several scrapes in parallel
    pages while the steps already rendered are placed."""
    overlays: Overlays = {}
    views = [view for view in t.steps if view.actions]
    found = locate_steps([view.step for view in views], include_all=True, render=render)
    for view, located in zip(views, found, strict=True):
        step = view.step
        overlay = dict(located)
        by_action = locate_actions(step, overlay, render=render)
        for action in step.actions:
            location = by_action.get(action.index)
            if location is None:
                continue
            t.locations[(step.step_id, action.index)] = location
            if not action.element_id or overlay.get(action.element_id) is not location:
                overlay[f"@{action.index}"] = location  # a computer-use click point
        overlays[step.step_id] = overlay
    return overlays

"""The terminal triage: header, the failing action as a card, then every step and action.

All page-derived text goes through rich's ``Text`` (never markup), so a page cannot inject
console markup or escape sequences.
"""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from debugkit.analysis.categories import CATEGORIES
from debugkit.analysis.correlate import ActionView, StepView
from debugkit.analysis.diagnose import describe_element, describe_request
from debugkit.analysis.triage import Triage
from debugkit.model import NetworkEntry
from debugkit.report.json_report import MISSING_KINDS, typed_text
from debugkit.timeutil import iso

OUTCOME_STYLE = {
    "succeeded": "green",
    "failed": "bold red",
    "not executed": "dim",
    "unknown": "yellow",
    "skipped": "yellow",
}
MAX_REQUESTS_IN_CARD = 8


def _t(value: object, style: str = "") -> Text:
    """Untrusted text, shown literally; control characters are made visible."""
    text = "" if value is None else str(value)
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else f"\\x{ord(ch):02x}" for ch in text)
    return Text(text, style=style)


def render(t: Triage, console: Console) -> None:
    console.print(_header(t))
    decisive = t.diagnosis.decisive or t.diagnosis.failing.view
    if decisive is not None and (t.focus is None or decisive.step is t.focus.step):
        title = "Failing action" if t.diagnosis.failing.view else "Decisive action"
        location = t.locations.get((decisive.step.step_id, decisive.action.index))
        console.print(_action_card(decisive, title=title, location=location, show_secrets=t.show_secrets))
    elif t.diagnosis.failing.reason and t.focus is None:
        console.print(_t(f"No failing action: {t.diagnosis.failing.reason}.", "dim"))
    for step in t.failing_step_first():
        console.print(_step_table(step))
    _problems(t, console)


def _header(t: Triage) -> Panel:
    run = t.run
    verdict = t.diagnosis.verdict
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("Run", _t(f"{run.run_id or '(unknown id)'}  {run.run_type or ''}"))
    status_style = "green" if run.status == "completed" else "bold red"
    grid.add_row("Status", _t(run.status or "unknown", status_style))
    if run.failure_reason:
        grid.add_row("Failure reason", _t(run.failure_reason))
    if run.skyvern_categories:
        grid.add_row(
            "Skyvern says",
            _t(", ".join(f"{c.get('category')} ({c.get('confidence_float')})" for c in run.skyvern_categories)),
        )
    category = verdict.category or "none (run completed)"
    meaning = CATEGORIES.get(verdict.category or "", "")
    head = Text.assemble(Text(category, style="bold magenta"), f"  confidence {verdict.confidence:.2f}")
    if meaning:
        head.append(f"\n{meaning}", style="dim")
    grid.add_row("Verdict", head)
    grid.add_row("Why", _t(verdict.summary))
    for item in verdict.evidence:
        ref = Text(f"  ({item.ref})", style="dim")
        line = Text.assemble(Text(f"[{item.kind}] ", style="cyan"), _t(item.detail), ref)
        grid.add_row("", line)
    if t.focus:
        grid.add_row("Focus", _t(f"step {t.focus.step.label} ({t.focus.step.step_id})"))
    grid.add_row("Source", _t(f"{run.source} ({run.source_kind})", "dim"))
    return Panel(grid, title="debugkit triage", border_style="magenta")


def _action_card(view: ActionView, title: str, location: object = None, show_secrets: bool = False) -> Panel:
    action = view.action
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("Step", _t(f"{view.step.label}  {view.step.step_id}  (action {action.index})"))
    typed = typed_text(view, show_secrets)
    grid.add_row("Action", _t(action.action_type + (f"  text: {typed}" if typed else "")))
    grid.add_row("Element id", _t(action.element_id or "-"))
    join = view.element
    if join is not None:
        element = join.element
        found = {True: "found", False: "NOT FOUND", None: "unknown"}[join.found]
        origin = f" (from {join.source})" if join.source else ""
        grid.add_row("Found", _t(found + origin, "" if join.found else "bold red"))
        if element is not None:
            grid.add_row("Tag", _t(element.tag))
            grid.add_row("Text", _t(element.text or ""))
            if join.label:
                grid.add_row("Label", _t(join.label))
            frame = " > ".join(element.frame_chain) if element.frame_chain else "main frame"
            grid.add_row("Frame", _t(frame))
            if location is not None:
                from debugkit.locate import describe

                grid.add_row("Where", _t(describe(location, view.step)))
            grid.add_row("Interactable", _t(element.interactable))
            if element.attributes.get("disabled") is True:
                grid.add_row("Disabled", _t("yes", "bold red"))
        if join.html:
            grid.add_row("HTML", _t(join.html.outer_html, "dim"))
            after = join.html.present_after_action
            if after is not None:
                grid.add_row("After action", _t("still on the page" if after else "gone from the page"))
        if join.note:
            grid.add_row("Note", _t(join.note, "yellow"))
    if action.reasoning:
        grid.add_row("Reasoning", _t(action.reasoning))
    result = action.result
    grid.add_row("Outcome", _t(view.outcome, OUTCOME_STYLE.get(view.outcome, "")))
    if result and (result.exception_type or result.exception_message):
        grid.add_row("Exception", _t(f"{result.exception_type or ''}: {result.exception_message or ''}", "red"))
    requests = sorted(view.network, key=lambda e: (not e.failed, e.noise, e.index))
    if requests:
        lines = [_request_line(e) for e in requests[:MAX_REQUESTS_IN_CARD]]
        if len(requests) > MAX_REQUESTS_IN_CARD:
            lines.append(_t(f"... and {len(requests) - MAX_REQUESTS_IN_CARD} more", "dim"))
        grid.add_row("Requests", Text("\n").join(lines))
    errors = [c for c in view.console if c.level == "error"]
    if errors:
        grid.add_row("Console", Group(*(_t(f"[{c.level}] {c.message}", "red") for c in errors[:5])))
    return Panel(grid, title=title, border_style="red")


def _request_line(entry: NetworkEntry) -> Text:
    if entry.noise:
        return _t(describe_request(entry) + "  (noise)", "dim")
    return _t(describe_request(entry), "bold red" if entry.failed else "")


def _step_table(view: StepView) -> Table:
    step = view.step
    failures = sum(1 for e in view.network if e.failed and not e.noise)
    title = Text.assemble(
        Text(f"Step {step.label}", style="bold"),
        f"  {step.step_id}  ",
        Text(step.status or "status unknown", style="green" if step.status == "completed" else "yellow"),
    )
    caption = []
    if step.website_url:
        caption.append(step.website_url)
    if step.created_at:
        caption.append(f"started {iso(step.created_at)}")
    caption.append(f"{len(step.screenshots_llm)} screenshot(s) for the model")
    caption.append(f"{len(view.network)} request(s), {failures} failed")
    if step.step_exception:
        caption.append(f"exception {step.step_exception}")
    table = Table(title=title, caption=_t(" | ".join(caption)), expand=False, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("action")
    table.add_column("element")
    table.add_column("what it was")
    table.add_column("outcome")
    table.add_column("requests")
    if not view.actions:
        table.add_row("-", "-", "-", _t("no actions chosen", "dim"), "-", "-")
    for action_view in view.actions:
        action = action_view.action
        join = action_view.element
        what = "-"
        if join is not None:
            if join.element is not None:
                what = describe_element(action_view).rsplit(" (", 1)[0]
            elif join.found is False:
                what = "NOT ON THE PAGE"
            else:
                what = "unknown"
        outcome = action_view.outcome
        result = action.result
        if result and result.exception_type:
            outcome += f" ({result.exception_type})"
        failed = [e for e in action_view.network if e.failed and not e.noise]
        requests = f"{len(action_view.network)}" + (f", {len(failed)} failed" if failed else "")
        table.add_row(
            str(action.index),
            _t(action.action_type),
            _t(action.element_id or "-"),
            _t(what[:60]),
            _t(outcome, OUTCOME_STYLE.get(action_view.outcome, "")),
            _t(requests, "bold red" if failed else ""),
        )
    return table


def _problems(t: Triage, console: Console) -> None:
    problems = [p for p in t.run.problems if p.kind != "skipped"]
    skipped = [p for p in t.run.problems if p.kind == "skipped"]
    if not problems and not skipped:
        return
    console.print(Text("Missing or damaged pieces", style="bold yellow"))
    for problem in problems:
        where = f"step {problem.step_id}" if problem.step_id else "run"
        kind = "missing" if problem.kind in MISSING_KINDS else problem.kind
        detail = _t(f"{problem.artifact_type or '-'} ({where}): {problem.detail}")
        console.print(Text.assemble(Text(f"  {kind:8} ", style="yellow"), detail))
    if skipped:
        console.print(_t(f"  {len(skipped)} piece(s) skipped, e.g. {skipped[0].detail}", "dim"))

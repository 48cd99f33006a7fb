"""The terminal triage: the cause and its chain, the decisive action as a card, the run, then (with
``--steps``) every step and action, and one closing line with the verdict.

All page-derived text goes through rich's ``Text`` (never markup), so a page cannot inject
console markup or escape sequences.
"""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from debugkit.analysis.causes import meaning_of
from debugkit.analysis.correlate import ActionView, StepView
from debugkit.analysis.diagnose import describe_action, describe_element, describe_request
from debugkit.analysis.triage import Triage
from debugkit.model import NetworkEntry
from debugkit.report.json_report import MISSING_KINDS, typed_text
from debugkit.text import clip
from debugkit.timeutil import iso

OUTCOME_STYLE = {
    "succeeded": "green",
    "failed": "bold red",
    "not executed": "dim",
    "unknown": "yellow",
    "skipped": "yellow",
}
MAX_REQUESTS_IN_CARD = 5


def _t(value: object, style: str = "") -> Text:
    """Untrusted text, shown literally; control characters are made visible."""
    text = "" if value is None else str(value)
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else f"\\x{ord(ch):02x}" for ch in text)
    return Text(text, style=style)


def render(t: Triage, console: Console, *, show_steps: bool = False) -> None:
    """The triage on a terminal: the cause, its chain and the decisive action first; the run's
    details, the rest of the evidence and missing pieces after; one line with the verdict last.
    Step tables only with ``show_steps`` (``--steps``) or when focused on a step (``--step``)."""
    console.print(_verdict_panel(t))
    decisive = t.diagnosis.decisive or t.diagnosis.failing.view
    if decisive is not None and (t.focus is None or decisive.step is t.focus.step):
        title = "Failing action" if t.diagnosis.failing.view is decisive else "Decisive action"
        location = t.locations.get((decisive.step.step_id, decisive.action.index))
        console.print(_action_card(decisive, title=title, location=location, show_secrets=t.show_secrets))
        failing = t.diagnosis.failing.view
        if failing is not None and failing is not decisive and (t.focus is None or failing.step is t.focus.step):
            where = t.locations.get((failing.step.step_id, failing.action.index))
            title = "Failing action (the symptom)"
            console.print(_action_card(failing, title=title, location=where, show_secrets=t.show_secrets))
    elif t.diagnosis.failing.reason and t.focus is None:
        console.print(_t(f"No failing action: {t.diagnosis.failing.reason}.", "dim"))
    console.print(_run_panel(t))
    _more_evidence(t, console)
    _silent(t, console)
    if show_steps or t.focus is not None:
        for step in t.failing_step_first():
            console.print(_step_table(step))
    else:
        console.print(_t(f"{len(t.corr.steps)} step(s); --steps shows each step's actions.", "dim"))
    _problems(t, console)
    console.print(_final_line(t, console.width))


def _verdict_panel(t: Triage) -> Panel:
    verdict = t.diagnosis.verdict
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    cause = Text.assemble(Text(verdict.cause, style="bold magenta"), "  ", Text(meaning_of(verdict.cause), style=""))
    grid.add_row("Cause", cause)
    detail = f"category {verdict.category or 'none'}, confidence {verdict.confidence:.2f}, rule {verdict.rule}"
    grid.add_row("", _t(detail, "dim"))
    grid.add_row("Why", _t(verdict.summary))
    if verdict.chain:
        lines = []
        for number, link in enumerate(verdict.chain, 1):
            arrow = "" if number == 1 else "→ "
            lines.append(
                Text.assemble(
                    Text(f"{number}. {arrow}", style="bold"),
                    _t(link.detail),
                    Text(f"  ({link.ref})", style="dim"),
                )
            )
        grid.add_row("Chain", Text("\n").join(lines))
    if verdict.missing_evidence:
        grid.add_row("Missing", _t("not available yet: " + ", ".join(verdict.missing_evidence), "yellow"))
    run = t.run
    status_style = "green" if run.status == "completed" else "bold red"
    title = Text.assemble(
        "debugkit triage  ", _t(run.run_id or "(unknown id)"), "  ", Text(run.status or "status unknown", status_style)
    )
    return Panel(grid, title=title, title_align="left", border_style="magenta")


def _run_panel(t: Triage) -> Panel:
    run = t.run
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("Run", _t(f"{run.run_id or '(unknown id)'}  {run.run_type or ''}  {run.status or 'status unknown'}"))
    if run.failure_reason:
        grid.add_row("Failure reason", _t(run.failure_reason))
    if run.skyvern_categories:
        said = []
        for row in run.skyvern_categories:
            extra = ", ".join(str(row[k]) for k in ("reason_code", "evidence_source") if row.get(k))
            said.append(f"{row.get('category')} ({row.get('confidence_float')}{', ' + extra if extra else ''})")
        grid.add_row("Skyvern says", _t(", ".join(said)))
    codes = [str(e.get("error_code")) for e in run.errors if e.get("error_code")]
    if codes:
        grid.add_row("Error codes", _t(", ".join(codes)))
    if t.focus:
        grid.add_row("Focus", _t(f"step {t.focus.step.label} ({t.focus.step.step_id})"))
    grid.add_row("Source", _t(f"{run.source} ({run.source_kind})", "dim"))
    return Panel(grid, title="Run", title_align="left", border_style="dim")


def _more_evidence(t: Triage, console: Console) -> None:
    verdict = t.diagnosis.verdict
    shown = {(link.kind, link.ref, link.detail) for link in verdict.chain}
    rest = [e for e in verdict.evidence if (e.kind, e.ref, e.detail) not in shown]
    if not rest:
        return
    console.print(Text("Evidence", style="bold"))
    for item in rest[:8]:
        console.print(
            Text.assemble(
                Text(f"  [{item.kind}] ", style="cyan"), _t(item.detail), Text(f"  ({item.ref})", style="dim")
            )
        )


def _silent(t: Triage, console: Console) -> None:
    hidden = [h for h in t.facts.hidden if h.kind == "fallback"]
    if not hidden:
        return
    console.print(Text("Reported success, but did not do its job", style="bold yellow"))
    for item in hidden[:5]:
        console.print(_t(f"  {describe_action(item.view)}: {item.detail}", "yellow"))


def _final_line(t: Triage, width: int) -> Text:
    verdict = t.diagnosis.verdict
    head = f"Verdict: {verdict.cause}"
    if verdict.category:
        head += f" ({verdict.category})"
    text = clip(f"{head} - {verdict.summary}", max(width, 40))
    return _t(text, "bold")


def _action_card(view: ActionView, title: str, location: object = None, show_secrets: bool = False) -> Panel:
    action = view.action
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("Step", _t(f"{view.step.label}  {view.step.step_id}  (action {action.index})"))
    typed = typed_text(view, show_secrets)
    grid.add_row("Action", _t(action.action_type + (f"  text: {typed}" if typed else "")))
    join = view.element
    if join is None:
        grid.add_row("Element id", _t(action.element_id or "-"))
    else:
        element = join.element
        found = {True: "found", False: "NOT FOUND", None: "unknown"}[join.found]
        origin = f" (from {join.source})" if join.source else ""
        grid.add_row(
            "Element id",
            Text.assemble(_t(action.element_id or "-"), "  ", _t(found + origin, "" if join.found else "bold red")),
        )
        if element is not None:
            facts = [describe_element(view)]
            facts.append("in iframe " + " > ".join(element.frame_chain) if element.frame_chain else "main frame")
            if element.interactable is False:
                facts.append("not interactable")
            grid.add_row("Element", _t(", ".join(facts)))
            if element.text and element.text.strip() and element.text.strip() != (join.label or "").strip():
                grid.add_row("Text", _t(clip(element.text, 200)))
            if element.attributes.get("disabled") is True:
                grid.add_row("Disabled", _t("yes", "bold red"))
            if location is not None:
                from debugkit.locate import describe

                grid.add_row("Where", _t(describe(location, view.step)))
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
        message = clip(result.exception_message or "", 300)
        grid.add_row("Exception", _t(f"{result.exception_type or ''}: {message}", "red"))
    requests = sorted(view.network, key=lambda e: (not e.failed, e.noise, e.index))
    if requests:
        lines = [_request_line(e) for e in requests[:MAX_REQUESTS_IN_CARD]]
        if len(requests) > MAX_REQUESTS_IN_CARD:
            lines.append(_t(f"... and {len(requests) - MAX_REQUESTS_IN_CARD} more", "dim"))
        grid.add_row("Requests", Text("\n").join(lines))
    errors = [c for c in view.console if c.level == "error"]
    if errors:
        grid.add_row("Console", Group(*(_t(f"[{c.level}] {clip(c.message, 200)}", "red") for c in errors[:3])))
    return Panel(grid, title=title, border_style="red")


def _request_line(entry: NetworkEntry) -> Text:
    if entry.noise:
        return _t(describe_request(entry) + f"  (noise: {entry.noise_reason or 'not a site failure'})", "dim")
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

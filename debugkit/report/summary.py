"""``summary.md``: the short ticket text of a support bundle."""

from __future__ import annotations

from debugkit import __version__
from debugkit.analysis.causes import meaning_of
from debugkit.analysis.diagnose import describe_action
from debugkit.analysis.triage import Triage


def summary_markdown(t: Triage) -> str:
    run = t.run
    verdict = t.diagnosis.verdict
    failing = t.diagnosis.failing
    decisive = t.diagnosis.decisive or failing.view
    lines = [
        f"# Skyvern run {_code(run.run_id or 'unknown')}: {run.status or 'status unknown'}",
        "",
        f"- **Cause:** `{verdict.cause}`: {meaning_of(verdict.cause)} (category `{verdict.category or 'none'}`, "
        f"confidence {verdict.confidence:.2f}, rule `{verdict.rule}`)",
        f"- **Why:** {_plain(verdict.summary)}",
    ]
    if verdict.chain:
        lines += ["", "## From cause to symptom", ""]
        lines += [f"{n}. {_plain(link.detail)} (`{link.ref}`)" for n, link in enumerate(verdict.chain, 1)]
        lines.append("")
    if run.failure_reason:
        lines.append(f"- **Skyvern's failure reason:** {_plain(run.failure_reason)}")
    if failing.view is not None:
        result = failing.view.action.result
        lines.append(
            f"- **Failing action:** {_plain(describe_action(failing.view))} "
            f"(step `{failing.view.step.step_id}`, action {failing.view.action.index})"
            + (f": `{result.exception_type}`" if result and result.exception_type else "")
        )
    else:
        lines.append(f"- **Failing action:** none ({_plain(failing.reason or '')})")
    if decisive is not None and decisive is not failing.view:
        lines.append(
            f"- **Decisive action:** {_plain(describe_action(decisive))} (step `{decisive.step.step_id}`, "
            f"action {decisive.action.index})"
        )
    lines += ["", "## Evidence", ""]
    lines += [f"- [{e.kind}] {_plain(e.detail)} (`{e.ref}`)" for e in verdict.evidence] or ["- none"]
    lines += ["", "## Steps", ""]
    for view in t.corr.steps:
        step = view.step
        failed = sum(1 for a in view.actions if a.real_failure)
        lines.append(
            f"- step {step.order}.{step.retry_index} `{step.step_id}`: {step.status or 'unknown'}, "
            f"{len(view.actions)} action(s), {failed} failed"
        )
    problems = run.problems
    if problems:
        lines += ["", "## Missing or damaged artifacts", ""]
        lines += [f"- {p.kind}: {p.artifact_type or '-'} ({p.step_id or 'run'}): {_plain(p.detail)}" for p in problems]
    lines += ["", f"Made by debugkit {__version__}; details in report.html, triage.json and manifest.json.", ""]
    return "\n".join(lines)


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def _plain(text: str) -> str:
    """Page-derived text as inert Markdown: no HTML, no links, no code fences."""
    return (
        text.replace("->", "→").replace("\\", "\\\\").replace("<", "&lt;").replace(">", "&gt;").replace("[", "\\[")
        .replace("`", "'").replace("\n", " ")
    )

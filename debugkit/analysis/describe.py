"""Words for what the analysis found: elements, actions and requests in one line each, and the
evidence items that cite them (``kind``, ``ref``, ``detail``)."""

from __future__ import annotations

from dataclasses import dataclass

from debugkit.analysis.correlate import ActionView, Correlation
from debugkit.model import ConsoleLine, NetworkEntry
from debugkit.text import clip

TAG_NAMES = {"a": "link", "select": "dropdown", "textarea": "text area"}


@dataclass
class Evidence:
    """One thing the verdict rests on, and where to find it.

    ``kind``: result | element | request | page_text | console | failure_text | action | step | llm.
    ``ref``: ``step:<id>/action:<i>``, ``har:<index>``, ``console:<line>``, ``run.failure_reason``,
    ``step:<id>``. The same shape serves ``verdict.evidence`` and the links of ``verdict.chain``.
    """

    kind: str
    ref: str
    detail: str


def describe_element(view: ActionView) -> str:
    join = view.element
    element_id = view.action.element_id or "?"
    if join is None or join.element is None:
        return f"element {element_id}"
    element = join.element
    name = join.label or element.text
    name = name or element.attributes.get("placeholder") or element.attributes.get("name")
    text = f" '{clip(str(name), 40)}'" if name else ""
    kind = TAG_NAMES.get(element.tag or "", element.tag or "element")
    return f"{kind}{text} ({element_id})"


def describe_action(view: ActionView) -> str:
    verb = view.action.action_type.replace("_", " ")
    if view.action.element_id:
        return f"{verb} on {describe_element(view)} in step {view.step.label}"
    return f"{verb} in step {view.step.label}"


def describe_request(entry: NetworkEntry) -> str:
    outcome = entry.error or (f"HTTP {entry.status}" if entry.status else "no status")
    return f"{entry.method} {clip(entry.url, 120)} -> {outcome}"


def sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def result_evidence(view: ActionView) -> Evidence:
    result = view.action.result
    if result is None:
        return Evidence("action", view.ref, describe_action(view))
    detail = f"{describe_action(view)}: {result.exception_type or ('success' if result.success else 'failure')}"
    if result.exception_message:
        detail += f": {clip(result.exception_message, 200)}"
    return Evidence("result", view.ref, detail)


def element_evidence(view: ActionView) -> Evidence | None:
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


def request_evidence(entry: NetworkEntry, view: ActionView | None) -> Evidence:
    where = f" after {describe_action(view)}" if view else ""
    return Evidence("request", f"har:{entry.index}", describe_request(entry) + where)


def console_evidence(line: ConsoleLine) -> Evidence:
    return Evidence("console", f"console:{line.line_no}", f"[{line.level}] {clip(line.message, 160)}")


def failure_text_evidence(corr: Correlation) -> Evidence | None:
    reason = corr.run.failure_reason
    if not reason:
        return None
    return Evidence("failure_text", "run.failure_reason", clip(reason, 240))


def present(*items: Evidence | None) -> list[Evidence]:
    return [item for item in items if item is not None]


def error_console(view: ActionView, limit: int = 2) -> list[Evidence]:
    return [console_evidence(line) for line in view.console if line.level == "error"][:limit]

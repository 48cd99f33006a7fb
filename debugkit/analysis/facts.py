"""Facts the rules share, computed once per run: failed requests the flow needed, what the page said
after each action, bot checks, and failures that hid behind a reported success.

Pure functions over a :class:`Correlation`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from debugkit.analysis import network
from debugkit.analysis.correlate import ActionView, Correlation, StepView
from debugkit.analysis.pagetext import challenge_markers, error_lines, new_lines
from debugkit.model import NetworkEntry
from debugkit.parsers.pagetext import PageText

INTERCEPT = re.compile(r"intercepts pointer events|is not clickable at point|other element would receive the click")
_INTERCEPTOR = re.compile(
    r"(<[a-zA-Z][^>]{0,200}>)(?:[^<]{0,80}</[a-zA-Z]+>)?\s*(?:from [^\n]{0,80})?intercepts pointer"
)
CLICKS = frozenset({"click", "checkbox", "select_option", "upload_file", "download_file", "hover"})


@dataclass
class FlowFailure:
    """A failed request the flow needed, of one kind (``debugkit.analysis.network``), and whose it is."""

    entry: NetworkEntry
    kind: str
    view: ActionView | None  # the action it is attributed to
    step: StepView | None
    recovered: bool = False  # a later request to the same endpoint succeeded


@dataclass
class PageWords:
    """Error lines that appeared on the page after an action (its html_action or the next scrape)."""

    view: ActionView
    lines: list[str]
    where: str  # "html_action" | "next_scrape"


@dataclass
class HiddenFailure:
    """An action reported as a success that did not do its job."""

    view: ActionView
    kind: str  # "fallback" (a failed attempt, then a fallback that "succeeded") | "no_change" | "other_element"
    detail: str
    interceptor: str | None = None  # the element that took the click, as Playwright named it


@dataclass
class Facts:
    flow_failures: list[FlowFailure] = field(default_factory=list)
    page_words: list[PageWords] = field(default_factory=list)
    challenge: tuple[StepView, list[str]] | None = None
    hidden: list[HiddenFailure] = field(default_factory=list)
    unchanged: set[int] = field(default_factory=set)  # id() of action views whose click changed nothing

    def words_after(self, view: ActionView) -> PageWords | None:
        return next((w for w in self.page_words if w.view is view), None)

    def failures(self, *kinds: str, include_recovered: bool = False) -> list[FlowFailure]:
        return [f for f in self.flow_failures if f.kind in kinds and (include_recovered or not f.recovered)]


def gather(corr: Correlation) -> Facts:
    facts = Facts()
    facts.flow_failures = _flow_failures(corr)
    facts.page_words = _page_words(corr)
    facts.challenge = _challenge(corr)
    facts.hidden, facts.unchanged = _hidden_failures(corr)
    return facts


def _flow_failures(corr: Correlation) -> list[FlowFailure]:
    found: list[FlowFailure] = []
    recovered = network.Recoveries(corr.run.network)
    for entry in corr.run.network:
        kind = network.kind_of(entry)
        if kind is None or kind in (network.NOISE, network.BENIGN):
            continue
        if not network.needed_by_flow(entry) and kind not in (network.CONNECTION, network.PROXY, network.TIMEOUT):
            continue
        view = corr.action_of(entry)
        step = corr.step_of(entry) or (next((s for s in corr.steps if s.step is view.step), None) if view else None)
        found.append(FlowFailure(entry, kind, view, step, recovered=recovered(entry)))
    return found


def _page_words(corr: Correlation) -> list[PageWords]:
    """For each executed action: the error lines new on the page after it."""
    words: list[PageWords] = []
    for position, step_view in enumerate(corr.steps):
        executed = [v for v in step_view.actions if v.action.executed is not False and v.page_before is not None]
        following = corr.steps[position + 1].step if position + 1 < len(corr.steps) else None
        for number, view in enumerate(executed):
            before = view.page_before.visible if view.page_before is not None else None
            afters: list[tuple[PageText, str]] = []
            if view.page_after is not None:
                afters.append((view.page_after.visible, view.page_after_source or "html_action"))
            last = number == len(executed) - 1
            if (
                last
                and view.page_after_source != "next_scrape"
                and following is not None
                and following.task_id == step_view.step.task_id
                and following.html_scrape is not None
            ):
                afters.append((following.html_scrape.visible, "next_scrape"))
            seen: list[str] = []
            where = None
            for after, source in afters:
                for line in error_lines(new_lines(before, after)):
                    if line not in seen:
                        seen.append(line)
                        where = where or source
            if seen and where:
                words.append(PageWords(view, seen[:5], where))
    return words


def _challenge(corr: Correlation) -> tuple[StepView, list[str]] | None:
    """The last step whose page shows a bot check, with the markers found."""
    blocked_status = any(e.status in (403, 429) for e in corr.run.network if not e.noise)
    for step_view in reversed(corr.steps):
        snapshots = [step_view.step.html_scrape, *step_view.step.html_actions]
        for snapshot in snapshots:
            if snapshot is None:
                continue
            markers = challenge_markers(snapshot.visible, strong_only=not blocked_status)
            if markers:
                return step_view, markers
    return None


def _hidden_failures(corr: Correlation) -> tuple[list[HiddenFailure], set[int]]:
    hidden: list[HiddenFailure] = []
    unchanged: set[int] = set()
    for step_view in corr.steps:
        for view in step_view.actions:
            action = view.action
            if action.executed is False or view.outcome != "succeeded":
                continue
            results = action.results or []
            failed_first = [r for r in results[:-1] if not r.success]
            if failed_first:
                first = failed_first[0]
                message = first.exception_message or ""
                interceptor = _interceptor(message)
                detail = f"{first.exception_type or 'a failure'} first"
                if interceptor:
                    detail += f" ({interceptor} intercepts pointer events)"
                elif INTERCEPT.search(message):
                    detail += " (another element intercepts pointer events)"
                last = results[-1]
                how = "its parent" if last.interacted_with_parent else ""
                how = how or ("a sibling" if last.interacted_with_sibling else "")
                detail += ", then a fallback" + (f" on {how}" if how else "") + " reported success"
                hidden.append(HiddenFailure(view, "fallback", detail, interceptor))
            replaced = _replaced_element(step_view, view)
            if replaced is not None:
                hidden.append(HiddenFailure(view, "other_element", replaced))
            if action.action_type in CLICKS and _same_page(view):
                unchanged.add(id(view))
                if not failed_first:
                    hidden.append(HiddenFailure(view, "no_change", "reported success, but the page did not change"))
    return hidden, unchanged


def _replaced_element(step_view: StepView, view: ActionView) -> str | None:
    """The id named another element when the action ran than when the model chose it.

    Ids are stamped on DOM nodes at scrape time; a page that re-renders in place (a client-side
    "next page") keeps the node and its id but changes what it shows. The evidence is the node's
    text in the ``html_action`` taken after the previous action of the same step.
    """
    element_id = view.action.element_id
    join = view.element
    if not element_id or join is None or join.element is None or join.source != "tree":
        return None
    before = [
        v for v in step_view.actions if v.action.index < view.action.index and v.action.executed and v.page_after
    ]
    if not before or before[-1].page_after_source != "html_action":
        return None
    node = before[-1].page_after.node(element_id)
    if node is None:
        return None
    then = _fold(join.label or join.element.text or "")
    now = _fold(node.get_text(" "))
    if not then or not now or then.lower() == now.lower():
        return None
    return f"id {element_id} was '{then[:80]}' when the model chose it, but '{now[:80]}' when the action ran"


def _fold(text: str) -> str:
    return " ".join(text.split())


def _same_page(view: ActionView) -> bool:
    if view.page_before is None or view.page_after is None:
        return False
    before, after = view.page_before.visible, view.page_after.visible
    return before.lines == after.lines and before.title == after.title


def _interceptor(message: str) -> str | None:
    match = _INTERCEPTOR.search(message)
    return match.group(1) if match else None


def intercept_message(view: ActionView) -> str | None:
    """The result message that says another element took the click, if any result says so."""
    for result in view.action.results or []:
        if result.exception_message and INTERCEPT.search(result.exception_message):
            return result.exception_message
    return None


def interceptor_of(view: ActionView) -> str | None:
    message = intercept_message(view)
    return _interceptor(message) if message else None

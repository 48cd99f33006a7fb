"""The join: action -> element -> HTML node -> network entries and console lines.

Pure functions over :class:`RunData`; no I/O. Ids are resolved only in their own step's
scrape, because a new document numbers its elements from ``AAAB`` again.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from debugkit.model import Action, ConsoleLine, Element, HtmlNode, NetworkEntry, RunData, StepData
from debugkit.parsers.elements import element_from_dict
from debugkit.parsers.html import HtmlSnapshot, snippet

# Requests fired by the last action can land after the step row's last update.
DEFAULT_GRACE = timedelta(seconds=2)


@dataclass
class ElementJoin:
    """What the chosen element id turned out to be."""

    found: bool | None  # None: nothing to look it up in
    source: str | None  # "tree" | "action_data" | None
    element: Element | None = None
    html: HtmlNode | None = None
    label: str | None = None  # from html_scrape, else from the tree (iframes)
    in_scrape: bool | None = None  # the id is in this step's css map / tree
    note: str | None = None  # why it was not found, or what could not be checked


@dataclass
class ActionView:
    """One action joined with everything around it: its element, its requests, the page before and after.

    This is the unit of debugkit's story: "the model chose element AAAG (``action.element_id``); it was
    the disabled button 'Next' (``element``); the click failed with InteractWithDisabledElement
    (``action.result``, ``outcome``); GET /api/flights had answered 502 just before (``network``)".

    - ``step`` / ``action``: where it ran and what the model chose (type, element id, reasoning,
      typed text, and Skyvern's result: success, exception type and message).
    - ``element``: the :class:`ElementJoin`: what the id named in *this step's* element tree (ids
      restart at ``AAAB`` after every navigation, so they are never looked up across steps), its node
      in the step's ``html_scrape``, and whether it was still there after the action. None when the
      action targets no element (``wait``, ``terminate``...).
    - ``outcome``: ``succeeded`` | ``failed`` | ``not executed`` | ``unknown`` (no step output) |
      ``skipped``; ``real_failure`` leaves out ``wait``, which always ends in a failure result.
    - ``ref``: ``step:<id>/action:<index>``, how evidence cites it.

    ``network`` holds the requests that started in the action's window ``[started_at, next action's
    started_at)``, plus those that started after its step ended and before the next action ran
    (what a navigation it caused went on to load: ``late_network`` counts them).
    ``page_before`` / ``page_after`` are the snapshots around it: the step's ``html_scrape`` or the
    previous action's ``html_action`` before; its own ``html_action`` (else the next step's scrape) after.
    """

    step: StepData
    action: Action
    element: ElementJoin | None  # None: the action targets no element
    window: tuple[datetime | None, datetime | None] = (None, None)
    network: list[NetworkEntry] = field(default_factory=list)
    console: list[ConsoleLine] = field(default_factory=list)
    post_html_index: int | None = None  # which html_action was taken after this action
    late_network: int = 0  # requests after the action's window that it is the last cause of
    page_before: HtmlSnapshot | None = field(default=None, repr=False)
    page_after: HtmlSnapshot | None = field(default=None, repr=False)
    page_after_source: str | None = None  # "html_action" | "next_scrape"

    @property
    def ref(self) -> str:
        return f"step:{self.step.step_id}/action:{self.action.index}"

    @property
    def outcome(self) -> str:
        """succeeded | failed | not executed | unknown | skipped."""
        action = self.action
        if action.executed is False:
            return "not executed"
        result = action.result
        if result is None:
            if action.status in {"completed", "failed", "skipped"}:
                return {"completed": "succeeded", "failed": "failed", "skipped": "skipped"}[action.status]
            return "unknown"
        if action.status == "skipped":
            return "skipped"
        return "succeeded" if result.success else "failed"

    @property
    def real_failure(self) -> bool:
        """A failure that means something: ``wait`` always ends in a failure result by design."""
        return self.outcome == "failed" and self.action.action_type != "wait"


@dataclass
class StepView:
    step: StepData
    actions: list[ActionView]
    window: tuple[datetime | None, datetime | None]
    network: list[NetworkEntry] = field(default_factory=list)  # everything in the step's window
    console: list[ConsoleLine] = field(default_factory=list)


@dataclass
class Correlation:
    """The join of a whole run: every step and action with what happened around it.

    Built by :func:`correlate` from a parsed :class:`~debugkit.model.RunData` (pure: no I/O). Time is
    the key: each step gets the window from its creation to its last update (plus a little grace for
    the requests its last action fired), each action the window from its start to the next action's
    start, and every HAR request and console line falls into the windows that hold its start.

    - ``steps``: a :class:`StepView` per step, in run order (retries are separate steps with the same
      order), each with its :class:`ActionView` list.
    - ``owner``: HAR entry index -> the action a request is attributed to (its window, or the last
      action before it when it started between actions: what a click's navigation went on to load);
      :meth:`action_of` / :meth:`step_of` look a request up.
    - :meth:`all_actions`: every action of the run, in order: where the rules start.

    Nothing here judges: the rules of :mod:`debugkit.analysis.rules` read this to reach a verdict.
    """

    run: RunData
    steps: list[StepView]
    owner: dict[int, ActionView]  # HAR entry index -> the action it is attributed to
    step_of_entry: dict[int, StepView]

    def action_of(self, entry: NetworkEntry) -> ActionView | None:
        return self.owner.get(entry.index)

    def step_of(self, entry: NetworkEntry) -> StepView | None:
        return self.step_of_entry.get(entry.index)

    def all_actions(self) -> list[ActionView]:
        return [view for step in self.steps for view in step.actions]


def correlate(run: RunData, grace: timedelta = DEFAULT_GRACE) -> Correlation:
    steps = [_step_view(run, position, grace) for position in range(len(run.steps))]
    owner: dict[int, ActionView] = {}
    step_of_entry: dict[int, StepView] = {}
    timed = [e for e in run.network if e.started_at is not None]
    times = [e.started_at for e in timed]
    console_timed = sorted((c for c in run.console if c.timestamp), key=lambda c: c.timestamp)
    console_times = [c.timestamp for c in console_timed]
    for view in steps:
        view.network = _in_window(timed, times, view.window)
        for entry in view.network:
            step_of_entry.setdefault(entry.index, view)
        view.console = _in_window(console_timed, console_times, view.window)
        for action_view in view.actions:
            action_view.network = _in_window(timed, times, action_view.window)
            for entry in action_view.network:
                owner.setdefault(entry.index, action_view)
            action_view.console = _in_window(console_timed, console_times, action_view.window)
    _attribute_between_actions(steps, timed, owner)
    _pages_around_actions(steps)
    return Correlation(run=run, steps=steps, owner=owner, step_of_entry=step_of_entry)


def _attribute_between_actions(steps: list[StepView], timed: list[NetworkEntry], owner: dict[int, ActionView]) -> None:
    """Requests that start after an action's window and before the next action ran belong to that action.

    Between two actions Skyvern only scrapes and asks the model, which load nothing: what the page
    fetches then (the document a click navigated to, its XHRs) follows from the last action. The
    run's first navigation, before any action, belongs to none.
    """
    ran = sorted(
        (v for s in steps for v in s.actions if v.action.started_at is not None and v.action.executed is not False),
        key=lambda v: v.action.started_at,
    )
    if not ran:
        return
    starts = [v.action.started_at for v in ran]
    for entry in timed:
        if entry.index in owner:
            continue
        position = bisect_left(starts, entry.started_at + timedelta(microseconds=1)) - 1
        if position < 0:
            continue
        view = ran[position]
        owner[entry.index] = view
        view.network.append(entry)
        view.late_network += 1


def _pages_around_actions(steps: list[StepView]) -> None:
    for position, view in enumerate(steps):
        step = view.step
        before = step.html_scrape
        executed = [v for v in view.actions if v.action.executed is not False]
        for action_view in executed:
            action_view.page_before = before
            if action_view.post_html_index is not None:
                action_view.page_after = step.html_actions[action_view.post_html_index]
                action_view.page_after_source = "html_action" if action_view.page_after is not None else None
            if action_view.page_after is not None:
                before = action_view.page_after
        if executed and executed[-1].page_after is None:
            following = steps[position + 1].step if position + 1 < len(steps) else None
            if following is not None and following.task_id == step.task_id and following.html_scrape is not None:
                executed[-1].page_after = following.html_scrape
                executed[-1].page_after_source = "next_scrape"


def _step_view(run: RunData, position: int, grace: timedelta) -> StepView:
    step = run.steps[position]
    following = run.steps[position + 1] if position + 1 < len(run.steps) else None
    end = step.modified_at
    if end is None and following is not None:
        end = following.created_at
    if end is None and following is None:
        end = run.finished_at
    if end is not None:
        end = end + grace
    start = step.created_at
    if start is None and step.times_estimated:  # the first estimated step: from the start of the log
        start = datetime.min.replace(tzinfo=UTC)
    window = (start, end)

    views = [ActionView(step=step, action=a, element=join_element(step, a)) for a in step.actions]
    _assign_post_html(step, views)
    started = [v for v in views if v.action.started_at is not None]
    started.sort(key=lambda v: v.action.started_at)
    for i, view in enumerate(started):
        nxt = started[i + 1].action.started_at if i + 1 < len(started) else end
        view.window = (view.action.started_at, nxt)
    for view in views:
        if view.element and view.element.html and view.post_html_index is not None:
            snapshot = step.html_actions[view.post_html_index]
            if snapshot is not None and view.action.element_id:
                view.element.html.present_after_action = snapshot.has(view.action.element_id)
    return StepView(step=step, actions=views, window=window)


def _in_window(items: list, times: list[datetime], window: tuple[datetime | None, datetime | None]) -> list:
    start, end = window
    if start is None or end is None:
        return []
    lo = bisect_left(times, start)
    hi = bisect_left(times, end)
    return items[lo:hi]


def join_element(step: StepData, action: Action) -> ElementJoin | None:
    """Resolve the action's element id in its own step: tree first, else the action's element data."""
    element_id = action.element_id
    if not element_id:
        return None
    in_scrape = None
    if step.scrape_ids is not None:
        in_scrape = element_id in step.scrape_ids
    if step.elements is not None:
        in_scrape = bool(in_scrape) or element_id in step.elements

    element: Element | None = None
    source: str | None = None
    if step.elements and element_id in step.elements:
        element, source = step.elements[element_id], "tree"
    elif action.element_data:
        element = element_from_dict(action.element_data)
        if element is not None:
            source = "action_data"
    if element is not None:
        element.page_url = element.page_url or action.page_url
        join = ElementJoin(found=True, source=source, element=element, in_scrape=in_scrape)
        join.html, join.note = _html_node(step, element)
        join.label = join.html.label if join.html and join.html.label else tree_label(step, element)
        return join
    if step.elements is None and step.scrape_ids is None:
        return ElementJoin(
            found=None,
            source=None,
            note=f"no element tree for step {step.label}, and the action carries no element data",
        )
    size = len(step.elements) if step.elements is not None else len(step.scrape_ids or ())
    if in_scrape:
        return ElementJoin(found=True, source=None, in_scrape=True, note="id is in the css map only")
    return ElementJoin(
        found=False,
        source=None,
        in_scrape=False,
        note=f"id {element_id} is not among the {size} elements of step {step.label}'s scrape",
    )


def tree_label(step: StepData, element: Element) -> str | None:
    """A label from the element tree itself (iframe documents are not in html_scrape)."""
    aria = element.attributes.get("aria-label")
    if isinstance(aria, str) and aria.strip():
        return aria.strip()
    html_id = element.attributes.get("id")
    if html_id and step.elements:
        for other in step.elements.values():
            if other.tag == "label" and other.attributes.get("for") == html_id and other.frame == element.frame:
                return other.text or None
    if element.tag in ("button", "a"):
        return element.text or None
    return None


def _html_node(step: StepData, element: Element) -> tuple[HtmlNode | None, str | None]:
    if element.frame_chain:
        return None, "inside an iframe: html_scrape holds the main frame only"
    if step.html_scrape is None:
        return None, "no html_scrape for this step"
    tag = step.html_scrape.node(element.element_id)
    if tag is None:
        return None, "not in html_scrape (shadow DOM, or removed before the snapshot)"
    return HtmlNode(outer_html=snippet(tag), label=step.html_scrape.label_for(tag)), None


def _assign_post_html(step: StepData, views: list[ActionView]) -> None:
    """Pair each executed action with the html_action taken after it.

    The action's ``screenshot_artifact_id`` names its post-action screenshot; html_action files
    are written in the same order. Without it, executed actions are paired in order when the
    counts agree.
    """
    if not step.html_actions:
        return
    shot_ids = [s.artifact_id for s in step.screenshots_action]
    executed = [v for v in views if v.action.executed]
    paired_by_id = False
    for view in executed:
        sid = view.action.screenshot_artifact_id
        if sid and sid in shot_ids:
            index = shot_ids.index(sid)
            if index < len(step.html_actions):
                view.post_html_index = index
                paired_by_id = True
    if not paired_by_id and len(executed) == len(step.html_actions):
        for index, view in enumerate(executed):
            view.post_html_index = index

"""Actions: what the model chose (``llm_response_parsed``) and what ran (``step.output``, action rows).

Three shapes are read:

- the extract-actions response: ``{"actions": [{"action_type": "CLICK", "id": "AAAB", ...}]}``
  with upper-case types and the element id in ``id`` (or ``element_id``);
- ``step.output.actions_and_results``: ``[[action_dict, [result, ...]], ...]`` where the last
  result decides;
- rows of ``GET /api/v1/tasks/{id}/actions``: executed actions without results.

Other prompt shapes (the completion check, the failure summary) are recognised and skipped.
"""

from __future__ import annotations

import json
import re
from typing import Any

from debugkit.model import Action, ActionResult
from debugkit.text import clip
from debugkit.timeutil import parse_time

# Upper-case names the model may emit that persist under another name.
_TYPE_ALIASES = {"press_enter": "keypress", "extract_information": "extract"}

# Actions that keep an element id after parsing (Skyvern clears it for the others).
WEB_ACTIONS = frozenset(
    {"click", "input_text", "paste_text", "upload_file", "download_file", "select_option", "checkbox", "hover"}
)
_KEEPS_ELEMENT = WEB_ACTIONS | {"scroll"}


def normalise_type(value: object) -> str:
    """``"INPUT_TEXT"`` -> ``"input_text"``; unknown strings are lower-cased; non-strings give "unknown"."""
    if not isinstance(value, str) or not value.strip():
        return "unknown"
    name = value.strip().lower()
    return _TYPE_ALIASES.get(name, name)


def element_id_of(value: object) -> str | None:
    """Element ids are case-sensitive strings; legacy numeric ids are turned into strings."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


def response_shape(doc: Any) -> str:
    """Name the prompt a parsed LLM response came from: extract_actions, goal_check, failure_summary, other."""
    if not isinstance(doc, dict):
        return "other"
    if isinstance(doc.get("actions"), list):
        return "extract_actions"
    if "failure_categories" in doc:
        return "failure_summary"
    if "user_goal_achieved" in doc or "page_info" in doc or "thoughts" in doc:
        return "goal_check"
    return "other"


def actions_from_llm_response(doc: Any, step_id: str) -> list[Action]:
    """The actions an extract-actions response chose, in order; [] for other shapes."""
    if response_shape(doc) != "extract_actions":
        return []
    actions = []
    for index, item in enumerate(doc["actions"]):
        if not isinstance(item, dict):
            continue
        action_type = normalise_type(item.get("action_type"))
        element_id = element_id_of(item.get("id", item.get("element_id")))
        if element_id is None:
            element_id = element_id_of(item.get("element_id"))
        if action_type not in _KEEPS_ELEMENT:
            element_id = None
        actions.append(
            Action(
                step_id=step_id,
                index=index,
                action_type=action_type,
                element_id=element_id,
                reasoning=_str(item.get("reasoning")),
                confidence=_float(item.get("confidence_float")),
                text=_str(item.get("text")),
                source="llm_response",
            )
        )
    return actions


_FENCE = re.compile(r"^\s*```(?:json)?\s*|\s*```\s*$", re.IGNORECASE)


def unusable_llm_answer(data: bytes) -> str | None:
    """The start of the model's answer when it is not the JSON the prompt asked for; else None.

    ``data`` is an ``llm_response`` artifact (the provider's chat-completion body). Skyvern repairs
    cut-off JSON as best it can, so the parsed actions of such an answer are a guess.
    """
    try:
        body = json.loads(data)
        content = body["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None  # not a chat completion we can read: nothing to judge
    if not isinstance(content, str):
        return None
    text = _FENCE.sub("", content).strip()
    try:
        json.loads(text)
    except ValueError:
        return clip(content, 120) or "(empty answer)"
    return None


def parse_result(raw: Any) -> ActionResult | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("success"), bool):
        return None
    stop = raw.get("stop_execution_on_failure")
    return ActionResult(
        success=raw["success"],
        exception_type=_str(raw.get("exception_type")),
        exception_message=_str(raw.get("exception_message")),
        stop_execution_on_failure=stop if isinstance(stop, bool) else None,
        interacted_with_parent=raw.get("interacted_with_parent") is True,
        interacted_with_sibling=raw.get("interacted_with_sibling") is True,
    )


def action_from_dict(raw: dict[str, Any], step_id: str, fallback_index: int, source: str) -> Action:
    """An action dict as persisted (step output or action row)."""
    order = raw.get("action_order")
    index = order if isinstance(order, int) and not isinstance(order, bool) else fallback_index
    data = raw.get("skyvern_element_data")
    page_url = data.get("page_url") if isinstance(data, dict) else None
    # A hallucinated id leaves only {"page_url": ...}: that describes no element.
    element_data = data if isinstance(data, dict) and ("id" in data or "tagName" in data) else None
    return Action(
        step_id=_str(raw.get("step_id")) or step_id,
        index=index,
        action_type=normalise_type(raw.get("action_type")),
        element_id=element_id_of(raw.get("element_id")),
        reasoning=_str(raw.get("reasoning")),
        confidence=_float(raw.get("confidence_float")),
        text=_str(raw.get("text")) or (_str(raw.get("response")) if raw.get("action_type") == "input_text" else None),
        status=_str(raw.get("status")),
        action_id=_str(raw.get("action_id")),
        started_at=parse_time(raw.get("started_at")),
        finished_at=parse_time(raw.get("finished_at")),
        element_data=element_data,
        page_url=_str(page_url),
        screenshot_artifact_id=_str(raw.get("screenshot_artifact_id")),
        x=_float(raw.get("x")),
        y=_float(raw.get("y")),
        source=source,
    )


def actions_from_step_output(step: dict[str, Any]) -> tuple[list[Action] | None, list[str]]:
    """Executed actions with their results from ``step.output``; None when the step has no output.

    Returns the actions and a list of one-line problems for pairs that could not be read.
    """
    output = step.get("output")
    if not isinstance(output, dict):
        return None, []
    pairs = output.get("actions_and_results")
    if pairs is None:
        return [], []
    step_id = str(step.get("step_id") or "")
    problems: list[str] = []
    if not isinstance(pairs, list):
        return [], [f"step {step_id}: actions_and_results is not a list"]
    actions: list[Action] = []
    for position, pair in enumerate(pairs):
        if not (isinstance(pair, list | tuple) and len(pair) == 2 and isinstance(pair[0], dict)):
            problems.append(f"step {step_id}: actions_and_results[{position}] is not an [action, results] pair")
            continue
        action = action_from_dict(pair[0], step_id, position, "step_output")
        raw_results = pair[1] if isinstance(pair[1], list) else []
        results = [r for r in (parse_result(x) for x in raw_results) if r is not None]
        if len(results) != len(raw_results):
            problems.append(f"step {step_id}: action {action.index} has unreadable results")
        action.results = results
        action.executed = True
        actions.append(action)
    return actions, problems


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    return float(value) if isinstance(value, int | float) else None

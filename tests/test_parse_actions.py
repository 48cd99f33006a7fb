"""Actions: the extract-actions response, step output pairs, and the merge in load."""

from __future__ import annotations

from debugkit.parsers.actions import (
    actions_from_llm_response,
    actions_from_step_output,
    element_id_of,
    normalise_type,
    response_shape,
)

EXTRACT = {
    "user_goal_stage": "Form partly filled",
    "user_goal_achieved": False,
    "action_plan": "Type, then press Continue",
    "actions": [
        {"reasoning": "Email is empty", "confidence_float": 0.93, "action_type": "INPUT_TEXT", "id": "AAAK",
         "text": "pat@example.org"},
        {"reasoning": "Proceed", "action_type": "CLICK", "element_id": "AAAR", "confidence_float": 0.9},
        {"reasoning": "Legacy", "action_type": "PRESS_ENTER", "id": "AAAR"},
        {"reasoning": "Old run", "action_type": "CLICK", "id": 12},
        {"reasoning": "Look", "action_type": "SCROLL", "id": "AAAB", "direction": "down"},
        {"reasoning": "Pull data", "action_type": "EXTRACT_INFORMATION", "id": "AAAB"},
        {"reasoning": "Give up", "action_type": "TERMINATE", "id": None},
        "not an action",
    ],
}


def test_extract_actions_shape_is_read_in_order_with_lower_case_types():
    actions = actions_from_llm_response(EXTRACT, "stp_1")
    assert [a.action_type for a in actions] == [
        "input_text", "click", "keypress", "click", "scroll", "extract", "terminate",
    ]
    assert [a.index for a in actions] == [0, 1, 2, 3, 4, 5, 6]
    assert actions[0].element_id == "AAAK" and actions[0].text == "pat@example.org"
    assert actions[0].confidence == 0.93
    assert actions[1].element_id == "AAAR"  # from element_id when id is absent
    assert actions[2].element_id is None  # keypress is not a web action: Skyvern clears the id
    assert actions[3].element_id == "12"  # numeric legacy ids become strings
    assert actions[4].element_id == "AAAB"  # scroll keeps its id
    assert actions[5].element_id is None
    assert all(a.source == "llm_response" and a.results is None for a in actions)


def test_other_prompt_shapes_are_recognised_and_skipped():
    goal_check = {"page_info": "Current page .", "thoughts": "Goal not yet met.", "user_goal_achieved": False}
    summary = {"page_info": "x", "reasoning": "y", "failure_categories": [{"category": "WEBSITE_ERROR"}]}
    assert response_shape(goal_check) == "goal_check"
    assert response_shape(summary) == "failure_summary"
    assert response_shape(["x"]) == "other"
    assert actions_from_llm_response(goal_check, "s") == []
    assert actions_from_llm_response(summary, "s") == []


def test_element_ids_are_case_sensitive_strings():
    assert element_id_of("xQ7z") == "xQ7z"
    assert element_id_of(0) == "0"
    assert element_id_of(12.0) == "12"
    assert element_id_of(True) is None
    assert element_id_of("  ") is None
    assert normalise_type(None) == "unknown"


def _pair(action: dict, results: list) -> list:
    return [action, results]


def test_step_output_pairs_last_result_decides():
    step = {
        "step_id": "stp_9",
        "output": {
            "actions_and_results": [
                _pair(
                    {"action_type": "click", "action_order": 0, "element_id": "AAAH", "status": "completed",
                     "started_at": "2026-05-01T09:01:49.101",
                     "skyvern_element_data": {"id": "AAAH", "tagName": "button"}},
                    [
                        {"success": False, "exception_type": "FailToClick", "exception_message": "covered"},
                        {"success": True},
                    ],
                ),
                _pair(
                    {"action_type": "click", "action_order": 1, "element_id": "xQ7z", "status": "failed",
                     "skyvern_element_data": {"page_url": "http://x/"}},
                    [{"success": False, "stop_execution_on_failure": False, "exception_type": "MissingElement"}],
                ),
                "garbage",
            ]
        },
    }
    actions, problems = actions_from_step_output(step)
    assert actions is not None and len(actions) == 2
    first, second = actions
    assert first.result.success is True  # a FailToClick followed by a fallback success: completed
    assert len(first.results) == 2
    assert first.started_at is not None and first.started_at.tzinfo is not None  # naive DB time -> UTC
    assert first.element_data["tagName"] == "button"
    assert second.result.exception_type == "MissingElement"
    assert second.result.stop_execution_on_failure is False
    assert second.element_data is None and second.page_url == "http://x/"  # page_url alone is no element
    assert len(problems) == 1 and "actions_and_results[2]" in problems[0]


def test_step_without_output_has_unknown_actions():
    actions, problems = actions_from_step_output({"step_id": "stp_1", "status": "canceled"})
    assert actions is None and problems == []

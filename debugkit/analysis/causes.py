"""The root-cause vocabulary of ``verdict.cause``, and the one table that maps each cause to a category.

A cause says *what broke* in words a user acts on (``site_server_error``: fix the site or retry later;
``element_missing``: the model chose an id that was not there). The category is the nearest of the
names Skyvern itself uses (``failure_category``), so the two can be read side by side. The ids are
stable: tools built on ``--json`` may switch on them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cause:
    id: str
    category: str | None  # Skyvern's name; None for a run that did not fail
    meaning: str


_TABLE: tuple[Cause, ...] = (
    Cause("none", None, "the run completed"),
    Cause("canceled_by_user", None, "someone canceled the run before it finished"),
    Cause("site_server_error", "WEBSITE_ERROR", "the site answered a request the flow needed with a 5xx error"),
    Cause(
        "site_rejected_request",
        "WEBSITE_ERROR",
        "the site refused a submit or XHR the flow needed with a non-auth 4xx (validation, declined payment, ...)",
    ),
    Cause(
        "auth_rejected", "AUTH_FAILURE", "the site refused the credentials or a permission (401/403, invalid password)"
    ),
    Cause("anti_bot_challenge", "ANTI_BOT_DETECTION", "the site showed a bot check (captcha, 'verify you are human')"),
    Cause(
        "navigation_failed", "NAVIGATION_FAILURE", "the page could not be reached (DNS, refused, TLS, net::ERR_*, 404)"
    ),
    Cause("page_load_timeout", "PAGE_LOAD_TIMEOUT", "the page did not finish loading in time"),
    Cause("proxy_failed", "PROXY_ERROR", "the browser could not connect through its proxy"),
    Cause("browser_crashed", "BROWSER_ERROR", "the browser or the page crashed or closed under the run"),
    Cause(
        "element_missing",
        "ELEMENT_NOT_FOUND",
        "the chosen element id was not on the page the model saw, or vanished before the action ran",
    ),
    Cause("element_disabled", "ELEMENT_STATE_TIMEOUT", "the chosen element was disabled"),
    Cause(
        "element_not_actionable",
        "ELEMENT_STATE_TIMEOUT",
        "the chosen element never became visible, stable or reachable in time",
    ),
    Cause(
        "click_intercepted", "ELEMENT_STATE_TIMEOUT", "another element (an overlay, a modal, a banner) took the click"
    ),
    Cause(
        "agent_loop",
        "MAX_STEPS_EXCEEDED",
        "the actions succeeded but nothing changed, and the agent repeated them to its limit",
    ),
    Cause("llm_provider_error", "LLM_ERROR", "the model provider failed (an error answer, a rate limit, no answer)"),
    Cause("llm_invalid_output", "LLM_ERROR", "the model answered with output Skyvern could not use"),
    Cause("data_extraction_failed", "DATA_EXTRACTION_FAILURE", "the requested data could not be extracted"),
    Cause("pending_request_timeout", "PAGE_LOAD_TIMEOUT", "a request the page waited for never answered"),
    Cause("unknown", "UNKNOWN", "nothing in the artifacts points to a cause"),
)

CAUSES: dict[str, Cause] = {cause.id: cause for cause in _TABLE}


def category_of(cause: str) -> str | None:
    """The Skyvern category a cause maps to (one table, documented in the README)."""
    return CAUSES[cause].category


def meaning_of(cause: str) -> str:
    return CAUSES[cause].meaning if cause in CAUSES else ""

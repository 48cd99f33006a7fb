"""Skyvern's failure categories, with the meaning Skyvern gives them, and a keyword fallback.

The meanings follow ``skyvern/forge/failure_classifier.py`` and the labels Skyvern's UI shows;
Skyvern 1.0.56 also stores ``WEBSITE_ERROR``, and newer servers add ``BROWSER_SESSION_EXPIRED``
and ``BUDGET_EXHAUSTED``. What Skyvern says of a run is shown beside debugkit's verdict as it is,
never checked against this list. The keyword fallback is our own reading of the same signals;
debugkit uses it only when no result, element, page or request explains the failure.
"""

from __future__ import annotations

import re

CATEGORIES: dict[str, str] = {
    "ANTI_BOT_DETECTION": "Blocked by bot protection: a CAPTCHA or bot check the run could not pass",
    "PROXY_ERROR": "The run could not connect through its proxy",
    "BROWSER_ERROR": "The browser crashed or the page closed unexpectedly",
    "NAVIGATION_FAILURE": "The page did not load or redirected somewhere unexpected (e.g. a 404)",
    "PAGE_LOAD_TIMEOUT": "The page (or a request it waited for) did not finish loading in time",
    "ELEMENT_STATE_TIMEOUT": "An element never became ready: not visible, enabled or clickable",
    "AUTH_FAILURE": "The run could not sign in: the login or a 2FA step was rejected",
    "LLM_ERROR": "The AI model returned an error or did not respond",
    "CREDENTIAL_ERROR": "The credentials for the run are missing or could not be used",
    "DATA_EXTRACTION_FAILURE": "The run could not read or extract the requested data",
    "ELEMENT_NOT_FOUND": "The run could not find the element it needed on the page",
    "WRONG_PAGE_STATE": "The site showed a different page or state than the run expected",
    "MAX_STEPS_EXCEEDED": "The run used its maximum number of steps before finishing",
    "LLM_REASONING_ERROR": "The AI misread the page or chose a wrong (e.g. hallucinated) action",
    "INFRASTRUCTURE_ERROR": "Something went wrong on Skyvern's side (worker, runner, capacity)",
    "PARAMETER_BINDING_ERROR": "An internal setup step for the run's parameters failed",
    "WEBSITE_ERROR": "The website itself failed or refused the request (an error answer, a rejected submit)",
    "BROWSER_SESSION_EXPIRED": "The browser session the run used had expired",
    "BUDGET_EXHAUSTED": "The run's budget (cost or credits) ran out",
    "UNKNOWN": "The cause could not be determined",
}

_ELEMENT_OPERATION = re.compile(r"\b(?:locator\.[a-z_]+\b|locator\(|wait_for_selector\b|waiting for selector\b)")
_INFRA_TIMEOUT = re.compile(r"\b(?:activity|heartbeat) timeout\b")

# (cause, confidence, keywords) checked in order against the lower-cased failure text.
_KEYWORDS: list[tuple[str, float, tuple[str, ...]]] = [
    ("proxy_failed", 0.9, ("no proxy available", "proxy unavailable", "failed to get outbound ip", "proxy error")),
    ("browser_crashed", 0.9, ("browser context closed", "page closed", "browser crash", "browser_disconnected")),
    ("navigation_failed", 0.9, ("failed to navigate", "404", "redirect loop", "err_name_not_resolved",
                                "err_connection_refused")),
    ("llm_provider_error", 0.9, ("rate limit", "llm provider", "llmprovidererror")),
    ("llm_invalid_output", 0.8, ("invalid llm response", "could not parse the llm", "invalidllmresponse")),
    ("agent_loop", 0.9, ("max steps", "maximum steps", "max number of", "step limit")),
    ("auth_rejected", 0.8, ("credential not found", "missing credential", "secret not found by key")),
    ("element_missing", 0.8, ("element not found", "no matching element", "not present on the page")),
    ("anti_bot_challenge", 0.7, ("captcha", "cloudflare", "turnstile", "bot detect", "human verification",
                                 "verify you are human", "blocked by")),
    ("auth_rejected", 0.7, ("login fail", "authentication fail", "auth fail", "mfa", "invalid credentials",
                            "password", "permission denied", "access denied", "forbidden", "not authorized")),
    ("site_server_error", 0.7, ("server error", "internal error", "bad gateway", "service unavailable",
                                "http 500", "error 500", "502", "503")),
    ("site_rejected_request", 0.6, ("declined", "validation error", "was rejected", "invalid input")),
    ("data_extraction_failed", 0.7, ("scraping", "extraction fail", "empty extraction", "nothing to extract",
                                     "no data")),
    ("element_disabled", 0.6, ("disabled",)),
    ("click_intercepted", 0.7, ("intercepts pointer events", "overlay", "modal")),
]


def classify_text(text: str | None) -> list[tuple[str, float, str]]:
    """Causes suggested by free failure text, most confident first: (cause, confidence, matched words)."""
    if not text:
        return []
    reason = text.lower()
    found: list[tuple[str, float, str]] = []
    if "timeout" in reason or "timed out" in reason:
        if _INFRA_TIMEOUT.search(reason):
            found.append(("unknown", 0.5, "activity timeout"))
        elif _ELEMENT_OPERATION.search(reason):
            found.append(("element_not_actionable", 0.85, "locator timeout"))
        else:
            found.append(("page_load_timeout", 0.8, "timeout"))
    for cause, confidence, keywords in _KEYWORDS:
        hit = next((kw for kw in keywords if kw in reason), None)
        if hit and all(c != cause for c, _, _ in found):
            found.append((cause, confidence, hit))
    found.sort(key=lambda item: item[1], reverse=True)
    return found

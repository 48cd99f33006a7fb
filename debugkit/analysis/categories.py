"""Skyvern's 17 failure categories, with the meaning Skyvern gives them, and a keyword fallback.

The meanings follow ``skyvern/forge/failure_classifier.py`` and the labels Skyvern's UI shows.
The keyword fallback is our own reading of the same signals; debugkit uses it only when no
result, element or request explains the failure.
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
    "UNKNOWN": "The cause could not be determined",
}

_ELEMENT_OPERATION = re.compile(r"\b(?:locator\.[a-z_]+\b|locator\(|wait_for_selector\b|waiting for selector\b)")
_INFRA_TIMEOUT = re.compile(r"\b(?:activity|heartbeat) timeout\b")

# (category, confidence, keywords) checked in order against the lower-cased failure text.
_KEYWORDS: list[tuple[str, float, tuple[str, ...]]] = [
    ("PARAMETER_BINDING_ERROR", 0.95, ("should have already been set through workflow run",)),
    ("PROXY_ERROR", 0.9, ("no proxy available", "proxy unavailable", "failed to get outbound ip")),
    ("BROWSER_ERROR", 0.9, ("browser context closed", "page closed", "browser crash", "browser_disconnected")),
    ("NAVIGATION_FAILURE", 0.9, ("failed to navigate", "404", "redirect loop", "err_name_not_resolved")),
    ("LLM_ERROR", 0.9, ("rate limit", "llm provider", "llmprovidererror")),
    ("MAX_STEPS_EXCEEDED", 0.9, ("max steps", "maximum steps", "max number of", "step limit")),
    ("CREDENTIAL_ERROR", 0.8, ("credential not found", "missing credential", "secret not found by key")),
    ("ELEMENT_NOT_FOUND", 0.8, ("element not found", "no matching element", "not present on the page")),
    ("ANTI_BOT_DETECTION", 0.7, ("captcha", "cloudflare", "turnstile", "bot detect", "human verification")),
    ("AUTH_FAILURE", 0.7, ("login fail", "authentication fail", "auth fail", "mfa", "invalid credentials",
                           "password")),
    ("DATA_EXTRACTION_FAILURE", 0.7, ("scraping", "extraction fail", "empty extraction")),
    ("WRONG_PAGE_STATE", 0.6, ("unexpected page", "wrong page", "blank page")),
    ("LLM_REASONING_ERROR", 0.6, ("wrong action", "invalid action", "hallucin")),
]


def classify_text(text: str | None) -> list[tuple[str, float, str]]:
    """Categories suggested by free failure text, most confident first: (category, confidence, matched)."""
    if not text:
        return []
    reason = text.lower()
    found: list[tuple[str, float, str]] = []
    if "timeout" in reason or "timed out" in reason:
        if _INFRA_TIMEOUT.search(reason):
            found.append(("INFRASTRUCTURE_ERROR", 0.9, "activity timeout"))
        elif _ELEMENT_OPERATION.search(reason):
            found.append(("ELEMENT_STATE_TIMEOUT", 0.85, "locator timeout"))
        else:
            found.append(("PAGE_LOAD_TIMEOUT", 0.8, "timeout"))
    for category, confidence, keywords in _KEYWORDS:
        hit = next((kw for kw in keywords if kw in reason), None)
        if hit and all(c != category for c, _, _ in found):
            found.append((category, confidence, hit))
    found.sort(key=lambda item: item[1], reverse=True)
    return found

"""Masking of values typed into secret fields (passwords, one-time codes, cards, secrets).

Triage output never shows such a value; it shows the field and the value's length instead.
(The support-bundle redaction builds on this module.)
"""

from __future__ import annotations

import re

from debugkit.model import Element

_SECRET_NAME = re.compile(
    r"pass(word|wd|code)?|pwd|secret|token|otp|totp|2fa|mfa|one.?time|verification|pin\b|cvv|cvc|"
    r"card|cc-?(number|num|csc|exp)|security.?code|api.?key",
    re.IGNORECASE,
)
_SECRET_AUTOCOMPLETE = re.compile(r"current-password|new-password|one-time-code|cc-", re.IGNORECASE)


def is_secret_field(element: Element | None, label: str | None = None, field_hint: str | None = None) -> bool:
    """Whether a value typed into this element must be masked: by type, name, id, label or hint."""
    if element is not None:
        attrs = element.attributes
        if str(attrs.get("type", "")).lower() == "password":
            return True
        if _SECRET_AUTOCOMPLETE.search(str(attrs.get("autocomplete", ""))):
            return True
        for key in ("name", "id", "placeholder", "aria-label"):
            value = attrs.get(key)
            if isinstance(value, str) and _SECRET_NAME.search(value):
                return True
    return any(isinstance(text, str) and _SECRET_NAME.search(text) for text in (label, field_hint))


def mask(value: str) -> str:
    """``[masked: 15 chars]``: the length stays visible, the value does not."""
    return f"[masked: {len(value)} chars]"

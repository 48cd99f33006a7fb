"""What is secret, and how a secret is shown: the one place every output asks.

The terminal, ``--json``, the HTML report, the support bundle and the screenshot masks all decide
with these functions, so they cannot disagree:

- :data:`TYPING_ACTIONS`: the actions that type a value into an element;
- :func:`field_kind` / :func:`is_secret_field`: whether an element is a password, one-time-code,
  card or other secret field (by its type, name, id, placeholder, aria-label, autocomplete and label);
- :func:`typed_kind` / :func:`step_typed_kind`: the kind of secret an action typed, or None;
- :func:`is_placeholder`: a value the redaction stage already replaced (``[REDACTED:1a2b3c4d]``),
  or a masked one (``[masked: 16 chars]``), never to be masked or searched for again;
- :func:`shown_typed` / :func:`mask`: how a typed value is shown.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from debugkit.model import Action, Element, StepData

# Actions that type a value into an element (Skyvern's, plus the usual names of other drivers).
TYPING_ACTIONS = frozenset({"input_text", "paste_text", "verification_code", "send_keys", "fill", "type"})
SECRET_KINDS = ("password", "otp", "card", "secret")

_SECRET_NAME = re.compile(
    r"pass(word|wd|code)?|pwd|secret|token|otp|totp|2fa|mfa|one.?time|verification|pin\b|cvv|cvc|"
    r"card|cc-?(number|num|csc|exp)|security.?code|api.?key",
    re.IGNORECASE,
)
_SECRET_AUTOCOMPLETE = re.compile(r"current-password|new-password|one-time-code|cc-", re.IGNORECASE)
_HINT_ATTRIBUTES = ("type", "name", "id", "autocomplete", "placeholder", "aria-label")
_OTP_WORDS = ("otp", "one-time", "one time", "verification", "2fa", "mfa", "totp")
_MASK_CHARACTERS = " \t*•●·∙"
_CARD_WORDS = ("card", "cc-", "cvc", "cvv", "security code", "security-code")
# A value the redaction stage replaced, a masked one, or a pattern-redacted one.
PLACEHOLDER = re.compile(r"\[(?:REDACTED(?::[0-9a-f]{8})?|redacted|masked: \d+ chars)\]")
_ONLY_PLACEHOLDER = re.compile(rf"^\s*{PLACEHOLDER.pattern}(?:\s*\(\d+ chars\))?\s*$")


def is_secret_field(element: Element | None, label: str | None = None, field_hint: str | None = None) -> bool:
    """Whether a value typed into this element is secret: by type, name, id, autocomplete, label or hint."""
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


def field_kind(element: Element | None, label: str | None = None) -> str | None:
    """``password`` | ``otp`` | ``card`` | ``secret`` for a secret field, else None."""
    if not is_secret_field(element, label):
        return None
    values = [label] + ([element.attributes.get(k) for k in _HINT_ATTRIBUTES] if element is not None else [])
    hints = " ".join(str(v) for v in values if v).lower()
    if "password" in hints or "passwd" in hints:
        return "password"
    if any(word in hints for word in _OTP_WORDS):
        return "otp"
    if any(word in hints for word in _CARD_WORDS):
        return "card"
    return "secret"


def typed_kind(action_type: str, element: Element | None, label: str | None = None) -> str | None:
    """The kind of secret an action of ``action_type`` typed into ``element``, or None."""
    if action_type not in TYPING_ACTIONS:
        return None
    if action_type == "verification_code":
        return "otp"
    return field_kind(element, label)


def step_typed_kind(step: StepData, action: Action) -> str | None:
    """:func:`typed_kind` for an action of ``step``, its element resolved as every report resolves it."""
    from debugkit.analysis.correlate import join_element

    if action.action_type not in TYPING_ACTIONS:
        return None
    join = join_element(step, action)
    return typed_kind(action.action_type, join.element if join else None, join.label if join else None)


def element_label(step: StepData, element: Element) -> str | None:
    """The element's label as the reports show it: from ``html_scrape``, else from the tree."""
    from debugkit.analysis.correlate import tree_label

    if step.html_scrape is not None and not element.frame_chain:
        node = step.html_scrape.node(element.element_id)
        if node is not None:
            label = step.html_scrape.label_for(node)
            if label:
                return label
    return tree_label(step, element)


def held_value(element: Element) -> str | None:
    """The value an element holds in the scrape (its ``value`` attribute), unless empty or bullets."""
    value = element.attributes.get("value")
    return None if not isinstance(value, str) or bullets_only(value) else value


def field_value(element: Element, label: str | None = None) -> str | None:
    """The value a secret field holds in the scrape, if any."""
    return held_value(element) if field_kind(element, label) is not None else None


def bullets_only(value: str) -> bool:
    """Empty, or nothing but the bullets a page shows for a password: no secret in it."""
    return not value.strip(_MASK_CHARACTERS)


def is_placeholder(value: object) -> bool:
    """True for a value the redaction already replaced or masked (it is shown as it is)."""
    return isinstance(value, str) and bool(_ONLY_PLACEHOLDER.match(value))


def mask(value: str) -> str:
    """``[masked: 15 chars]``: the length stays visible, the value does not."""
    return f"[masked: {len(value)} chars]"


def shown_typed(text: str, *, secret: bool, show_secrets: bool = False, length: int | None = None) -> str:
    """How a typed value is shown: a redaction placeholder with the value's length, a mask, or the text."""
    if is_placeholder(text):
        return f"{text} ({length} chars)" if length and "chars)" not in text else text
    if secret and not show_secrets:
        return mask(text)
    return text

"""Page text made safe to show in the HTML report, and the ids its links point to.

Everything the report shows that came from a page, a model or the network (element text,
attributes, HTML snippets, URLs, reasoning, console lines, failure text) passes a
:class:`Sanitizer` first:

* control characters, line/paragraph separators, the BOM and bidirectional overrides (which can make
  text or a URL read differently from what it is) are shown as ``\\uXXXX`` escapes;
* with ``redact=True`` the values typed into secret fields (and their URL-encoded forms) are masked
  wherever they appear, then :func:`debugkit.redaction.patterns.redact_url` /
  :func:`debugkit.redaction.patterns.redact_text` remove signed query strings, tokens, cookie and
  authorization values;
* the length is bounded.

The result is still plain text: the template escapes it (autoescape), and the page script only ever
sets ``textContent``. Ids are made by :func:`anchor_id` from ``[A-Za-z0-9_-]`` only.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote, quote_plus

from debugkit.analysis.triage import Triage
from debugkit.redaction.patterns import redact_text, redact_url
from debugkit.redaction.policy import is_placeholder, is_secret_field, mask, typed_kind

__all__ = ["TEXT_LIMIT", "Sanitizer", "anchor_id", "ref_anchor"]

TEXT_LIMIT = 2000  # characters of any one page-derived text shown in the page
MIN_SCRUB_LENGTH = 4  # shorter secret values are masked where they are typed, not searched for in text
# Control characters, line/paragraph separators, BOM and bidirectional overrides (which can make page
# text or a URL read differently from what it is) are shown as \uXXXX escapes.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_-]")
_REF = re.compile(r"^step:(?P<step>[^/]+)(?:/action:(?P<action>-?\d+))?$")


def visible_controls(text: str) -> str:
    """``text`` with every character of :data:`CONTROL` written as a ``\\uXXXX`` escape."""
    return CONTROL.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


class Sanitizer:
    """Untrusted text and URLs for one report: controls made visible, secrets masked, length bounded."""

    def __init__(self, secrets: list[str], *, redact: bool) -> None:
        self.redact = redact
        self.secrets = secrets  # longest first

    @classmethod
    def for_triage(cls, t: Triage, *, redact: bool) -> Sanitizer:
        return cls(secret_values(t) if redact else [], redact=redact)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, mask(secret))
        return text

    def text(self, value: object, limit: int = TEXT_LIMIT) -> str | None:
        """Untrusted text: control characters made visible, secrets masked, length bounded."""
        if value is None:
            return None
        text = visible_controls(value if isinstance(value, str) else str(value))
        if self.redact:
            text = redact_text(self.scrub(text))
        return text if len(text) <= limit else text[: limit - 1] + "…"

    def url(self, url: str | None, limit: int = TEXT_LIMIT) -> str | None:
        """A URL shown as text: as :meth:`text`, with :func:`~debugkit.redaction.patterns.redact_url`."""
        if url is None:
            return None
        text = visible_controls(url)
        if self.redact:
            text = redact_url(self.scrub(text))
        return text if len(text) <= limit else text[: limit - 1] + "…"


def secret_values(t: Triage) -> list[str]:
    """Values typed into secret fields anywhere in the run, longest first (and URL-encoded)."""
    values: set[str] = set()
    for view in t.corr.all_actions():
        element = view.element.element if view.element else None
        label = view.element.label if view.element else None
        text = view.action.text
        if text and typed_kind(view.action.action_type, element, label):
            values.add(text)
        if element is not None and is_secret_field(element, label):
            value = element.attributes.get("value")
            if isinstance(value, str) and value:
                values.add(value)
    variants: set[str] = set()
    for value in values:
        if len(value) < MIN_SCRUB_LENGTH or is_placeholder(value):
            continue
        variants.update({value, quote(value, safe=""), quote_plus(value), value.strip()})
    return sorted((v for v in variants if len(v) >= MIN_SCRUB_LENGTH), key=len, reverse=True)


def anchor_id(kind: str, *parts: object) -> str:
    """A safe, stable element id: ``kind-part-part`` with anything but ``[A-Za-z0-9_-]`` replaced,
    plus a short hash when something was replaced (so two different ids never collide)."""
    raw = "-".join(str(p) for p in parts)
    safe = _UNSAFE_ID.sub("_", raw)[:80]
    if safe != raw:
        safe += "-" + hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{kind}-{safe}"


def ref_anchor(ref: str) -> str | None:
    """The element id an evidence ref points to (``step:<id>/action:<i>``, ``step:<id>``,
    ``har:<index>``, ``console:<line>``, ``run.failure_reason``), or None."""
    if ref == "run.failure_reason":
        return "failure-reason"
    kind, _, rest = ref.partition(":")
    if kind in ("har", "console") and rest.lstrip("-").isdigit():
        return f"{kind}-{int(rest)}"
    match = _REF.match(ref)
    if match:
        if match.group("action") is not None:
            return anchor_id("a", match.group("step"), int(match.group("action")))
        return anchor_id("s", match.group("step"))
    return None

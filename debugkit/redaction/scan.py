"""Secrets known by their shape alone, found and replaced without knowing the values.

Each :class:`Rule` finds one shape and says which part is the secret:

- ``card``: a card number (13 to 19 digits, optionally grouped by spaces or dashes, a known
  issuer prefix, a valid Luhn check digit);
- ``jwt``: ``eyJ...``-style JSON web tokens;
- ``header``: ``Bearer``/``Basic``/``Token`` credentials; ``Cookie:``, ``Authorization:`` and other
  credential header lines; HAR-style ``{"name": "Cookie", "value": "..."}`` objects written as text;
- ``form``: ``password=...`` style pairs and ``"password": "..."`` JSON pairs with a secret name.

:func:`scrub` replaces every secret part (the :class:`~debugkit.redaction.redactor.Redactor` runs it on
every string); :func:`find` lists what is left (the bundle's final check runs it on every member). The
two use the same rules, so whatever :func:`find` reports, :func:`scrub` would have replaced. Values
that already are placeholders (:func:`debugkit.redaction.policy.is_placeholder`) are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from debugkit.redaction.collect import secret_name
from debugkit.redaction.policy import PLACEHOLDER, bullets_only

MIN_VALUE = 4  # shorter values are not treated as secrets (they would be found all over ordinary text)
# Keys that hold a secret-looking fragment but never a secret.
NOT_SECRET_KEYS = frozenset({"keepallattr", "autocomplete", "author", "authored", "monkey", "keyboard", "keys"})
_DATA_URI = re.compile(r"data:[a-z]+/[a-z0-9.+-]+;base64,[A-Za-z0-9+/=]+", re.IGNORECASE)
_HEADER_NAMES = (
    r"cookie|set-cookie|authorization|proxy-authorization|x-api-key|x-auth-token|x-csrf-token|x-xsrf-token"
)
_JSON_STRING = r'"((?:[^"\\\n]|\\.){1,2000})"'
_COOKIE_NAME = re.compile(r"[\w.-]+=(?=\[)")
# ``name=value`` pairs (a form body, a query, a log line): the value is a secret when the name is.
FORM_PAIR = re.compile(r"(?<![\w.-])([A-Za-z][\w.\[\]-]{0,60})=([^\s&;,\"'<>]+)")
CARD_DIGITS = re.compile(r"\d(?:[ -]?\d){12}")  # what every card number holds


@dataclass(frozen=True)
class Rule:
    kind: str  # card | jwt | header | form
    pattern: re.Pattern[str]
    group: int  # the secret part
    name_group: int | None = None  # a name that must be secret for the rule to apply
    check: Callable[[str], bool] | None = None  # a test of the secret part (the Luhn check)
    # Lower-case text of which one must be in the lower-cased text for the pattern to match at all: an
    # ASCII text without any is not searched (most strings, e.g. a long run's URLs, have none). Empty:
    # always searched. Only for ASCII text: case-insensitive patterns match non-ASCII look-alikes
    # (the Kelvin sign for k) that lower-casing does not bring back.
    hints: tuple[str, ...] = ()


@dataclass(frozen=True)
class Found:
    kind: str
    start: int
    end: int


def luhn_card(text: str) -> bool:
    """A card number: 13-19 digits with a known issuer prefix and a valid Luhn check digit."""
    digits = re.sub(r"[ -]", "", text)
    if not 13 <= len(digits) <= 19 or not digits.isdigit():
        return False
    if digits[0] not in "3456" and not 22 <= int(digits[:2]) <= 27:
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


@lru_cache(maxsize=8192)  # names repeat
def _json_key(name: str) -> bool:
    return secret_name(name) and name.lower() not in NOT_SECRET_KEYS


RULES: tuple[Rule, ...] = (
    Rule("jwt", re.compile(r"\b(eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,})"), 1, hints=("eyj",)),
    Rule(
        "header",
        re.compile(r"\b(?:bearer|basic|token)\s+((?=[A-Za-z0-9._~+/=-]*\d)[A-Za-z0-9._~+/=-]{12,})", re.I),
        1,
        hints=("bearer", "basic", "token"),
    ),
    Rule(
        "header",
        re.compile(rf"(?<![\w-])(?:{_HEADER_NAMES})[ \t]*:[ \t]*([^\r\n\"]+)", re.I),
        1,
        hints=("cookie", "authorization", "x-api-key", "x-auth-token", "x-csrf-token", "x-xsrf-token"),
    ),
    Rule(
        "header",
        re.compile(rf'"name"\s*:\s*{_JSON_STRING}\s*,\s*"value"\s*:\s*{_JSON_STRING}'),
        2,
        1,
        hints=('"name"',),
    ),
    Rule(
        "header",
        re.compile(rf'"value"\s*:\s*{_JSON_STRING}\s*,\s*"name"\s*:\s*{_JSON_STRING}'),
        1,
        2,
        hints=('"value"',),
    ),
    Rule("form", re.compile(rf'"([A-Za-z0-9_.:-]{{1,60}})"\s*:\s*{_JSON_STRING}'), 2, 1, hints=('"',)),
    Rule("form", FORM_PAIR, 2, 1, hints=("=",)),
    Rule("card", re.compile(r"(?<![\w.])(\d(?:[ -]?\d){12,18})(?![\w]|\.\d)"), 1, check=luhn_card),
)
# Any hint of the rules above but the form pair's (its names are looked at instead) and the card's (it has none):
# an ASCII text, lower-cased, in which this finds nothing is left alone by every other rule.
HINTS = re.compile(
    "|".join(sorted({re.escape(hint) for rule in RULES if rule.pattern is not FORM_PAIR for hint in rule.hints}))
)


def _hinted(lowered: str | None, rule: Rule) -> bool:
    """Could ``rule`` match a text whose lower-cased form is ``lowered`` (None: not ASCII, so maybe)?"""
    if lowered is None or not rule.hints:
        return True
    for hint in rule.hints:  # noqa: SIM110 - a loop, not any(): this runs for every rule on every string
        if hint in lowered:
            return True
    return False


def lowered_ascii(text: str) -> str | None:
    """The text lower-cased, when it is ASCII (the rules' hints are only checked then); else None."""
    return text.lower() if text.isascii() else None


def _applies(rule: Rule, match: re.Match[str]) -> bool:
    if rule.name_group is not None:  # first: most pairs have an ordinary name, and names repeat (cached)
        name = match.group(rule.name_group)
        if not (_json_key(name) if rule.kind == "form" else secret_name(name)):
            return False
    value = match.group(rule.group)
    if len(value.strip()) < MIN_VALUE or _is_redacted(value) or bullets_only(value):
        return False
    return rule.check is None or rule.check(value)


def _is_redacted(value: str) -> bool:
    """Nothing but placeholders is left in the value (cookie names and separators aside; Markdown may
    escape a placeholder's brackets)."""
    value = value.replace("\\[", "[").replace("\\]", "]")
    rest = PLACEHOLDER.sub("", _COOKIE_NAME.sub("", value))
    return not rest.strip(" \t;,\"'()")


def find(text: str, rules: Iterable[Rule] = RULES) -> list[Found]:
    """Every secret-shaped value in ``text`` that is not a placeholder yet (``data:`` URIs are skipped)."""
    text = _DATA_URI.sub(lambda m: "d" * len(m.group(0)), text)
    lowered = lowered_ascii(text)
    found = []
    for rule in rules:
        if not _hinted(lowered, rule):
            continue
        for match in rule.pattern.finditer(text):
            if _applies(rule, match):
                found.append(Found(rule.kind, match.start(rule.group), match.end(rule.group)))
    return found


def scrub(text: str, replace: Callable[[str, str], str], kinds: Iterable[str] | None = None) -> str:
    """``text`` with every secret part replaced by ``replace(value, kind)``; only ``kinds`` when given."""
    if not text:
        return text
    wanted = set(kinds) if kinds is not None else None
    lowered = lowered_ascii(text)
    for rule in RULES:
        if (wanted is not None and rule.kind not in wanted) or not _hinted(lowered, rule):
            continue

        def sub(match: re.Match[str], rule: Rule = rule) -> str:
            if not _applies(rule, match):
                return match.group(0)
            start, end = (i - match.start(0) for i in match.span(rule.group))
            value = match.group(rule.group)
            stripped = value.rstrip()
            whole = match.group(0)
            return whole[:start] + replace(stripped, rule.kind) + value[len(stripped) :] + whole[end:]

        changed = rule.pattern.sub(sub, text)
        if changed != text:
            text, lowered = changed, lowered_ascii(changed)
    return text


def scrub_lines(text: str, replace: Callable[[str, str], str]) -> str:
    """:func:`scrub` one line at a time (for long text members: bounded work per match)."""
    return "".join(scrub(line, replace) for line in text.splitlines(keepends=True))

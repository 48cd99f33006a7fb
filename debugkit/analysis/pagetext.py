"""The page's own words as evidence: the error lines that appeared after an action, and bot checks.

Pure functions over :class:`debugkit.parsers.pagetext.PageText`; the lines found are shown by the
reporters as text, never as markup.
"""

from __future__ import annotations

import re

from debugkit.parsers.pagetext import PageText
from debugkit.text import clip

ERROR_WORDS = re.compile(
    r"\b(?:error|errors|failed|failure|fail|couldn'?t|could not|can'?t|cannot|unable|invalid|incorrect|wrong|"
    r"declined|denied|rejected|refused|forbidden|unauthori[sz]ed|not allowed|not authori[sz]ed|expired|"
    r"try again|went wrong|problem|unavailable|not available|timed? ?out|too many|blocked|required|"
    r"bad gateway|internal server|service unavailable|not found|insufficient|permission|access denied|"
    r"already (?:registered|exists|in use|taken|used)|not valid|no longer available|sold out)\b",
    re.IGNORECASE,
)
SERVER_WORDS = re.compile(
    r"\b(?:5\d\d|internal server error|server error|bad gateway|service unavailable|gateway time-?out|"
    r"couldn'?t load|could not load|failed to load|something went wrong|temporarily unavailable)\b",
    re.IGNORECASE,
)
AUTH_WORDS = re.compile(
    r"\b(?:invalid (?:username|user name|email|login|password|credentials)|incorrect (?:username|password|"
    r"email|credentials)|wrong password|login failed|sign[- ]?in failed|authentication failed|not authori[sz]ed|"
    r"unauthori[sz]ed|access denied|permission denied|forbidden|you do not have (?:permission|access)|"
    r"session (?:has )?expired|invalid credentials)\b",
    re.IGNORECASE,
)
CHALLENGE_WORDS = re.compile(
    r"(?:verify (?:that )?you are (?:a )?human|are you a robot|i'?m not a robot|checking your browser|"
    r"just a moment\.\.\.|attention required|unusual traffic|press (?:&|and) hold|bot detection|"
    r"human verification|please verify you are|ddos protection|access to this page has been denied|"
    r"complete the security check)",
    re.IGNORECASE,
)
# Words that many ordinary pages carry too ("protected by reCAPTCHA"): a sign only beside a 403/429.
WEAK_CHALLENGE_WORDS = re.compile(r"captcha|security check|are you human", re.IGNORECASE)
CHALLENGE_FRAMES = re.compile(
    r"captcha|challenges\.cloudflare\.com|turnstile|hcaptcha\.com|recaptcha|arkoselabs|funcaptcha|"
    r"geo\.captcha-delivery|px-captcha|perimeterx|datadome|/challenge",
    re.IGNORECASE,
)


def new_lines(before: PageText | None, after: PageText) -> list[str]:
    """Lines of ``after`` that ``before`` did not show (all of them when there is no before)."""
    if before is None:
        return list(after.lines)
    old = set(before.lines)
    return [line for line in after.lines if line not in old]


def error_lines(lines: list[str] | tuple[str, ...]) -> list[str]:
    """The lines that read as an error message (short ones: a paragraph of prose is not a message)."""
    return [line for line in lines if len(line) <= 160 and ERROR_WORDS.search(line)]


def challenge_markers(text: PageText, *, strong_only: bool = True) -> list[str]:
    """Signs of a bot check on the page: its words, or a captcha/challenge frame.

    ``strong_only``: only words no ordinary page uses; the weak ones ("captcha") count beside a
    403/429 answer.
    """
    found: list[str] = []
    lines = [line for line in (text.title, *text.lines) if line]
    said = [line for line in lines if CHALLENGE_WORDS.search(line)]
    if not said and not strong_only:
        said = [line for line in lines if WEAK_CHALLENGE_WORDS.search(line)]
    for line in said[:2]:
        found.append(f"page text: '{clip(line, 120)}'")
    for src in text.frame_sources:
        if CHALLENGE_FRAMES.search(src) and "size=invisible" not in src:
            found.append(f"challenge frame: {clip(src, 120)}")
            break
    return found


def signature(text: PageText) -> int:
    """A hash of what the page shows, to tell whether an action changed it."""
    return hash((text.title, text.lines))

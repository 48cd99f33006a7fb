"""Visible text of an HTML snapshot: what a reader of the page sees, as lines.

The HTML is untrusted: it is read in one linear pass over its tags (no DOM is built, no regular
expression that can backtrack on crafted input), which also keeps long runs fast.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

MAX_LINE = 200
MAX_INPUT = 4_000_000  # characters read of one page; the rest is not looked at

_NAME = re.compile(r"(/?)([A-Za-z][A-Za-z0-9-]*)")
_SKIPPED = frozenset({"script", "style", "noscript", "template", "svg", "title"})
_BLOCK = frozenset(
    {
        "p", "div", "li", "ul", "ol", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "br", "section",
        "article", "header", "footer", "main", "form", "label", "button", "option", "dt", "dd", "table",
        "fieldset", "legend", "nav", "aside", "dialog", "body", "html",
    }
)
_VOID = frozenset({"br", "img", "input", "meta", "link", "hr", "area", "base", "col", "source", "wbr", "embed"})
_HIDDEN_ATTR = re.compile(
    r"(?:^|\s)hidden(?:\s|=|$)|aria-hidden\s*=\s*[\"']?true|display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE
)
_SRC = re.compile(r"\ssrc\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.IGNORECASE)
_SPACE = re.compile(r"[ \t\r\f\v\u00a0]+")


@dataclass(frozen=True)
class PageText:
    """What a reader of the page sees: its title, its lines of visible text, and its frames' sources."""

    title: str
    lines: tuple[str, ...]
    frame_sources: tuple[str, ...]

    @property
    def joined(self) -> str:
        return "\n".join(self.lines)


def page_text(markup: str) -> PageText:
    """Visible text lines of an HTML document (scripts, styles, comments and hidden elements dropped)."""
    markup = markup[:MAX_INPUT]
    parts: list[str] = []
    title: list[str] = []
    frames: list[str] = []
    skip_until: str | None = None  # inside <script> & co: text until this closing tag is not shown
    hidden: list[str] = []  # the open hidden elements (their tag names)
    for text, tag in _tokens(markup):
        if skip_until == "title":
            title.append(text)
        elif skip_until is None and not hidden:
            parts.append(text)
        if tag is None:
            continue
        found = _NAME.match(tag)
        if found is None:  # a comment, a doctype, a stray "<"
            continue
        closing, name, attrs = found.group(1), found.group(2).lower(), tag[found.end() :]
        if skip_until is not None:
            if closing and name == skip_until:
                skip_until = None
            continue
        if closing:
            if hidden and hidden[-1] == name:
                hidden.pop()
        elif name in _SKIPPED and not attrs.rstrip().endswith("/"):
            skip_until = name
        elif name == "iframe":
            src = _SRC.search(attrs)
            if src:
                frames.append(html.unescape(next(g for g in src.groups() if g is not None)))
        elif name not in _VOID and _HIDDEN_ATTR.search(attrs) and not attrs.rstrip().endswith("/"):
            hidden.append(name)
        if name in _BLOCK and skip_until is None and not hidden:
            parts.append("\n")
    lines: list[str] = []
    seen: set[str] = set()
    for raw in html.unescape("".join(parts)).split("\n"):
        line = _clean(raw)
        if line and line not in seen:
            seen.add(line)
            lines.append(line[:MAX_LINE])
    return PageText(title=_clean(html.unescape("".join(title))), lines=tuple(lines), frame_sources=tuple(frames))


def _tokens(markup: str):
    """``(text before, tag body or None)`` pairs over the document, in one pass (each ``find`` moves on)."""
    position = 0
    next_close = -1
    while True:
        opening = markup.find("<", position)
        if opening < 0:
            yield markup[position:], None
            return
        if markup.startswith("<!--", opening):
            end = markup.find("-->", opening + 4)
            yield markup[position:opening], None
            if end < 0:
                return
            position = end + 3
            continue
        if next_close < opening:
            next_close = markup.find(">", opening)
        if next_close < 0:
            yield markup[position:], None
            return
        yield markup[position:opening], markup[opening + 1 : next_close]
        position = next_close + 1


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()

"""HTML snapshots (``html_scrape``, ``html_action``): find a node by its ``unique_id``.

The page HTML is untrusted; it is only parsed here (BeautifulSoup, never executed) and every
string taken from it is escaped by the reporters.
"""

from __future__ import annotations

import re
from functools import cached_property

from bs4 import BeautifulSoup, Tag

from debugkit.parsers.pagetext import PageText, page_text

SNIPPET_LIMIT = 600
_ATTR_VALUE_LIMIT = 80
_SPACE = re.compile(r"\s+")
_NAMED_BY_TEXT = frozenset({"button", "a", "summary", "option", "legend"})
_VOID = frozenset({"input", "img", "br", "hr", "meta", "link", "area", "base", "col", "source", "wbr"})


class HtmlSnapshot:
    """One parsed main-frame document with an index of its ``unique_id`` attributes."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def visible(self) -> PageText:
        """The page's visible text, line by line (no DOM built)."""
        return page_text(self.text)

    @cached_property
    def soup(self) -> BeautifulSoup:
        return BeautifulSoup(self.text, "html.parser")

    @cached_property
    def _index(self) -> dict[str, Tag]:
        index: dict[str, Tag] = {}
        for tag in self.soup.find_all(attrs={"unique_id": True}):
            uid = tag.get("unique_id")
            if isinstance(uid, str) and uid not in index:
                index[uid] = tag
        return index

    def node(self, element_id: str) -> Tag | None:
        return self._index.get(element_id)

    def has(self, element_id: str) -> bool:
        return element_id in self._index

    def label_for(self, tag: Tag) -> str | None:
        """The element's name: ``<label for=id>``, a wrapping ``<label>``, aria-label / -labelledby,
        or, for buttons and links, their own text."""
        element_html_id = tag.get("id")
        if isinstance(element_html_id, str) and element_html_id:
            for label in self.soup.find_all("label"):
                if label.get("for") == element_html_id:
                    return _clean(label.get_text(" "))
        parent = tag.find_parent("label")
        if parent is not None:
            return _clean(parent.get_text(" "))
        aria = tag.get("aria-label")
        if isinstance(aria, str) and aria.strip():
            return _clean(aria)
        labelled_by = tag.get("aria-labelledby")
        if isinstance(labelled_by, str):
            target = self.soup.find(id=labelled_by.split()[0]) if labelled_by.split() else None
            if isinstance(target, Tag):
                return _clean(target.get_text(" "))
        if tag.name in _NAMED_BY_TEXT:
            return _clean(tag.get_text(" "))
        return None


def snippet(tag: Tag, limit: int = SNIPPET_LIMIT) -> str:
    """The node's outer HTML, whitespace folded, long attribute values and the tail trimmed."""
    attrs = []
    for name, value in tag.attrs.items():
        text = " ".join(value) if isinstance(value, list) else str(value)
        if len(text) > _ATTR_VALUE_LIMIT:
            text = text[: _ATTR_VALUE_LIMIT - 1] + "…"
        attrs.append(f'{name}="{text}"' if text != "" else name)
    opening = f"<{tag.name}{' ' if attrs else ''}{' '.join(attrs)}>"
    if tag.name in _VOID:
        return opening[:limit]
    inner = _SPACE.sub(" ", "".join(str(child) for child in tag.contents)).strip()
    out = f"{opening}{inner}</{tag.name}>"
    return out if len(out) <= limit else out[: limit - 1] + "…"


def _clean(text: str) -> str | None:
    cleaned = _SPACE.sub(" ", text).strip()
    return cleaned or None

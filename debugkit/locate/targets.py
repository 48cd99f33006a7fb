"""What to look for on the screenshot: :class:`~debugkit.locate.screen.Target` rows built from the element tree
(an iframe's document, a shadow root) or from the re-rendered scrape (a page whose stylesheets are missing).

"""

from __future__ import annotations

from debugkit.locate.model import RenderedElement
from debugkit.locate.screen import TEXT, Target, kind_of
from debugkit.model import Element


def _attr(element: Element, name: str) -> str:
    value = element.attributes.get(name)
    return value if isinstance(value, str) else ""


def tree_targets(elements: list[Element]) -> list[Target]:
    """Targets for elements of one document of the tree (in document order), labels joined by ``for``."""
    labels: dict[str, str] = {}
    by_dom_id: dict[str, str] = {}
    for element in elements:
        if (element.tag or "").lower() == "label" and _attr(element, "for"):
            labels.setdefault(_attr(element, "for"), element.text or "")
        if _attr(element, "id"):
            by_dom_id.setdefault(_attr(element, "id"), element.element_id)
    out = []
    for order, element in enumerate(elements):
        tag = (element.tag or "").lower()
        kind = kind_of(tag, _attr(element, "type"), _attr(element, "role"))
        label = labels.get(_attr(element, "id"), "") if _attr(element, "id") else ""
        out.append(
            Target(
                element_id=element.element_id,
                kind=kind,
                text=element.text or _attr(element, "aria-label") or _attr(element, "value"),
                shown=[_attr(element, "value"), _attr(element, "placeholder")],
                label=label or _attr(element, "aria-label"),
                order=order,
                tag=tag,
                names=by_dom_id.get(_attr(element, "for"), "") if tag == "label" else "",
            )
        )
    return out


SHORT_TEXT = 6  # words: longer texts (paragraphs) are no handle worth matching


def render_targets(elements: dict[str, RenderedElement], tree: dict[str, Element] | None) -> list[Target]:
    """Targets for the main frame's elements, from the re-render (which knows labels and chosen options).

    Interactable elements (per the tree), fields, buttons and short texts only: a paragraph is no handle.
    """
    out = []
    for order, (element_id, measured) in enumerate(elements.items()):
        node = (tree or {}).get(element_id)
        role = _attr(node, "role") if node is not None else ""
        kind = kind_of(measured.tag, measured.input_type, role)
        wanted = kind != TEXT or (node is not None and node.interactable) or len(measured.text.split()) <= SHORT_TEXT
        if not wanted or measured.box[2] <= 0:
            continue
        inside = measured.value if measured.tag == "select" else measured.text
        shown = [inside, measured.placeholder]
        out.append(
            Target(
                element_id=element_id,
                kind=kind,
                text=measured.text,
                shown=shown,
                label=measured.label,
                order=order,
                tag=measured.tag,
                names=measured.control,
            )
        )
    return out


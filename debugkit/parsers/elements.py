"""Elements: the ``visible_elements_tree`` (nested, iframe documents as children), the id maps.

Ids come in three schemes (see the spec, section 4.1): 4-character frame-coded ids (``AAAB``,
the first symbol is the frame index), 4 random characters (v0.1.5-v0.1.57) and numeric ids
(v0.1.4 and earlier). All are kept as case-sensitive strings.
"""

from __future__ import annotations

from typing import Any

from debugkit.model import Element
from debugkit.parsers.actions import element_id_of

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
MAIN_FRAME = "main.frame"


def id_scheme(element_id: str) -> str:
    """``numeric`` | ``four_char`` (frame-coded or random) | ``other``."""
    if element_id.isdigit():
        return "numeric"
    if len(element_id) == 4 and (element_id[0] in ALPHABET or element_id[0] in "~!@#$%^&*()-_+="):
        return "four_char"
    return "other"


def frame_index_from_id(element_id: str) -> int | None:
    """The frame index a frame-coded id carries in its first symbol, when it can carry one."""
    if id_scheme(element_id) == "four_char" and element_id[0] in ALPHABET:
        return ALPHABET.index(element_id[0])
    return None


def parse_element_tree(doc: Any) -> dict[str, Element]:
    """Flatten the nested tree into ``{id: Element}``; iframe children inherit the iframe as frame.

    Raises ValueError when the document is not a list (or dict) of element dicts.
    """
    roots = doc if isinstance(doc, list) else [doc] if isinstance(doc, dict) else None
    if roots is None:
        raise ValueError("element tree is not a list of elements")
    elements: dict[str, Element] = {}
    stack: list[tuple[Any, str | None]] = [(node, None) for node in reversed(roots)]
    while stack:
        node, parent_frame = stack.pop()
        if not isinstance(node, dict):
            continue
        element = element_from_dict(node, default_frame=parent_frame)
        if element is not None and element.element_id not in elements:
            elements[element.element_id] = element
        children = node.get("children")
        if isinstance(children, list):
            # An iframe's children are the iframe document: their frame is the iframe's id.
            child_frame = element.element_id if element and element.tag == "iframe" else (
                element.frame if element else parent_frame
            )
            stack.extend((child, child_frame) for child in reversed(children))
    return elements


def element_from_dict(node: dict[str, Any], default_frame: str | None = None) -> Element | None:
    """One element dict (tree node or ``skyvern_element_data``); None when it has no id."""
    element_id = element_id_of(node.get("id"))
    if element_id is None:
        attributes = node.get("attributes")
        if isinstance(attributes, dict):
            element_id = element_id_of(attributes.get("unique_id"))
    if element_id is None:
        return None
    attributes = node.get("attributes") if isinstance(node.get("attributes"), dict) else {}
    frame = node.get("frame") if isinstance(node.get("frame"), str) else default_frame
    frame_index = node.get("frame_index")
    interactable = node.get("interactable")
    tag = node.get("tagName")
    text = node.get("text")
    return Element(
        element_id=element_id,
        tag=tag.lower() if isinstance(tag, str) else None,
        text=" ".join(text.split()) if isinstance(text, str) else None,
        attributes=attributes,
        frame=frame or MAIN_FRAME,
        frame_index=frame_index if isinstance(frame_index, int) and not isinstance(frame_index, bool) else None,
        interactable=interactable if isinstance(interactable, bool) else None,
        xpath=node.get("xpath") if isinstance(node.get("xpath"), str) else None,
        page_url=node.get("page_url") if isinstance(node.get("page_url"), str) else None,
        raw={k: v for k, v in node.items() if k != "children"},
    )


def parse_frame_map(doc: Any) -> dict[str, str]:
    """``{element_id: "main.frame" | iframe element id}``; raises ValueError when not a mapping."""
    if not isinstance(doc, dict):
        raise ValueError("frame map is not an object")
    return {str(k): v for k, v in doc.items() if isinstance(v, str)}


def frame_chain(element_id: str, frame: str | None, frame_map: dict[str, str]) -> list[str]:
    """The iframe ids that hold an element, outermost first; [] for the main frame.

    Nested frames are followed through the frame map: ``CAAB -> BAAD -> AAAF -> main.frame``
    gives ``["AAAF", "BAAD"]``. Loops and unknown frames end the chain.
    """
    chain: list[str] = []
    current = frame if frame else frame_map.get(element_id)
    seen = {element_id}
    while current and current != MAIN_FRAME and current not in seen:
        chain.append(current)
        seen.add(current)
        current = frame_map.get(current)
    chain.reverse()
    return chain


def apply_frame_map(elements: dict[str, Element], frame_map: dict[str, str]) -> None:
    """Fill each element's frame chain (and a missing frame) from the frame map, in place."""
    for element in elements.values():
        if (not element.frame or element.frame == MAIN_FRAME) and frame_map.get(element.element_id):
            element.frame = frame_map[element.element_id]
        element.frame_chain = frame_chain(element.element_id, element.frame, frame_map)

"""Element trees, frame maps and id schemes."""

from __future__ import annotations

import pytest

from debugkit.parsers.elements import (
    apply_frame_map,
    frame_chain,
    frame_index_from_id,
    id_scheme,
    parse_element_tree,
)

TREE = [
    {"id": "AAAB", "frame": "main.frame", "frame_index": 0, "interactable": False, "tagName": "form",
     "attributes": {"unique_id": "AAAB"}, "text": "", "children": [
         {"id": "AAAC", "frame": "main.frame", "frame_index": 0, "interactable": True, "tagName": "BUTTON",
          "attributes": {"unique_id": "AAAC", "disabled": True}, "text": "  Continue \n ", "children": []},
     ]},
    {"id": "AAAF", "frame": "main.frame", "frame_index": 0, "interactable": False, "tagName": "iframe",
     "attributes": {"unique_id": "AAAF"}, "children": [
         {"id": "BAAB", "frame": "AAAF", "frame_index": 1, "interactable": True, "tagName": "input",
          "attributes": {"unique_id": "BAAB"}, "children": []},
         {"id": "BAAD", "frame_index": 1, "tagName": "iframe", "interactable": False, "attributes": {},
          "children": [
              {"id": "CAAB", "frame": "BAAD", "frame_index": 2, "interactable": True, "tagName": "input",
               "attributes": {}, "children": []},
          ]},
     ]},
]


def test_nested_tree_with_iframe_documents_is_flattened():
    elements = parse_element_tree(TREE)
    assert set(elements) == {"AAAB", "AAAC", "AAAF", "BAAB", "BAAD", "CAAB"}
    button = elements["AAAC"]
    assert button.tag == "button" and button.text == "Continue" and button.attributes["disabled"] is True
    assert elements["BAAB"].frame == "AAAF" and elements["BAAB"].frame_index == 1
    assert elements["BAAD"].frame == "AAAF"  # no frame key: inherited from the iframe holding it
    assert elements["CAAB"].frame == "BAAD"


def test_frame_map_chain_is_followed_through_nested_frames():
    frame_map = {"AAAB": "main.frame", "AAAF": "main.frame", "BAAB": "AAAF", "BAAD": "AAAF", "CAAB": "BAAD"}
    assert frame_chain("CAAB", None, frame_map) == ["AAAF", "BAAD"]
    assert frame_chain("AAAB", "main.frame", frame_map) == []
    assert frame_chain("X", "Y", {"Y": "X"}) == ["Y"]  # a loop ends the chain
    elements = parse_element_tree(TREE)
    apply_frame_map(elements, frame_map)
    assert elements["CAAB"].frame_chain == ["AAAF", "BAAD"]
    assert elements["AAAC"].frame_chain == []


def test_id_schemes():
    assert id_scheme("AAAB") == "four_char" and frame_index_from_id("AAAB") == 0
    assert frame_index_from_id("CAAB") == 2
    assert id_scheme("xQ7z") == "four_char"  # the random scheme looks the same; frame_index tells them apart
    assert id_scheme("~AAB") == "four_char" and frame_index_from_id("~AAB") is None
    assert id_scheme("12") == "numeric"
    assert id_scheme("button-7") == "other"


def test_numeric_legacy_ids_are_strings():
    elements = parse_element_tree([{"id": 12, "tagName": "a", "attributes": {}, "children": [{"id": 0}]}])
    assert set(elements) == {"12", "0"}


def test_not_a_tree_raises_value_error():
    with pytest.raises(ValueError):
        parse_element_tree("nope")

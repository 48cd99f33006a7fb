"""fixtures/recorder/record.py: real Chromium recordings of the test pages, read by debugkit's loader.

Records every page into a temporary folder and checks that the output loads with no problems, has the
Skyvern shapes (frame-coded ids, maps, tree, tiles, HAR without bodies) and matches the committed
``fixtures/recorded/`` (ids and truth boxes equal within a pixel; screenshots are not compared byte for
byte). Needs Chromium and Playwright: skipped without them locally, failing under CI.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

try:  # tests/ on sys.path (pytest's default rootdir-less import), or tests/ as a package
    from browser import require_browser
except ImportError:  # pragma: no cover
    from tests.browser import require_browser

from debugkit.load import load_run
from debugkit.parsers.elements import ALPHABET
from debugkit.sources import open_source

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "fixtures" / "recorded"


def _recorder() -> Any:
    spec = importlib.util.spec_from_file_location("debugkit_recorder", ROOT / "fixtures" / "recorder" / "record.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


record = _recorder()
PAGES = list(record.PAGES)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    require_browser()
    out = tmp_path_factory.mktemp("recorded")
    written = record.record(out)
    assert sorted(p.name for p in written) == sorted(PAGES)
    return out


def _load(folder: Path):
    return load_run(open_source(str(folder)))


def _files(folder: Path, artifact_type: str) -> list[Path]:
    return sorted((folder / "files").glob(f"*__{artifact_type}__*"))


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


def _flat(tree: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out, stack = [], list(reversed(tree))
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(node["children"]))
    return out


@pytest.mark.parametrize("page", PAGES)
def test_recording_loads_without_problems(recorded, page):
    run = _load(recorded / page)
    assert run.problems == []
    assert len(run.steps) == 1
    step = run.steps[0]
    truth = _json(recorded / page / "truth.json")
    assert set(step.elements) == set(truth["elements"]) == step.scrape_ids
    assert [a.element_id for a in step.actions] == truth["chosen"]
    assert [i for i, s in enumerate(step.screenshots_llm) if s.llm_call == step.actions_call] == truth[
        "screenshot_llm"
    ]
    assert len(truth["screenshot_llm"]) == len(truth["tile_offsets"])
    assert {(s.width, s.height) for s in step.screenshots_llm} == {tuple(truth["viewport"])}
    assert step.website_url == truth["url"]
    assert run.network_loaded and run.network[0].url == truth["url"] and run.network[0].status == 200


@pytest.mark.parametrize("page", PAGES)
def test_ids_are_skyvern_shaped(recorded, page):
    folder = recorded / page
    tree = _json(_files(folder, "visible_elements_tree")[0])
    frame_map = _json(_files(folder, "visible_elements_id_frame_map")[0])
    css_map = _json(_files(folder, "visible_elements_id_css_map")[0])
    html = _files(folder, "html_scrape")[0].read_text()
    nodes = _flat(tree)
    per_document: dict[str, list[str]] = {}
    for node in nodes:
        element_id = node["id"]
        assert len(element_id) == 4 and element_id[0] == ALPHABET[node["frame_index"]]
        assert node["attributes"]["unique_id"] == element_id
        assert css_map[element_id] == f"[unique_id='{element_id}']"
        assert frame_map[element_id] == node["frame"]
        per_document.setdefault(node["frame"], []).append(element_id)
        in_main = node["frame"] == "main.frame"
        assert (f'unique_id="{element_id}"' in html) == (in_main and node["xpath"] is not None)
        if node["xpath"] is not None:
            assert node["xpath"].startswith('/*[name()="html"][1]/*[name()="body"][1]/')
    for ids in per_document.values():  # a counter per document from 1: xAAB, xAAC, ...
        counters = sorted(
            ALPHABET.index(i[1]) * 62 * 62 + ALPHABET.index(i[2]) * 62 + ALPHABET.index(i[3]) for i in ids
        )
        assert counters == list(range(1, len(ids) + 1))
    assert set(css_map) == set(frame_map) == {n["id"] for n in nodes}


def test_iframe_documents_and_shadow_dom(recorded):
    truth = _json(recorded / "iframe" / "truth.json")
    elements = truth["elements"]
    assert elements["AAAG"]["tag"] == "iframe" and elements["BAAC"]["frame_chain"] == ["AAAG"]
    assert elements["CAAC"]["frame_chain"] == ["AAAG", "BAAG"] and elements["CAAC"]["text"] == "Verify with my bank"
    assert elements["AAAK"]["shadow"] and elements["AAAK"]["text"] == "Apply"
    tree = _json(_files(recorded / "iframe", "visible_elements_tree")[0])
    iframe = next(n for n in _flat(tree) if n["id"] == "AAAG")
    assert iframe["children"][0]["id"] == "BAAB"  # the iframe's document hangs under it
    shadow = next(n for n in _flat(tree) if n["id"] == "AAAK")
    assert shadow["xpath"] is None and shadow["shadowHost"] == "AAAH"
    # The card number box is inside the iframe's box on the page.
    fx, fy, fw, fh = elements["AAAG"]["box"]
    x, y, w, h = elements["BAAC"]["box"]
    assert fx < x and fy < y and x + w < fx + fw and y + h < fy + fh


def test_tiles_follow_the_scroll_rule(recorded):
    truth = _json(recorded / "long_form" / "truth.json")
    assert truth["tile_offsets"] == [0.0, 600.0, 1200.0, 1374.0] == truth["tile_rule"]
    assert truth["page_height"] == 2174.0


def test_har_has_no_bodies(recorded):
    har = json.loads(_files(recorded / "iframe", "har")[0].read_text())
    entries = har["log"]["entries"]
    assert [e["request"]["url"].rsplit("/", 1)[1] for e in entries] == [
        "iframe.html",
        "card_frame.html",
        "secure_frame.html",
    ]
    assert all("text" not in e["response"]["content"] for e in entries)


def _normalise(text: str) -> str:
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)


@pytest.mark.parametrize("page", PAGES)
def test_matches_the_committed_fixtures(recorded, page):
    fresh, committed = recorded / page, COMMITTED / page
    new_truth, old_truth = _json(fresh / "truth.json"), _json(committed / "truth.json")
    assert new_truth["chosen"] == old_truth["chosen"]
    assert new_truth["tile_offsets"] == old_truth["tile_offsets"]
    assert new_truth["viewport"] == old_truth["viewport"]
    assert abs(new_truth["page_height"] - old_truth["page_height"]) <= 1
    assert list(new_truth["elements"]) == list(old_truth["elements"])
    for element_id, new in new_truth["elements"].items():
        old = old_truth["elements"][element_id]
        assert {k: v for k, v in new.items() if k != "box"} == {k: v for k, v in old.items() if k != "box"}
        assert all(abs(a - b) <= 1 for a, b in zip(new["box"], old["box"], strict=True)), element_id
    for artifact_type in (
        "visible_elements_tree",
        "visible_elements_id_frame_map",
        "visible_elements_id_css_map",
        "html_scrape",
        "llm_response_parsed",
    ):
        new_text = _files(fresh, artifact_type)[0].read_text()
        old_text = _files(committed, artifact_type)[0].read_text()
        assert _normalise(new_text) == _normalise(old_text), artifact_type
    assert len(_files(fresh, "screenshot_llm")) == len(_files(committed, "screenshot_llm"))
    assert new_truth.get("screenshot_llm") == old_truth.get("screenshot_llm")
    assert [p.name for p in sorted((fresh / "files").iterdir())] == [
        p.name for p in sorted((committed / "files").iterdir())
    ]


def test_committed_fixtures_stay_small():
    size = sum(p.stat().st_size for p in COMMITTED.rglob("*") if p.is_file())
    assert size < 3.5 * 1024 * 1024, f"fixtures/recorded is {size / 1024:.0f} KB"


def test_harder_pages(recorded):
    tall = _json(recorded / "tall_page" / "truth.json")
    assert tall["viewport"] == [1280, 800] and tall["page_height"] > 3 * 800 and len(tall["tile_offsets"]) == 7
    wide = _json(recorded / "tall_page_1080" / "truth.json")
    assert wide["viewport"] == [1920, 1080] and wide["page_height"] > 3 * 1080
    # Three LLM calls, stored as Skyvern stores them: screenshots, then prompt, request, response, parsed.
    rows = json.loads((recorded / "tall_page" / "artifacts.json").read_text())
    kinds = [r["artifact_type"] for r in rows if r["artifact_type"].startswith(("screenshot", "llm"))]
    call = ["llm_prompt", "llm_request", "llm_response", "llm_response_parsed"]
    assert kinds == ["screenshot_llm", *call, *["screenshot_llm"] * 7, *call, "screenshot_llm", *call]
    assert tall["llm_call"] == 1 and tall["screenshot_llm"] == [1, 2, 3, 4, 5, 6, 7]
    # The card form comes from another origin (another port), and its elements get B ids.
    card = _json(recorded / "xorigin_iframe" / "truth.json")
    html = _files(recorded / "xorigin_iframe", "html_scrape")[0].read_text()
    frame_src = re.search(r'<iframe[^>]*src="([^"]+)"', html).group(1)
    assert frame_src.split("/")[2] != card["url"].split("/")[2]
    assert all(i.startswith("B") for i in card["chosen"])
    # The stylesheet stays a link in the scrape.
    html = _files(recorded / "external_css", "html_scrape")[0].read_text()
    assert '<link rel="stylesheet" href="styles/shop.css">' in html and "grid-template-columns" not in html


def test_viewport_flag(tmp_path):
    require_browser()
    assert record.main(["--out", str(tmp_path), "--pages", "disabled_button", "--viewport", "1920x1080"]) == 0
    step = _load(tmp_path / "disabled_button").steps[0]
    assert {(s.width, s.height) for s in step.screenshots_llm} == {(1920, 1080)}
    truth = _json(tmp_path / "disabled_button" / "truth.json")
    assert truth["viewport"] == [1920, 1080] and truth["tile_offsets"] == [0.0]
    with pytest.raises(SystemExit):
        record.main(["--out", str(tmp_path), "--viewport", "big"])
    assert record.main(["--out", str(tmp_path), "--pages", "nope"]) == 1

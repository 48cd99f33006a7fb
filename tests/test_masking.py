"""Screenshots leave the machine without the secrets typed into them: OCR cannot read them, masks cover
the true boxes, and what cannot be masked is left out (and said so)."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import math
import os
import re
import shutil
import subprocess
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from debugkit.cli import main
from debugkit.load import load_run
from debugkit.locate import locate_step
from debugkit.model import Action, Element, RunData, Screenshot, StepData
from debugkit.redaction.masking import mask_run, mask_step
from debugkit.redaction.policy import step_typed_kind
from debugkit.redaction.screens import SecretField, secret_fields
from debugkit.sources import open_source

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RUNS = sorted(p for folder in ("real", "recorded") for p in (FIXTURES / folder).iterdir() if (p / "run.json").is_file())
RECORDED = sorted(p for p in (FIXTURES / "recorded").iterdir() if (p / "truth.json").is_file())
_DATA_URI = re.compile(r"data:image/(?:webp|png|jpeg);base64,([A-Za-z0-9+/=]+)")


def secret_values(run_dir: Path) -> list[str]:
    """What a run typed into secret fields (decided by the redaction policy), plus capture.json's secrets."""
    run = load_run(open_source(run_dir))
    values = [a.text for s in run.steps for a in s.actions if a.text and step_typed_kind(s, a)]
    capture = run_dir / "capture.json"
    if capture.is_file():  # "secrets": a list or a map of values, or of {"value": ...} objects
        stack = [json.loads(capture.read_text()).get("secrets") or []]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                stack.extend([item["value"]] if "value" in item else item.values())
            elif isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, str):
                values.append(item)
    return sorted({v for v in values if isinstance(v, str) and len(v.strip()) >= 4})


SECRET_RUNS = [run for run in RUNS if secret_values(run)]


@cache
def tesseract() -> str:
    path = shutil.which("tesseract")
    if path is None:
        message = "tesseract (Debian's tesseract-ocr) is needed to read the screenshots"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def ocr(data: bytes) -> str:
    """What tesseract reads in an image (any format Pillow opens; small ones scaled up first)."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    if image.width < 1000:  # a thumbnail or a crop: read it the way someone zooming in would
        factor = 1280 / image.width
        image = image.resize((round(image.width * factor), round(image.height * factor)), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    done = subprocess.run(
        [tesseract(), "stdin", "stdout"], input=buffer.getvalue(), capture_output=True, timeout=120,
        env={**os.environ, "OMP_THREAD_LIMIT": "1"},
    )
    return done.stdout.decode("utf-8", "replace")


def ocr_all(images: list[bytes]) -> list[str]:
    unique = {hashlib.sha256(d).hexdigest(): d for d in images}
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return list(pool.map(ocr, unique.values()))


def reads(text: str, secret: str, *, whole: bool = False) -> bool:
    """Whether OCR text gives the secret away: a digit secret by any 8 of its digits in a row (or all of
    them), any other secret as written (spaces ignored)."""
    digits = re.sub(r"\D", "", secret)
    if len(digits) >= 6 and len(digits) * 2 >= len(secret.replace(" ", "")):
        seen = re.sub(r"\D", "", text)
        if whole or len(digits) < 8:
            return digits in seen
        return any(digits[i : i + 8] in seen for i in range(len(digits) - 7))
    return secret.replace(" ", "").lower() in re.sub(r"\s", "", text).lower()


def report_images(html: str) -> list[bytes]:
    return [base64.b64decode(m.group(1)) for m in _DATA_URI.finditer(html)]


def raw_images(run_dir: Path) -> list[bytes]:
    run = load_run(open_source(run_dir))
    shots = [s for step in run.steps for s in [*step.screenshots_llm, *step.screenshots_action]]
    shots += [step.screenshot_final for step in run.steps if step.screenshot_final is not None]
    return [s.data for s in shots if s.data]


@pytest.mark.parametrize("run_dir", SECRET_RUNS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_ocr_reads_no_typed_secret_in_report_or_bundle(run_dir: Path, tmp_path: Path):
    secrets = secret_values(run_dir)
    report, ticket = tmp_path / "report.html", tmp_path / "ticket.zip"
    assert main(["report", str(run_dir), "-o", str(report), "--quiet"]) == 0
    assert main(["bundle", str(run_dir), "-o", str(ticket), "--quiet"]) == 0
    archive = zipfile.ZipFile(ticket)
    images = report_images(report.read_text()) + [
        archive.read(n) for n in archive.namelist() if n.endswith(".png")
    ]
    shots = json.loads(archive.read("manifest.json"))["screenshots"]
    # something to read, or every picture was left out with a reason (fail-closed: nothing to leak)
    assert images or (shots and all(s["outcome"] == "left out" and s["reason"] for s in shots))
    for text in ocr_all(images):
        for secret in secrets:
            assert not reads(text, secret), f"OCR reads a typed secret in an output image of {run_dir.name}"


def test_ocr_reads_the_card_number_on_unmasked_screenshots():
    """The OCR test proves something: tesseract does read the typed card number where nothing masks it."""
    shown = {}
    for run_dir in SECRET_RUNS:
        texts = ocr_all(raw_images(run_dir))
        shown[run_dir.name] = [s for s in secret_values(run_dir) if any(reads(t, s, whole=True) for t in texts)]
    assert "4242424242424242" in shown["checkout_500"], shown
    # ... and the masked outputs of exactly those runs are what the test above reads.
    assert {name for name, found in shown.items() if found} <= {p.name for p in SECRET_RUNS}


def _truth_rect(truth: dict, element: dict, offset: float) -> tuple[float, float, float, float] | None:
    """The element's true box on the screenshot taken at document offset ``offset``, clipped to it."""
    width, height = truth["viewport"]
    x, y, w, h = element["box"]
    if not element.get("fixed"):
        y -= offset
    left, top, right, bottom = max(0, x), max(0, y), min(width, x + w), min(height, y + h)
    return (left, top, right, bottom) if right - left >= 1 and bottom - top >= 1 else None


def _uncovered(rect: tuple[float, float, float, float], boxes: list[tuple[int, int, int, int]], size) -> int:
    """Pixels of ``rect`` (the true box) that no mask box covers."""
    canvas = Image.new("L", size, 0)
    draw = ImageDraw.Draw(canvas)
    for x, y, w, h in boxes:
        draw.rectangle((x, y, x + w - 1, y + h - 1), fill=255)
    left, top, right, bottom = int(rect[0]), int(rect[1]), math.ceil(rect[2]), math.ceil(rect[3])
    return canvas.crop((left, top, right, bottom)).tobytes().count(0)


def _targets(truth: dict) -> list[str]:
    """Every element a value could be typed into or that the model could click, with a box."""
    return [i for i, e in truth["elements"].items() if e["interactable"] and e["box"][2] > 0 and e["box"][3] > 0]


def _scrolled(step: StepData, offsets: list[float], scroll: float, tiles_at: list[int] | None = None) -> Screenshot:
    """A viewport screenshot at document offset ``scroll`` (like an action screenshot), from the rows of the
    tiles at ``tiles_at`` (the set the offsets belong to; default the first ``len(offsets)``)."""
    chosen = tiles_at if tiles_at is not None else list(range(len(offsets)))
    tiles = [Image.open(io.BytesIO(step.screenshots_llm[i].data)).convert("RGB") for i in chosen]
    width, height = tiles[0].size
    out = Image.new("RGB", (width, height))
    for y in range(height):
        doc = scroll + y
        k = max(i for i, o in enumerate(offsets) if o <= doc < o + height)
        out.paste(tiles[k].crop((0, int(doc - offsets[k]), width, int(doc - offsets[k]) + 1)), (0, y))
    buffer = io.BytesIO()
    out.save(buffer, format="PNG")
    return Screenshot("screenshot_action", f"scrolled to {scroll}", data=buffer.getvalue(), width=width, height=height)


def _check(truth: dict, element_id: str, result, offset: float) -> bool:
    rect = _truth_rect(truth, truth["elements"][element_id], offset)
    if rect is None or result.left_out:
        return False
    missed = _uncovered(rect, result.boxes, tuple(truth["viewport"]))
    assert missed == 0, f"{element_id} on {result.name} (offset {offset}): {missed} px of its true box unmasked"
    return True


@pytest.mark.parametrize("run_dir", RECORDED, ids=lambda p: p.name)
def test_mask_covers_the_true_box_on_recorded_pages(run_dir: Path):
    """Every interactable element of every recorded page, taken as a secret field: on every tile its true box
    (truth.json) is covered, or the tile is left out; and so on screenshots scrolled elsewhere (as action
    screenshots are), masked for all the fields at once."""
    truth = json.loads((run_dir / "truth.json").read_text())
    run = load_run(open_source(run_dir))
    step = next(s for s in run.steps if s.step_id == truth["step_id"])
    offsets = truth["tile_offsets"]
    elements = step.elements or {}
    ids = [i for i in _targets(truth) if i in elements]
    known = locate_step(step, ids=sorted(set(ids) | {f for i in ids for f in elements[i].frame_chain[:1]}))
    fields = {i: SecretField(i, "password", "test", tuple(elements[i].frame_chain)) for i in ids}
    checked, placed = 0, []
    # the tiles the truth measured: the action-extraction call's set (a step can hold several sets)
    tiles = truth.get("screenshot_llm") or list(range(len(offsets)))
    for element_id, field in fields.items():
        results = mask_step(copy.deepcopy(step), [field], known, render=False)
        on_tiles = [results[i] for i in tiles]
        checked += sum(_check(truth, element_id, r, o) for r, o in zip(on_tiles, offsets, strict=True))
        placed += [field] if not on_tiles[0].left_out else []
    assert checked, f"no element of {run_dir.name} could be masked on any tile"
    scrolls = sorted({round((a + b) / 2) for a, b in zip(offsets, offsets[1:], strict=False)} | {offsets[-1] // 3})
    step.screenshots_action = [_scrolled(step, offsets, s, tiles) for s in scrolls]
    results = mask_step(step, placed, known, render=False)[len(step.screenshots_llm) :]
    assert all(not r.left_out for r in results), [r.left_out for r in results]
    for result, scroll in zip(results, scrolls, strict=True):
        for field in placed:
            _check(truth, field.element_id, result, scroll)


def test_unplaceable_field_leaves_its_screenshots_out_and_says_so(tmp_path: Path, capsys):
    """login_401's password field cannot be placed with confidence on its (generated) screenshots: every
    screenshot that may show it is left out of the bundle and replaced by a placeholder in the report."""
    run_dir = FIXTURES / "runs" / "login_401"
    report, ticket = tmp_path / "r.html", tmp_path / "t.zip"
    assert main(["report", str(run_dir), "-o", str(report)]) == 0
    assert "left out" in capsys.readouterr().err
    html = report.read_text()
    assert "left out: the password field AAAF could not be placed with confidence" in html
    assert main(["bundle", str(run_dir), "-o", str(ticket)]) == 0
    err = capsys.readouterr().err
    assert "left out" in err and "manifest.json" in err
    archive = zipfile.ZipFile(ticket)
    manifest = json.loads(archive.read("manifest.json"))
    assert not [n for n in archive.namelist() if n.endswith(".png")]
    assert manifest["left_out"] and all("password field AAAF" in i["reason"] for i in manifest["left_out"]
                                        if i["name"].endswith(".png"))
    assert manifest["redaction"]["screenshots"]["left_out"] == len(manifest["screenshots"]) > 0


def test_no_redact_keeps_the_screenshots_as_they_are(tmp_path: Path):
    run_dir = FIXTURES / "real" / "checkout_500"
    ticket = tmp_path / "t.zip"
    assert main(["bundle", str(run_dir), "-o", str(ticket), "--no-redact", "--quiet"]) == 0
    archive = zipfile.ZipFile(ticket)
    texts = ocr_all([archive.read(n) for n in archive.namelist() if n.endswith(".png")])
    assert any(reads(t, "4242424242424242", whole=True) for t in texts)
    assert json.loads(archive.read("manifest.json"))["screenshots"] == []


def _step(step_id: str, order: int, url: str, actions: list[Action], elements: dict[str, Element]) -> StepData:
    step = StepData(step_id, "tsk_1", order, 0, website_url=url, elements=elements)
    step.actions = actions
    step.created_at = datetime(2026, 1, 1, 0, order, tzinfo=UTC)
    return step


def test_secret_fields_follow_the_same_page_rule():
    card = Element("AAAG", tag="input", attributes={"name": "card", "type": "text"})
    name = Element("AAAE", tag="input", attributes={"name": "name", "type": "text"})
    typed = Action("s0", 0, "input_text", element_id="AAAG", text="4242424242424242")
    renamed = Element("AAAH", tag="input", attributes={"name": "card", "type": "text"})
    run = RunData(source="x", source_kind="run_folder", steps=[
        _step("s0", 0, "https://shop.example/pay", [typed], {"AAAG": card, "AAAE": name}),
        _step("s1", 1, "https://shop.example/pay#review", [], {"AAAG": card, "AAAE": name}),  # fragment: same page
        _step("s2", 2, "https://shop.example/pay", [], {"AAAH": renamed}),  # new ids, the same field
        _step("s3", 3, "https://shop.example/done", [], {"AAAG": card}),  # another page
        _step("s4", 4, "https://shop.example/pay", [], {"AAAG": card}),  # back: the value is not carried
    ])
    fields = secret_fields(run)
    assert [(f.element_id, f.kind, f.why) for f in fields["s0"]] == [("AAAG", "card", "typed in this step")]
    assert [(f.element_id, f.why) for f in fields["s1"]] == [("AAAG", "typed in step 0.0")]
    assert [f.element_id for f in fields["s2"]] == ["AAAH"]
    assert "s3" not in fields and "s4" not in fields
    # a secret field that holds a value in the scrape counts whoever typed it
    held = Element("AAAP", tag="input", attributes={"type": "password", "value": "hunter2-Secret!"})
    run.steps[3].elements = {"AAAP": held}
    assert [(f.element_id, f.kind, f.why) for f in secret_fields(run)["s3"]] == [("AAAP", "password", "holds a value")]


def test_a_box_never_checked_against_the_pixels_is_not_confident_enough():
    """iframe_element's iframe re-renders 28 px off its (generated) screenshot, and the re-render has too little
    detail to be checked: its screenshots are left out rather than masked in the wrong place."""
    run = load_run(open_source(FIXTURES / "runs" / "iframe_element"))
    report = mask_run(run)
    assert report.shots and not report.masked
    assert all("below 0.8" in shot.left_out and "too little detail" in shot.left_out for shot in report.left_out)

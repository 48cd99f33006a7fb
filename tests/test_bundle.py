"""The support bundle: everything a support engineer needs, and no secret."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from debugkit.load import load_run
from debugkit.redaction import RedactionPolicy
from debugkit.report import embedded
from debugkit.report.bundle import BundleRefused, build_bundle
from debugkit.sources import open_source

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LOGIN = FIXTURES / "runs" / "login_401"
API_KEY = "sk-test-7Hq2LmV9xR4wPz8KcT3n"
OTP = "739201"
PLACEHOLDER = re.compile(r"\[REDACTED:[0-9a-f]{8}\]")


@pytest.fixture()
def secret_run(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """login_401 plus an OTP typed into a one-time-code field and the API key in a request header."""
    run = tmp_path / "login"
    shutil.copytree(LOGIN, run)
    secrets = dict(json.loads((run / "expected.json").read_text())["secrets"])
    secrets.update(otp=OTP, api_key=API_KEY)
    steps = json.loads((run / "steps.json").read_text())
    step = steps[0]
    pairs = step["output"]["actions_and_results"]
    otp_action = json.loads(json.dumps(pairs[0][0]))
    otp_action.update(action_order=len(pairs), element_id="AAAZ", text=OTP, response=OTP,
                      reasoning="Enter the one-time code from the email.",
                      skyvern_element_data={"id": "AAAZ", "tagName": "input",
                                            "attributes": {"name": "otp", "autocomplete": "one-time-code",
                                                           "unique_id": "AAAZ"}})
    pairs.append([otp_action, [{"success": True}]])
    (run / "steps.json").write_text(json.dumps(steps))
    files = run / "files"
    for tree in files.glob("*__visible_elements_tree__*"):
        doc = json.loads(tree.read_text())
        doc.append({"id": "AAAZ", "frame": "main.frame", "frame_index": 0, "interactable": True, "tagName": "input",
                    "attributes": {"name": "otp", "autocomplete": "one-time-code", "unique_id": "AAAZ",
                                   "value": OTP}, "text": "", "children": []})
        tree.write_text(json.dumps(doc))
    for scrape in files.glob("*__html_scrape__*"):
        scrape.write_text(scrape.read_text().replace(
            "</form>", f'<input name="otp" autocomplete="one-time-code" unique_id="AAAZ" value="{OTP}"></form>'))
    for prompt in files.glob("*__llm_prompt__*"):
        prompt.write_text(prompt.read_text() + f"\nThe one-time code is {OTP}. Debug key: {API_KEY}\n")
    for parsed in files.glob("*__llm_response_parsed__*"):
        doc = json.loads(parsed.read_text())
        if isinstance(doc.get("actions"), list):
            doc["actions"].append({"action_type": "INPUT_TEXT", "id": "AAAZ", "text": OTP, "reasoning": "OTP"})
            parsed.write_text(json.dumps(doc))
    har_path = next(files.glob("*__har__*"))
    har = json.loads(har_path.read_text())
    request = har["log"]["entries"][-1]["request"]
    request["headers"].append({"name": "X-Api-Key", "value": API_KEY})
    request["url"] += f"?otp={OTP}"
    har_path.write_text(json.dumps(har))
    return run, secrets


def build(run: Path, out: Path, **kwargs) -> zipfile.ZipFile:
    raw = open_source(run)
    build_bundle(raw, load_run(raw), out, api_keys=[API_KEY], **kwargs)
    return zipfile.ZipFile(out)


def all_text(archive: zipfile.ZipFile) -> dict[str, str]:
    """Each member as text; a report with its compressed network data decoded (what its reader sees)."""
    texts = {name: archive.read(name).decode("utf-8", "replace") for name in archive.namelist()}
    for name, text in texts.items():
        if embedded.has_blocks(text):
            texts[name] = text + "\n" + json.dumps(embedded.read_blocks(text), ensure_ascii=False)
    return texts


def test_no_secret_in_any_member(secret_run, tmp_path: Path):
    run, secrets = secret_run
    archive = build(run, tmp_path / "ticket.zip")
    names = set(archive.namelist())
    assert {"report.html", "triage.json", "summary.md", "manifest.json", "network.har"} <= names
    assert any(n.endswith("element_tree.json") for n in names)
    manifest = json.loads(archive.read("manifest.json"))
    left_out = {item["name"] for item in manifest["left_out"]}
    shots = [n for n in names | left_out if re.search(r"/screenshot_(llm|action|final)_\d+\.png$", n)]
    assert shots, "the decisive step's screenshots are members, or named as left out"
    assert any("llm_response_parsed" in n for n in names)
    for name, text in all_text(archive).items():
        raw = archive.read(name)
        for kind, value in secrets.items():
            assert value.encode() not in raw, f"{kind} in {name}"
            assert value not in text, f"{kind} in {name}"


def test_placeholders_correlate_and_counts_match(secret_run, tmp_path: Path):
    run, secrets = secret_run
    archive = build(run, tmp_path / "ticket.zip")
    har = json.loads(archive.read("network.har"))
    cookie_headers = [
        h["value"] for e in har["log"]["entries"] for h in e["request"]["headers"] if h["name"].lower() == "cookie"
    ]
    assert len(cookie_headers) >= 2
    placeholders = {tuple(PLACEHOLDER.findall(value)) for value in cookie_headers}
    assert len(placeholders) == 1 and placeholders != {()}  # the same cookie, the same placeholder
    manifest = json.loads(archive.read("manifest.json"))
    counts = manifest["redaction"]["counts"]
    assert counts["password"] == 1 and counts["otp"] == 1 and counts["api_key"] == 1
    assert counts.get("cookie", 0) >= 1 and counts.get("header", 0) + counts.get("jwt", 0) >= 1
    distinct = set()
    for name, text in all_text(archive).items():
        if name != "manifest.json":
            distinct |= set(PLACEHOLDER.findall(text))
    assert len(distinct) == sum(counts.values())
    # members are listed with their real hashes and sizes
    for member in manifest["members"]:
        data = archive.read(member["name"])
        assert member["bytes"] == len(data)
        assert member["sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("rule", ["cookies", "typed_secrets", "api_key"])
def test_verifier_blocks_when_a_rule_is_switched_off(secret_run, tmp_path: Path, rule: str):
    run, _ = secret_run
    out = tmp_path / "ticket.zip"
    policy = RedactionPolicy(**{rule: False})
    with pytest.raises(BundleRefused) as caught:
        build(run, out, policy=policy)
    message = str(caught.value)
    assert "remains in" in message
    assert not out.exists()
    for value in (OTP, API_KEY, "hunter2"):
        assert value not in message  # the member and kind are named, never the value


def test_built_twice_identical_apart_from_salt_and_time(secret_run, tmp_path: Path):
    run, _ = secret_run
    first = all_text(build(run, tmp_path / "a.zip"))
    second = all_text(build(run, tmp_path / "b.zip"))
    assert first.keys() == second.keys()

    def normal(name: str, text: str) -> str:
        text = PLACEHOLDER.sub("[REDACTED]", text)
        if name == "manifest.json":
            doc = json.loads(text)
            doc.pop("created_at")
            for member in doc["members"]:
                member.pop("sha256")
                member.pop("bytes")
            text = json.dumps(doc, sort_keys=True)
        return text

    for name in first:
        assert normal(name, first[name]) == normal(name, second[name]), name
    assert first["network.har"] != second["network.har"]  # the salts differ


def test_same_salt_gives_the_same_members(secret_run, tmp_path: Path):
    run, _ = secret_run
    a = build(run, tmp_path / "a.zip", salt=b"fixed")
    b = build(run, tmp_path / "b.zip", salt=b"fixed")
    for name in a.namelist():
        if name != "manifest.json":
            assert a.read(name) == b.read(name), name


def test_size_cap_scales_then_drops_and_says_so(tmp_path: Path):
    out = tmp_path / "small.zip"
    archive = build(FIXTURES / "real" / "checkout_500", out, max_size=150_000)
    assert out.stat().st_size <= 150_000
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["dropped"], "something had to go"
    kept = set(archive.namelist())
    assert {"summary.md", "triage.json", "manifest.json"} <= kept
    assert all(d["name"] not in kept for d in manifest["dropped"])


def test_unavailable_artifacts_are_listed(tmp_path: Path):
    run = tmp_path / "run"
    shutil.copytree(FIXTURES / "runs" / "site_500_submit", run)
    next((run / "files").glob("*__html_scrape__*")).unlink()
    manifest = json.loads(build(run, tmp_path / "t.zip").read("manifest.json"))
    assert any(p["artifact_type"] == "html_scrape" for p in manifest["unavailable_artifacts"])


def test_cli_bundle_and_no_redact(secret_run, tmp_path: Path):
    run, secrets = secret_run
    out = tmp_path / "plain.zip"
    done = subprocess.run(
        [sys.executable, "-m", "debugkit", "bundle", str(run), "-o", str(out), "--no-redact"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "--no-redact" in done.stderr and "warning" in done.stderr
    archive = zipfile.ZipFile(out)
    assert json.loads(archive.read("manifest.json"))["redaction"]["enabled"] is False
    assert secrets["password"] in archive.read("network.har").decode()
    done = subprocess.run(
        [sys.executable, "-m", "debugkit", "bundle", str(run), "-o", str(tmp_path / "r.zip")],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0 and "redacted" in done.stderr


def test_the_har_is_redacted_a_slice_at_a_time_exactly_as_a_whole(tmp_path: Path):
    """The bundle redacts the HAR's entries a slice at a time (issue 12: memory): the same document as
    Redactor.har on the whole; a HAR whose entries cannot be sliced (damaged) is not redacted this way."""
    import orjson

    import debugkit.parsers.har as har
    from debugkit import pipeline
    from debugkit.report.bundle_members import dump_json, redacted_har

    folder = FIXTURES / "runs" / "login_401"
    redactor = pipeline.prepare(pipeline.read(folder), keep_redactor=True).redactor
    data = next((folder / "files").glob("*__har__*")).read_bytes()
    whole = orjson.loads(dump_json(redactor.har(orjson.loads(data))))
    chunk = har._CHUNK_BYTES
    try:
        har._CHUNK_BYTES = 200  # many slices, even on a small HAR
        sliced = redacted_har(data, redactor)
    finally:
        har._CHUNK_BYTES = chunk
    assert sliced is not None and orjson.loads(sliced) == whole and sliced != data
    assert redacted_har(data[: len(data) // 2], redactor) is None


@pytest.mark.parametrize(
    "source", [FIXTURES / "runs" / "bundled_step_archive", FIXTURES / "archives" / "task_archive.zip"]
)
def test_a_har_over_the_member_cap_is_left_out_without_being_read(source: Path, tmp_path: Path, monkeypatch):
    """The member cap is checked on the size the ZIP header gives: a long run's 60 MB HAR is not read again (the
    bundle's peak memory) only to be left out."""
    from debugkit.report import bundle_members

    raw = open_source(source)
    run = load_run(raw)
    har = next(ref for ref in raw.artifacts if ref.artifact_type == "har")
    size = har.known_size()
    assert size is not None and size == len(har.read())
    reads = []
    original = har.read
    monkeypatch.setattr(har, "read", lambda: reads.append(1) or original())
    monkeypatch.setattr(bundle_members, "MAX_MEMBER_BYTES", size - 1)
    result = build_bundle(raw, run, tmp_path / "b.zip", render=False)
    assert reads == []
    assert any(item["name"] == "network.har" and "cap" in item["reason"] for item in result.left_out)
    assert "network.har" not in zipfile.ZipFile(tmp_path / "b.zip").namelist()

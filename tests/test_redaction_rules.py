"""Nothing raw that could not be redacted; shape rules the final check enforces; one policy for every output."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from test_masking import ocr_all, reads

from debugkit.cli import main
from debugkit.redaction import scan
from debugkit.redaction.collect import Secret
from debugkit.redaction.verify import verify_members

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CARD = "4242424242424242"
SHOWN = re.compile(r"\[REDACTED:[0-9a-f]{8}\] \(16 chars\)")


def _entry(url: str, request_headers: list[dict], response_headers: list[dict]) -> dict:
    return {
        "startedDateTime": "2026-10-08T11:47:31.000Z",
        "time": 12.5,
        "request": {"method": "GET", "url": url, "httpVersion": "HTTP/1.1", "headers": request_headers,
                    "cookies": [], "queryString": [], "headersSize": -1, "bodySize": 0},
        "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": response_headers,
                     "cookies": [], "content": {"size": 0, "mimeType": "text/html"}, "redirectURL": "",
                     "headersSize": -1, "bodySize": 0},
        "cache": {}, "timings": {"send": 0, "wait": 10, "receive": 2.5},
    }


SESSION = "S3cr3tSess10nValue77"
CSRF = "CsRf-9876543210-token"
NEW_SESSION = "NewSess10nValue4242"


def _damaged_har_run(tmp_path: Path, cut_in_first: bool) -> Path:
    """site_500_submit with a HAR whose entry holding the cookies and CSRF token is cut off mid-way."""
    run = tmp_path / "run"
    shutil.copytree(FIXTURES / "runs" / "site_500_submit", run)
    har = next((run / "files").glob("*__har__*"))
    secret = _entry(
        "https://shop.example/account",
        [{"name": "Cookie", "value": f"sid={SESSION}; csrftoken={CSRF}"}, {"name": "X-CSRF-Token", "value": CSRF}],
        [{"name": "Set-Cookie", "value": f"session={NEW_SESSION}; Path=/; HttpOnly"},
         {"name": "Content-Type", "value": "text/html"}],
    )
    entries = [secret] if cut_in_first else [_entry("https://shop.example/", [], []), secret]
    text = json.dumps({"log": {"version": "1.2", "creator": {"name": "Playwright"}, "entries": entries}}, indent=2)
    cut = text.index("Content-Type")  # inside the secret entry's response: the entry never completes
    har.write_text(text[:cut])
    return run


@pytest.mark.parametrize("cut_in_first", [False, True], ids=["salvaged", "left-out"])
def test_a_damaged_har_is_not_copied_raw(tmp_path: Path, cut_in_first: bool):
    run = _damaged_har_run(tmp_path, cut_in_first)
    ticket = tmp_path / "t.zip"
    assert main(["bundle", str(run), "-o", str(ticket), "--no-render", "--quiet"]) == 0
    archive = zipfile.ZipFile(ticket)
    for name in archive.namelist():
        data = archive.read(name)
        for value in (SESSION, CSRF, NEW_SESSION):
            assert value.encode() not in data, f"a cookie or CSRF value of the damaged HAR reached {name}"
    manifest = json.loads(archive.read("manifest.json"))
    if cut_in_first:
        assert "network.har" not in archive.namelist()
        assert any(i["name"] == "network.har" and "cannot be redacted" in i["reason"] for i in manifest["left_out"])
    else:
        har = json.loads(archive.read("network.har"))  # valid JSON: only the complete entry, redacted
        assert [e["request"]["url"] for e in har["log"]["entries"]] == ["https://shop.example/"]
        member = next(m for m in manifest["members"] if m["name"] == "network.har")
        assert member["redaction"].startswith("salvaged")


def test_a_har_with_nan_and_huge_integers_is_triaged_and_bundled(tmp_path: Path):
    run = tmp_path / "run"
    shutil.copytree(FIXTURES / "runs" / "site_500_submit", run)
    har = next((run / "files").glob("*__har__*"))
    doc = json.loads(har.read_text())
    doc["log"]["entries"][0]["_transferSize"] = 2**64
    doc["log"]["entries"][0]["time"] = float("nan")
    har.write_text(json.dumps(doc))  # Python writes NaN, as some HAR writers do
    done = subprocess.run([sys.executable, "-m", "debugkit", "triage", str(run), "--json", "--no-render"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)
    ticket = tmp_path / "t.zip"
    assert main(["bundle", str(run), "-o", str(ticket), "--no-render", "--quiet"]) == 0
    assert "18446744073709551616" in zipfile.ZipFile(ticket).read("network.har").decode()


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Cookie: sid=abc123def456; theme=dark", "header"),
        ("authorization: Bearer 9f8e7d6c5b4a39281706", "header"),
        ('{"name": "Set-Cookie", "value": "session=QWERTY123456; HttpOnly"}', "header"),
        ('{\n  "name": "X-CSRF-Token",\n  "value": "Zx91-aa77-bb66"\n}', "header"),
        ("paid with 4242 4242 4242 4242 today", "card"),
        ("card=5555555555554444&amount=3", "card"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlMTIz in a log", "jwt"),
        ("username=jdoe&password=hunter2-Secret!", "form"),
        ('{"client_secret": "s3cr3t-value-99"}', "form"),
    ],
)
def test_the_final_check_finds_secret_shapes_it_was_never_told_about(text: str, kind: str):
    leaks = verify_members({"notes.txt": text.encode()}, secrets=[])
    assert kind in {leak.kind for leak in leaks}, leaks
    scrubbed = scan.scrub(text, lambda value, k: "[REDACTED:00000000]")
    assert scan.find(scrubbed) == [], scrubbed  # what the check finds, the redaction replaces
    assert not verify_members({"notes.txt": scrubbed.encode()}, secrets=[])


@pytest.mark.parametrize(
    "text",
    [
        "Cookie: [REDACTED:1a2b3c4d]",
        "Cookie: sid=[REDACTED:1a2b3c4d]; theme=[REDACTED:5e6f7a8b]",
        '{"name": "Cookie", "value": "[REDACTED:1a2b3c4d]"}',
        "password=\\[REDACTED:1a2b3c4d\\]",  # Markdown escapes the brackets
        "run tsk_602253499937510590 step stp_602253577246922026 artifact a_602253603016725860",
        "order 4242424242424241 (not a card: the Luhn check fails) at 1764370283123 ms",
        '{"autocomplete": "current-password", "type": "password", "value": "***************"}',
        "no cookie or authorization value is shown; password fields are masked",
    ],
)
def test_the_final_check_passes_what_is_already_safe(text: str):
    assert verify_members({"notes.txt": text.encode()}, secrets=[]) == []


def test_an_image_the_masking_did_not_produce_is_refused():
    png = (FIXTURES / "recorded" / "modal" / "files").glob("*screenshot_llm*")
    data = next(png).read_bytes()
    leaks = verify_members({"shot.png": data}, secrets=[], cleared_images=set())
    assert [leak.kind for leak in leaks] == ["image"]
    body = b"tEXtComment\x00hunter2-Secret!"
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    text_chunk = data[:33] + chunk + data[33:]  # after the IHDR chunk
    leaks = verify_members({"shot.png": text_chunk}, [Secret("hunter2-Secret!", "password")], cleared_images=None)
    assert [leak.kind for leak in leaks] == ["password"]  # PNG text chunks are searched like text


def _send_keys_run(tmp_path: Path) -> Path:
    """checkout_500 with the card number typed by ``send_keys`` (a typing action the outputs used to disagree
    on), the last typing failing so that it is the action the terminal shows."""
    run = tmp_path / "checkout"
    shutil.copytree(FIXTURES / "real" / "checkout_500", run)
    steps = json.loads((run / "steps.json").read_text())
    for step in steps:
        for action, results in (step.get("output") or {}).get("actions_and_results") or []:
            if action.get("element_id") == "AAAG":
                action["action_type"] = "send_keys"
                if step is steps[2]:
                    results[:] = [{"success": False, "exception_type": "FailToClick",
                                   "exception_message": "Failed to type", "stop_execution_on_failure": True}]
    (run / "steps.json").write_text(json.dumps(steps))
    rows = json.loads((run / "actions.json").read_text())
    for row in rows:
        if row.get("element_id") == "AAAG":
            row["action_type"] = "send_keys"
    (run / "actions.json").write_text(json.dumps(rows))
    return run


def test_one_policy_for_terminal_json_html_bundle_and_images(tmp_path: Path, capsys):
    run = _send_keys_run(tmp_path)
    assert main(["triage", str(run), "--no-color", "--no-render"]) == 0
    terminal = capsys.readouterr().out
    assert main(["triage", str(run), "--json", "--no-render"]) == 0
    doc = json.loads(capsys.readouterr().out)
    report, ticket = tmp_path / "r.html", tmp_path / "t.zip"
    assert main(["report", str(run), "-o", str(report), "--quiet"]) == 0
    assert main(["bundle", str(run), "-o", str(ticket), "--quiet"]) == 0
    archive = zipfile.ZipFile(ticket)
    html = report.read_text()
    texts = {"terminal": terminal, "json": json.dumps(doc), "html": html}
    texts.update({name: archive.read(name).decode("utf-8", "replace") for name in archive.namelist()})
    for where, text in texts.items():
        assert CARD not in re.sub(r"[ -]", "", text), f"the card number is readable in {where}"
    typed = [a["text"] for s in doc["steps"] for a in s["actions"] if a["element_id"] == "AAAG"]
    assert len(typed) == 3 and all(SHOWN.fullmatch(t) for t in typed), typed  # shown the one way everywhere
    assert SHOWN.search(terminal.replace("\n", " ")) and SHOWN.search(html)
    manifest = json.loads(archive.read("manifest.json"))
    decisive = [s for s in manifest["screenshots"] if s["step_id"] == "stp_602253577246922026"]
    assert decisive and all(s["outcome"] == "masked" and "the card field AAAG" in s["fields"] for s in decisive)
    images = [archive.read(n) for n in archive.namelist() if n.endswith(".png")]
    assert images and not any(reads(text, CARD) for text in ocr_all(images))

"""Shape rules: what the final check finds without being told the value, the redaction replaces."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from debugkit.redaction import scan
from debugkit.redaction.collect import Secret
from debugkit.redaction.verify import verify_members

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


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

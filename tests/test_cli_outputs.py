"""``report``, ``bundle`` and ``annotate`` as a user runs them, from a folder and from a run id."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from PIL import Image

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SKYVERN_", "DEBUGKIT_"))}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "debugkit", *args], capture_output=True, text=True,
                          timeout=180, env=environ)


def test_report_from_a_folder_names_the_verdict(tmp_path: Path):
    out = tmp_path / "r.html"
    done = run_cli("report", str(FIXTURES / "runs" / "hallucinated_id"), "-o", str(out))
    assert done.returncode == 0, done.stderr
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") or html.lower().startswith("<!doctype html>")
    assert "element_missing" in html and "xQ7z" in html
    assert "Content-Security-Policy" in html


def test_report_of_a_run_id_fetches_it_first(skyvern_server, tmp_path: Path):
    out = tmp_path / "r.html"
    env = {"SKYVERN_BASE_URL": skyvern_server.base_url, "SKYVERN_API_KEY": skyvern_server.api_key,
           "DEBUGKIT_CACHE_DIR": str(tmp_path / "cache")}
    done = run_cli("report", skyvern_server.names["real/checkout_500"], "-o", str(out), "--no-render", env=env)
    assert done.returncode == 0, done.stderr
    assert "site_server_error" in out.read_text()
    assert skyvern_server.api_key not in out.read_text() and skyvern_server.api_key not in done.stderr


def test_bundle_of_a_run_id(skyvern_server, tmp_path: Path):
    out = tmp_path / "t.zip"
    env = {"SKYVERN_BASE_URL": skyvern_server.base_url, "SKYVERN_API_KEY": skyvern_server.api_key,
           "DEBUGKIT_CACHE_DIR": str(tmp_path / "cache")}
    done = run_cli("bundle", skyvern_server.names["runs/login_401"], "-o", str(out), "--no-render", env=env)
    assert done.returncode == 0, done.stderr
    archive = zipfile.ZipFile(out)
    secrets = json.loads((FIXTURES / "runs" / "login_401" / "expected.json").read_text())["secrets"]
    for name in archive.namelist():
        data = archive.read(name)
        assert skyvern_server.api_key.encode() not in data
        assert all(value.encode() not in data for value in secrets.values()), name


def test_annotate_writes_numbered_screenshots(tmp_path: Path):
    out = tmp_path / "pictures"
    done = run_cli("annotate", str(FIXTURES / "real" / "checkout_500"), "--step", "2", "-o", str(out))
    assert done.returncode == 0, done.stderr
    written = [Path(line) for line in done.stdout.split()]
    assert written and all(p.is_file() for p in written)
    original = next((FIXTURES / "real" / "checkout_500" / "artifact_files").glob("*__screenshot_llm__*"))
    with Image.open(written[0]) as drawn, Image.open(original) as plain:
        assert drawn.size == plain.size
    assert "AAAH" in done.stderr  # where each chosen element was


def test_annotate_unknown_step_is_a_usage_error(tmp_path: Path):
    done = run_cli("annotate", str(FIXTURES / "real" / "checkout_500"), "--step", "7", "-o", str(tmp_path))
    assert done.returncode == 2 and "no step" in done.stderr and len(done.stderr.strip().splitlines()) == 1

"""Which browser re-renders scrapes: $DEBUGKIT_CHROMIUM, else Debian's headless shell when installed, else chromium."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from debugkit.locate import render


def _executable(path: Path) -> str:
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_the_variable_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "HEADLESS_SHELL", _executable(tmp_path / "shell"))
    monkeypatch.setenv(render.CHROMIUM_ENV, "/opt/my-chromium")
    assert render.chromium_path() == "/opt/my-chromium"


def test_the_headless_shell_when_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shell = _executable(tmp_path / "shell")
    monkeypatch.setattr(render, "HEADLESS_SHELL", shell)
    monkeypatch.delenv(render.CHROMIUM_ENV, raising=False)
    assert render.chromium_path() == shell


def test_chromium_without_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(render.CHROMIUM_ENV, raising=False)
    monkeypatch.setattr(render, "HEADLESS_SHELL", str(tmp_path / "absent"))
    assert render.chromium_path() == render.DEFAULT_CHROMIUM
    (tmp_path / "not-executable").write_text("")
    monkeypatch.setattr(render, "HEADLESS_SHELL", str(tmp_path / "not-executable"))
    assert render.chromium_path() == render.DEFAULT_CHROMIUM


def test_scrapes_render_without_playwright() -> None:
    """Chromium is driven over its own DevTools pipe: a scrape renders in a process where Playwright cannot be
    imported, and no Node.js process is started for it."""
    import subprocess
    import sys

    try:  # tests/ on sys.path (pytest's default rootdir-less import), or tests/ as a package
        from browser import require_browser
    except ImportError:  # pragma: no cover
        from tests.browser import require_browser

    require_browser()
    code = """
import sys
sys.modules["playwright"] = None  # import playwright now fails
from debugkit.locate import render
html = '<html><body><button unique_id="AAAB" style="margin:40px;width:120px">Go</button></body></html>'
result = render.measure_scrape(html, "https://shop.example/", (800, 600))
print(result.elements["AAAB"].box, len(result.image or b""), "playwright" in sys.modules and sys.modules["playwright"])
render.shutdown()
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    box, size, imported = out.stdout.strip().rsplit(" ", 2)
    assert box.startswith("(48.0, 48.0, 120.0")  # the body's margin (8) and its own (40)
    assert int(size) > 1000 and imported == "None"

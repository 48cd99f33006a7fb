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


def test_a_missing_playwright_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Told without importing it (the renderer imports the API it uses when it starts)."""
    real = render.importlib.util.find_spec
    monkeypatch.setattr(
        render.importlib.util, "find_spec", lambda name, *a: None if name == "playwright" else real(name, *a)
    )
    reason = render.unavailable_reason(_executable(tmp_path / "chromium"))
    assert reason is not None and "playwright package is not installed" in reason


def test_the_driver_keeps_its_compiled_code_in_the_cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Playwright's Node.js driver is started with $NODE_COMPILE_CACHE in debugkit's cache folder, unless it is set."""
    monkeypatch.setenv("DEBUGKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(render.NODE_CACHE_ENV, raising=False)
    render._node_compile_cache()
    folder = tmp_path / "cache" / "node-compile-cache"
    assert folder.is_dir() and render.os.environ[render.NODE_CACHE_ENV] == str(folder)
    monkeypatch.setenv(render.NODE_CACHE_ENV, "/elsewhere")
    render._node_compile_cache()
    assert render.os.environ[render.NODE_CACHE_ENV] == "/elsewhere"
    monkeypatch.delenv(render.NODE_CACHE_ENV)
    monkeypatch.setenv("DEBUGKIT_CACHE_DIR", str(_executable(tmp_path / "a-file")))  # not a folder: left unset
    render._node_compile_cache()
    assert render.NODE_CACHE_ENV not in render.os.environ

"""The ``debugkit`` command as a user runs it: exit codes, stdout, stderr."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REAL = FIXTURES / "real"


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "debugkit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "120", **(env or {})},
    )


def test_console_script_is_installed():
    exe = shutil.which("debugkit", path=str(Path(sys.executable).parent))
    assert exe, "pip install should put the debugkit command beside python"
    done = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("debugkit ")


def test_json_is_the_only_thing_on_stdout():
    done = run_cli("triage", str(REAL / "checkout_500"), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)  # nothing else on stdout
    assert doc["schema"] == "debugkit.triage/1"
    assert doc["run"]["run_id"] == "tsk_602253499937510590"
    assert doc["verdict"]["cause"] == "site_server_error"
    failures = [f for f in doc["network_failures"] if f["url"].endswith("/api/order")]
    assert [f["status"] for f in failures] == [500, 500, 500]
    assert all(f["action_index"] == 2 for f in failures)  # each is the "Place order" click's


def test_terminal_triage_of_a_real_hallucinated_id():
    done = run_cli("triage", str(REAL / "hallucinated_element"))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "element_missing" in out
    assert "Failing action" in out and "xQ7z" in out and "NOT FOUND" in out
    assert "\x1b[" not in out  # not a terminal: no colours
    assert done.stderr == ""


def test_no_color_flag_even_when_forced():
    done = run_cli("triage", str(REAL / "success"), "--no-color", env={"FORCE_COLOR": "1"})
    assert done.returncode == 0
    assert "\x1b[3" not in done.stdout  # no colour codes
    assert "completed" in done.stdout


@pytest.mark.parametrize("name", ["success", "checkout_500", "hallucinated_element"])
def test_real_runs_read_cleanly_in_every_source_form(name: str):
    forms = [REAL / name, REAL / name / "local_storage", *sorted((REAL / name / "local_storage").glob("o_*/tsk_*"))]
    for form in forms:
        done = run_cli("triage", str(form), "--json")
        assert done.returncode == 0, (form, done.stderr)
        doc = json.loads(done.stdout)
        assert doc["problems"] == [], (form, doc["problems"])
        assert doc["missing_artifacts"] == [], (form, doc["missing_artifacts"])
        assert doc["steps"], form


def test_step_focus_from_the_command_line():
    done = run_cli("triage", str(REAL / "checkout_500"), "--step", "1", "--json")
    doc = json.loads(done.stdout)
    assert [s["order"] for s in doc["steps"]] == [1]
    assert all(f["step_id"] == doc["focus"]["step_id"] for f in doc["network_failures"])
    assert len(doc["network_failures"]) == 1


def test_unknown_step_is_a_usage_error():
    done = run_cli("triage", str(REAL / "checkout_500"), "--step", "9.9")
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no step '9.9'" in lines[0] and "stp_" in lines[0]


@pytest.mark.parametrize(
    "make",
    [
        lambda tmp: tmp / "does-not-exist",
        lambda tmp: tmp,  # an empty folder
        lambda tmp: _write(tmp / "notes.txt", b"hello"),
        lambda tmp: _write(tmp / "broken.zip", b"PK\x03\x04 this is not a zip"),
    ],
    ids=["missing-path", "empty-folder", "plain-file", "broken-zip"],
)
def test_unreadable_source_is_one_line_and_exit_2(tmp_path: Path, make):
    source = make(tmp_path)
    done = run_cli("triage", str(source))
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("debugkit: error: ")
    assert "Traceback" not in done.stderr


def test_bad_usage_exits_2():
    done = run_cli("triage")
    assert done.returncode == 2 and "SOURCE" in done.stderr
    done = run_cli("frobnicate")
    assert done.returncode == 2


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_page_text_cannot_inject_terminal_markup_or_escapes(tmp_path: Path):
    run = tmp_path / "run"
    shutil.copytree(FIXTURES / "runs" / "site_500_submit", run)
    hostile = "[bold red]pwn[/bold red] \x1b[2J\x1b]8;;http://evil/\x07x"
    for tree in (run / "files").glob("*__visible_elements_tree__*"):
        doc = json.loads(tree.read_text())
        for node in doc:
            if node.get("id") == "AAAH":
                node["text"] = hostile
        tree.write_text(json.dumps(doc))
    done = run_cli("triage", str(run), env={"FORCE_COLOR": "1", "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert "[bold red]pwn[/bold red]" in done.stdout  # shown literally, not interpreted
    assert "\x1b[2J" not in done.stdout and "\x1b]8;;http://evil" not in done.stdout
    assert "\\x1b[2J" in done.stdout  # control characters are made visible instead


@pytest.mark.parametrize("run", ["runs/results_502_disabled", "real/checkout_500", "runs/overlay_fallback"])
def test_the_first_screen_speaks_the_cause_then_its_chain_then_the_decisive_action(run: str):
    done = run_cli("triage", str(FIXTURES / run), "--no-render", env={"LINES": "50"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    doc = json.loads(run_cli("triage", str(FIXTURES / run), "--json", "--no-render").stdout)
    first_screen = "\n".join(lines[:50])
    cause, chain = doc["verdict"]["cause"], doc["verdict"]["chain"]
    assert "Cause" in lines[1] and cause in lines[1]  # the first thing under the title
    at = {name: first_screen.find(name) for name in ("Cause", "Chain", "action ─")}
    assert -1 not in at.values() and at["Cause"] < at["Chain"] < at["action ─"], at
    assert first_screen.find("Run ─") > at["action ─"]  # the run's details come after
    assert f"{len(chain)}. " in first_screen  # every link of the chain
    assert "Step 0.0" not in done.stdout  # step tables only with --steps
    assert lines[-1].startswith(f"Verdict: {cause}")  # and it ends with the verdict in one line
    with_steps = run_cli("triage", str(FIXTURES / run), "--no-render", "--steps")
    assert "Step 0.0" in with_steps.stdout

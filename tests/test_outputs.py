"""Where commands write: never inside or over the source, whole or not at all, one line when they cannot."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_fetch import cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def debugkit(*args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SKYVERN_", "DEBUGKIT_"))}
    return subprocess.run([sys.executable, "-m", "debugkit", *args], capture_output=True, text=True, timeout=180,
                          env=environ)


def digest(folder: Path) -> str:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return hashlib.sha256(b"".join(p.name.encode() + p.read_bytes() for p in files)).hexdigest()


@pytest.fixture()
def run(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    shutil.copytree(FIXTURES / "runs" / "site_500_submit", folder)
    return folder


@pytest.mark.parametrize(
    ("command", "target"),
    [
        ("report", "run.json"),
        ("report", "files/new.html"),
        ("bundle", "steps.json"),
        ("bundle", "ticket.zip"),
        ("annotate", "files"),
    ],
)
def test_never_writes_inside_or_over_the_source(run: Path, command: str, target: str):
    before = digest(run)
    extra = ["--step", "2"] if command == "annotate" else []
    done = debugkit(command, str(run), "-o", str(run / target), "--no-render", *extra)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "inside the source" in lines[0]
    assert digest(run) == before


def test_nor_over_a_zip_source_through_a_link(tmp_path: Path):
    archive = tmp_path / "step_archive.zip"
    shutil.copy(FIXTURES / "archives" / "step_archive.zip", archive)
    (tmp_path / "out.zip").symlink_to(archive)
    before = archive.read_bytes()
    done = debugkit("bundle", str(archive), "-o", str(tmp_path / "out.zip"), "--no-render")
    assert done.returncode == 2 and "inside the source" in done.stderr
    assert archive.read_bytes() == before


@pytest.mark.parametrize(
    ("command", "extra"),
    [("report", []), ("bundle", []), ("annotate", ["--step", "2"]), ("fetch", [])],
)
def test_a_missing_parent_folder_is_the_same_error_for_every_command(run: Path, tmp_path: Path, command, extra):
    target = tmp_path / "no" / "such" / "folder" / "out"
    source = "tsk_1" if command == "fetch" else str(run)
    done = debugkit(command, source, "-o", str(target), "--no-render", *extra) if command != "fetch" else \
        debugkit("fetch", source, "-o", str(target))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"the folder {target.parent} does not exist" in lines[0]
    assert not (tmp_path / "no").exists()


def test_an_existing_output_is_replaced_atomically(tmp_path: Path):
    """The new file is renamed over the old one: another name for the old file (a hard link, a reader that
    has it open) keeps the old content whole, never a half-written mix."""
    run = FIXTURES / "runs" / "hallucinated_id"  # no secret field: every screenshot is drawn
    for command, output, extra in (
        ("report", tmp_path / "r.html", []),
        ("bundle", tmp_path / "t.zip", []),
        ("annotate", tmp_path / "pictures", ["--step", "2"]),
    ):
        first = debugkit(command, str(run), "-o", str(output), "--no-render", *extra)
        assert first.returncode == 0, first.stderr
        written = sorted(output.iterdir()) if output.is_dir() else [output]
        links = []
        for path in written:
            link = tmp_path / f"old-{path.name}"
            os.link(path, link)
            links.append((link, path.read_bytes()))
        again = debugkit(command, str(run), "-o", str(output), "--no-render", *extra)
        assert again.returncode == 0, again.stderr
        for (link, old), path in zip(links, written, strict=True):
            assert link.read_bytes() == old  # the old inode was not written into
            assert os.stat(link).st_ino != os.stat(path).st_ino
        leftovers = [p.name for p in output.parent.iterdir() if p.name.startswith(".")]
        assert not leftovers, leftovers


def test_a_permission_problem_is_one_line_and_exit_2(run: Path):
    if not os.path.isdir("/sys"):
        pytest.skip("needs /sys, where nobody (root included) may create files")
    for command in ("report", "bundle"):
        done = debugkit(command, str(run), "-o", "/sys/debugkit-out", "--no-render")
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot write /sys/debugkit-out" in lines[0] and "internal error" not in lines[0]


def test_fetch_into_a_folder_it_may_not_write_is_one_line_and_exit_2(skyvern_server):
    if not os.path.isdir("/sys"):
        pytest.skip("needs /sys, where nobody (root included) may create files")
    done = cli(skyvern_server, "fetch", skyvern_server.names["real/success"], "-o", "/sys/debugkit-run")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write /sys/debugkit-run" in lines[0]

"""Sources read regular files only, and the bundle copies nothing over its caps."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

import debugkit.report.bundle_members as bundle_members
from debugkit.cli import main
from debugkit.load import load_run
from debugkit.sources import open_source
from debugkit.sources.zipsafe import SafeZip

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DECISIVE = "stp_602253577246922026"  # checkout_500's last step with actions
LOCAL_HOST_FILE = "LOCAL-FILE-NOT-FOR-TICKETS-7f3a"


@pytest.fixture()
def checkout(tmp_path: Path) -> Path:
    run = tmp_path / "checkout"
    shutil.copytree(FIXTURES / "real" / "checkout_500", run)
    return run


def artifact_file(run: Path, artifact_type: str, step_id: str = DECISIVE) -> Path:
    rows = json.loads((run / "artifacts.json").read_text())
    wanted = next(r["artifact_id"] for r in rows if r["artifact_type"] == artifact_type and r["step_id"] == step_id)
    return next((run / "artifact_files").glob(f"{wanted}__*"))


def local_file(tmp_path: Path) -> Path:
    """A local file outside the run (think /etc/hostname)."""
    path = tmp_path / "outside" / "hostname"
    path.parent.mkdir(exist_ok=True)
    path.write_text(LOCAL_HOST_FILE + "\n")
    return path


def triage_json(source: Path) -> dict:
    done = subprocess.run([sys.executable, "-m", "debugkit", "triage", str(source), "--json", "--no-render"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def bundle_text(source: Path, out: Path) -> tuple[zipfile.ZipFile, bytes]:
    assert main(["bundle", str(source), "-o", str(out), "--no-render", "--quiet"]) == 0
    archive = zipfile.ZipFile(out)
    return archive, b"".join(archive.read(n) for n in archive.namelist())


def test_a_symlink_in_a_run_folder_ships_no_local_file(checkout: Path, tmp_path: Path):
    prompt = artifact_file(checkout, "llm_prompt")
    prompt.unlink()
    prompt.symlink_to(local_file(tmp_path))
    archive, everything = bundle_text(checkout, tmp_path / "t.zip")
    assert LOCAL_HOST_FILE.encode() not in everything
    left_out = json.loads(archive.read("manifest.json"))["left_out"]
    assert any(i["artifact_type"] == "llm_prompt" and "symbolic link" in i["reason"] for i in left_out)
    tree = artifact_file(checkout, "visible_elements_tree")
    tree.unlink()
    tree.symlink_to(local_file(tmp_path))
    problems = triage_json(checkout)["problems"]
    refused = [p for p in problems if p["kind"] == "refused" and "symbolic link" in p["detail"]]
    assert [p["artifact_type"] for p in refused] == ["visible_elements_tree"]


def test_a_linked_files_folder_is_not_entered(checkout: Path, tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    shutil.move(str(checkout / "artifact_files"), elsewhere)
    (checkout / "artifact_files").symlink_to(elsewhere, target_is_directory=True)
    doc = triage_json(checkout)
    assert any(p["kind"] == "refused" and "artifact_files" in p["detail"] for p in doc["problems"])
    assert doc["missing_artifacts"]  # nothing was read through the link


def test_a_fifo_in_a_run_folder_is_refused_without_blocking(checkout: Path):
    tree = artifact_file(checkout, "visible_elements_tree")
    tree.unlink()
    os.mkfifo(tree)
    problems = triage_json(checkout)["problems"]  # a blocking read would time out here
    assert any(p["kind"] == "refused" and "named pipe" in p["detail"] for p in problems)


def test_links_in_a_storage_tree_are_refused(tmp_path: Path):
    root = tmp_path / "storage"
    shutil.copytree(FIXTURES / "local_storage", root)
    task = next(root.glob("o_*/tsk_*"))
    step = sorted(task.glob("0*_0_stp_*"))[-1]
    target = next(step.glob("*_llm_prompt.txt"))
    target.unlink()
    target.symlink_to(local_file(tmp_path))
    outside = tmp_path / "outside_step"
    outside.mkdir()
    (outside / f"2026-10-07T14:10:00.000000_a_{'9' * 18}_llm_prompt.txt").write_text(LOCAL_HOST_FILE)
    (task / "03_0_stp_582840899999999999").symlink_to(outside, target_is_directory=True)
    problems = triage_json(task)["problems"]
    assert any("03_0_stp_582840899999999999" in p["detail"] and "symbolic link" in p["detail"] for p in problems)
    _, everything = bundle_text(task, tmp_path / "t.zip")
    assert LOCAL_HOST_FILE.encode() not in everything


def test_a_symlink_member_of_a_zip_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        info = zipfile.ZipInfo("screenshot_llm_0.png")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/hostname")
        archive.writestr("scrape.html", "<html></html>")
    safe = SafeZip.open(out.getvalue(), "step.zip")
    assert safe.refused == {"screenshot_llm_0.png": "a symbolic link"}
    assert safe.names() == ["scrape.html"]


def _png_bomb() -> bytes:
    """A PNG whose header claims 100000x100000 pixels (its data is a few rows of zeros)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 1, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * (1 + 12_500) * 8)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def test_a_png_bomb_is_not_copied_into_the_bundle(checkout: Path, tmp_path: Path):
    shot = artifact_file(checkout, "screenshot_llm")
    bomb = _png_bomb()
    shot.write_bytes(bomb)
    archive, _ = bundle_text(checkout, tmp_path / "t.zip")
    assert all(archive.read(n) != bomb for n in archive.namelist())
    assert load_run(open_source(checkout)).steps  # the rest still reads
    manifest = json.loads(archive.read("manifest.json"))
    assert any("too large" in p["detail"] for p in manifest["unavailable_artifacts"])


def test_members_over_the_cap_are_left_out(checkout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A damaged HAR of 200 MB would go straight into the ticket: the per-member cap applies to what is copied."""
    monkeypatch.setattr(bundle_members, "MAX_MEMBER_BYTES", 64_000)
    har = next((checkout / "artifact_files").glob("*__har__*"))
    har.write_bytes(har.read_bytes()[:-200] + b"\x00garbage" * 10_000)  # damaged, and over the (lowered) cap
    archive, _ = bundle_text(checkout, tmp_path / "t.zip")
    assert "network.har" not in archive.namelist()
    left_out = json.loads(archive.read("manifest.json"))["left_out"]
    assert any(i["name"] == "network.har" and "cap" in i["reason"] for i in left_out)

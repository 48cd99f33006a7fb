"""Tests of debugkit.sources: run folders, storage trees, archives, ZIP safety (no network)."""

from __future__ import annotations

import collections
import hashlib
import io
import json
import shutil
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest
import zstandard

from debugkit.errors import SourceError
from debugkit.model import ArtifactRef, ArtifactUnavailable, RawRun
from debugkit.sources import open_source, zipsafe
from debugkit.sources.archive import member_type
from debugkit.sources.zipsafe import SafeZip, read_capped, unsafe_member_name

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real"
RUNS = ["success", "checkout_500", "hallucinated_element"]
LOG_TYPES = {"skyvern_log", "skyvern_log_raw"}

# --- helpers ------------------------------------------------------------------------------------


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


def _rows(run: str) -> list[dict[str, Any]]:
    return _json(REAL / run / "artifacts.json")


def _types(refs: list[ArtifactRef]) -> collections.Counter[str]:
    return collections.Counter(ref.artifact_type for ref in refs)


def _task_dir(run: str) -> Path:
    return next((REAL / run / "local_storage").glob("o_*/tsk_*"))


def _step_dirs(run: str) -> list[Path]:
    return sorted(p for p in _task_dir(run).iterdir() if p.is_dir())


def _read_all(raw: RawRun) -> dict[str, bytes]:
    """Read every ref (failing the test on any ArtifactUnavailable); artifact_id -> bytes."""
    out = {}
    for ref in raw.artifacts:
        data = ref.read()
        assert isinstance(data, bytes)
        out[ref.artifact_id or f"{ref.step_id}/{ref.name}"] = data
    return out


def _copy_run(run: str, dest: Path) -> Path:
    """A copy of a real run folder without its storage tree and fake-LLM records."""
    target = dest / run
    shutil.copytree(REAL / run, target, ignore=shutil.ignore_patterns("local_storage", "fake_llm_exchanges"))
    return target


def _digest(raw: RawRun) -> set[tuple[Any, ...]]:
    return {
        (ref.artifact_type, ref.step_id, ref.artifact_id, hashlib.sha256(ref.read()).hexdigest())
        for ref in raw.artifacts
    }


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _zip_raw_names(path: Path, members: dict[str, bytes]) -> Path:
    """A ZIP whose member names are written verbatim (zipfile would not sanitise them anyway)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return path


# --- real runs as run folders ---------------------------------------------------------------------


@pytest.mark.parametrize("run", RUNS)
def test_real_run_folder(run: str) -> None:
    raw = open_source(REAL / run)
    assert raw.kind == "run_folder"
    assert raw.problems == []
    assert raw.steps_from_api is True
    assert [s["step_id"] for s in raw.steps] == [s["step_id"] for s in _json(REAL / run / "steps.json")]
    assert raw.run and raw.run["run_id"] == _json(REAL / run / "run.json")["run_id"]
    assert len(raw.tasks) == 1 and raw.tasks[0]["task_id"] == raw.run["run_id"]
    assert raw.actions == _json(REAL / run / "actions.json")
    rows = _rows(run)
    assert _types(raw.artifacts) == collections.Counter(r["artifact_type"] for r in rows)
    by_id = {r["artifact_id"]: r for r in rows}
    data = _read_all(raw)
    for ref in raw.artifacts:
        row = by_id[ref.artifact_id]
        assert (ref.step_id, ref.task_id) == (row["step_id"], row["task_id"])
        assert ref.created_at is not None and ref.created_at.tzinfo is not None
        assert ref.index is None and ref.archived is False
        file = next((REAL / run / "artifact_files").glob(f"{ref.artifact_id}__*"))
        assert data[ref.artifact_id] == file.read_bytes()


# --- real runs as storage trees -----------------------------------------------------------------


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("level", ["storage", "org", "task"])
def test_real_local_storage(run: str, level: str) -> None:
    task_dir = _task_dir(run)
    root = {"storage": task_dir.parent.parent, "org": task_dir.parent, "task": task_dir}[level]
    raw = open_source(root)
    assert raw.kind == "local_storage"
    assert raw.problems == []
    assert raw.steps_from_api is False
    folders = [p.name for p in _step_dirs(run)]
    assert [f"{s['order']:02d}_{s['retry_index']}_{s['step_id']}" for s in raw.steps] == folders
    assert {s["task_id"] for s in raw.steps} == {task_dir.name}
    # every artifacts.json row is found, except the logs of the last (canceled) step, which has no
    # step folder: its step is unknown without steps.json
    folder_steps = {s["step_id"] for s in raw.steps}
    expected = [r for r in _rows(run) if r["artifact_type"] not in LOG_TYPES or r["step_id"] in folder_steps]
    assert _types(raw.artifacts) == _types_of_rows(expected)
    folder_data = _read_all(open_source(REAL / run))
    for artifact_id, data in _read_all(raw).items():
        if artifact_id.startswith("a_"):
            assert data == folder_data[artifact_id]
    rows = {r["artifact_id"]: r for r in _rows(run)}
    for ref in raw.artifacts:
        assert ref.created_at is not None
        if ref.artifact_id:
            assert ref.step_id == rows[ref.artifact_id]["step_id"]


def _types_of_rows(rows: list[dict[str, Any]]) -> collections.Counter[str]:
    return collections.Counter(r["artifact_type"] for r in rows)


def test_checkout_500_steps_and_har_from_folders() -> None:
    raw = open_source(_task_dir("checkout_500"))
    assert [(s["order"], s["retry_index"], s["step_id"]) for s in raw.steps] == [
        (0, 0, "stp_602253499937510594"),
        (1, 0, "stp_602253551477118194"),
        (2, 0, "stp_602253577246922026"),
    ]
    (har,) = [ref for ref in raw.artifacts if ref.artifact_type == "har"]
    assert har.step_id == "stp_602253577246922026"
    assert json.loads(har.read())["log"]["entries"]


def test_recording_prefers_non_empty_mp4_over_empty_webm() -> None:
    task_dir = _task_dir("checkout_500")
    assert any(p.suffix == ".webm" and p.stat().st_size == 0 for p in task_dir.glob("00_0_*/*recording*"))
    (rec,) = [ref for ref in open_source(task_dir).artifacts if ref.artifact_type == "recording"]
    assert rec.name.endswith(".mp4") and len(rec.read()) > 0


@pytest.mark.parametrize("run", RUNS)
def test_single_step_folder(run: str) -> None:
    for step_dir in _step_dirs(run):
        raw = open_source(step_dir)
        (step,) = raw.steps
        assert f"{step['order']:02d}_{step['retry_index']}_{step['step_id']}" == step_dir.name
        assert raw.problems == []
        assert {ref.step_id for ref in raw.artifacts} == {step["step_id"]}
        assert set(_types(raw.artifacts)) >= LOG_TYPES  # logs/step/<id>/ above the storage root
        _read_all(raw)


def test_local_storage_uses_steps_json_beside_task_folder(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    shutil.copytree(REAL / "checkout_500" / "local_storage", storage)
    org = next(storage.glob("o_*"))
    for name in ("steps.json", "actions.json", "run.json", "task.json"):
        shutil.copy(REAL / "checkout_500" / name, org / name)
    raw = open_source(org)
    assert raw.steps_from_api is True
    assert [s["status"] for s in raw.steps] == ["completed", "completed", "completed", "canceled"]
    assert raw.run and raw.actions and raw.tasks
    assert raw.problems == []
    # with the canceled step known, its logs are found too: every row is there
    assert _types(raw.artifacts) == _types_of_rows(_rows("checkout_500"))


def test_single_step_folder_with_steps_json_keeps_that_step(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    shutil.copytree(REAL / "checkout_500" / "local_storage", storage)
    org = next(storage.glob("o_*"))
    shutil.copy(REAL / "checkout_500" / "steps.json", org / "steps.json")
    step_dir = next(org.glob("tsk_*/01_0_*"))
    raw = open_source(step_dir)
    assert raw.steps_from_api and [s["step_id"] for s in raw.steps] == ["stp_602253551477118194"]
    assert raw.steps[0]["status"] == "completed" and raw.problems == []


def test_local_storage_ignores_steps_json_of_another_task(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    shutil.copytree(REAL / "checkout_500" / "local_storage", storage)
    shutil.copy(REAL / "success" / "steps.json", storage / "steps.json")
    raw = open_source(storage)
    assert raw.steps_from_api is False and len(raw.steps) == 3
    assert [p.kind for p in raw.problems] == ["skipped"] and "steps.json" in raw.problems[0].detail


# --- bundled mode -----------------------------------------------------------------------------

FIXED_NAMES = {
    "html_scrape": "scrape.html",
    "visible_elements_id_css_map": "id_css_map.json",
    "visible_elements_id_frame_map": "id_frame_map.json",
    "visible_elements_tree": "element_tree.json",
    "visible_elements_tree_trimmed": "element_tree_trimmed.json",
    "visible_elements_tree_in_prompt": "element_tree_in_prompt.txt",
}
INDEXED_EXT = {
    "llm_prompt": "txt",
    "llm_request": "json",
    "llm_response": "json",
    "llm_response_parsed": "json",
    "screenshot_llm": "png",
    "screenshot_action": "png",
    "html_action": "html",
}
TASK_NAMES = {"har": "har.har", "browser_console_log": "browser_console.log"}


def _bundle_key(row: dict[str, Any], counters: collections.Counter[tuple[str, str]]) -> str | None:
    kind = row["artifact_type"]
    if kind in FIXED_NAMES:
        return FIXED_NAMES[kind]
    if kind in TASK_NAMES:
        return TASK_NAMES[kind]
    if kind in INDEXED_EXT:
        n = counters[(row["step_id"], kind)]
        counters[(row["step_id"], kind)] += 1
        return f"{kind}_{n}.{INDEXED_EXT[kind]}"
    return None


def _make_bundled(run: str, dest: Path) -> Path:
    """Rewrite a copy of a real run folder as Skyvern's bundled mode would have stored it."""
    folder = _copy_run(run, dest)
    rows = _json(folder / "artifacts.json")
    files = folder / "artifact_files"
    (folder / "files").mkdir()
    counters: collections.Counter[tuple[str, str]] = collections.Counter()
    archives: dict[tuple[str, str], dict[str, Any]] = {}
    out = []
    for row in rows:
        key = _bundle_key(row, counters)
        if key is None:
            out.append(row)
            continue
        kind = "task_archive" if row["artifact_type"] in TASK_NAMES else "step_archive"
        parent = archives.get((kind, row["step_id"]))
        if parent is None:
            parent_id = f"a_9{len(archives):017d}"
            uri = f"file:///x/{row['task_id']}/{row['step_id']}/2026-11-28T00:00:00_{parent_id}_{kind}.zip"
            parent = {**row, "artifact_id": parent_id, "artifact_type": kind, "uri": uri, "members": {}}
            archives[(kind, row["step_id"])] = parent
        source = next(files.glob(f"{row['artifact_id']}__*"))
        parent["members"][key] = source.read_bytes()
        source.unlink()
        out.append({**row, "uri": parent["uri"], "bundle_key": key, "file_size": None})
    for parent in archives.values():
        members = parent.pop("members")
        name = parent["uri"].rsplit("/", 1)[1]
        _zip(folder / "files" / f"{parent['artifact_id']}__{parent['artifact_type']}__{name}", members)
        out.append({**parent, "bundle_key": None, "file_size": None})
    (folder / "artifacts.json").write_text(json.dumps(out))
    return folder


@pytest.mark.parametrize("run", RUNS)
def test_bundled_run_folder_reads_identically(run: str, tmp_path: Path) -> None:
    bundled = open_source(_make_bundled(run, tmp_path))
    assert bundled.problems == []
    plain = open_source(REAL / run)
    assert _types(bundled.artifacts) == _types(plain.artifacts)
    assert _digest(bundled) == _digest(plain)
    indexed = [ref for ref in bundled.artifacts if ref.bundle_key and ref.artifact_type in INDEXED_EXT]
    assert indexed and all(ref.index is not None for ref in indexed)
    assert all(ref.index is None for ref in bundled.artifacts if ref.artifact_type in FIXED_NAMES)


def test_run_folder_inside_zip_with_bundled_archives(tmp_path: Path) -> None:
    folder = _make_bundled("checkout_500", tmp_path)
    archive = tmp_path / "run.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, f"checkout_500/{path.relative_to(folder)}")
        zf.writestr("__MACOSX/checkout_500/._run.json", b"")
    raw = open_source(archive)
    assert raw.kind == "archive" and raw.problems == [] and raw.steps_from_api
    assert _digest(raw) == _digest(open_source(REAL / "checkout_500"))


def test_member_served_as_whole_zip_is_extracted(tmp_path: Path) -> None:
    """/content on non-S3 storage returns the whole archive for a bundled member."""
    folder = _make_bundled("success", tmp_path)
    rows = _json(folder / "artifacts.json")
    member = next(r for r in rows if r.get("bundle_key") == "scrape.html")
    parent = next(r for r in rows if r["uri"] == member["uri"] and not r.get("bundle_key"))
    (parent_file,) = (folder / "files").glob(f"{parent['artifact_id']}__*")
    shutil.move(parent_file, folder / "files" / f"{member['artifact_id']}__html_scrape__x.html")
    raw = open_source(folder)
    (scrape,) = [ref for ref in raw.artifacts if ref.artifact_type == "html_scrape"]
    assert scrape.read().lstrip().lower().startswith(b"<")
    other = next(ref for ref in raw.artifacts if ref.artifact_type == "visible_elements_tree")
    with pytest.raises(ArtifactUnavailable) as info:
        other.read()
    assert info.value.kind == "missing" and "not downloaded" in info.value.reason


def test_bundled_local_storage(tmp_path: Path) -> None:
    step = tmp_path / "o_1" / "tsk_5" / "02_1_stp_9"
    step.mkdir(parents=True)
    _zip(
        step / "2026-05-01T09:01:40.5_a_489000000000000770_step_archive.zip",
        {"scrape.html": b"<html/>", "screenshot_llm_2.png": b"png", "llm_response_parsed_0.json": b"{}"},
    )
    _zip(step / "2026-05-01T09:01:45.1_a_489000000000000771_task_archive.zip", {"har.har": b"{}"})
    raw = open_source(tmp_path)
    assert raw.kind == "local_storage" and raw.problems == []
    assert raw.steps == [{"step_id": "stp_9", "task_id": "tsk_5", "order": 2, "retry_index": 1}]
    refs = {ref.artifact_type: ref for ref in raw.artifacts}
    assert set(refs) == {"html_scrape", "screenshot_llm", "llm_response_parsed", "har"}
    assert refs["screenshot_llm"].index == 2 and refs["llm_response_parsed"].index == 0
    assert refs["html_scrape"].index is None
    assert all(ref.step_id == "stp_9" and ref.task_id == "tsk_5" for ref in raw.artifacts)
    assert refs["har"].read() == b"{}" and refs["html_scrape"].created_at is not None


# --- zstd -------------------------------------------------------------------------------------


def test_har_zst_in_local_storage_and_run_folder(tmp_path: Path) -> None:
    har = (next((REAL / "checkout_500" / "artifact_files").glob("*__har__*"))).read_bytes()
    packed = zstandard.ZstdCompressor(level=3).compress(har)
    step = tmp_path / "store" / "tsk_1" / "00_0_stp_1"
    step.mkdir(parents=True)
    (step / "2026-11-28T22:52:43.747687_a_602253899369469628_har.har.zst").write_bytes(packed)
    (ref,) = open_source(tmp_path / "store").artifacts
    assert ref.artifact_type == "har" and ref.read() == har

    folder = _copy_run("checkout_500", tmp_path)
    (old,) = (folder / "artifact_files").glob("*__har__*")
    old.unlink()
    (folder / "artifact_files" / f"{old.name}.zst").write_bytes(packed)
    (ref,) = [r for r in open_source(folder).artifacts if r.artifact_type == "har"]
    assert ref.read() == har


def test_zst_name_without_magic_is_returned_as_is(tmp_path: Path) -> None:
    step = tmp_path / "00_0_stp_1"
    step.mkdir()
    (step / "2026-11-28T22:52:43.747687_a_602253899369469628_har.har.zst").write_bytes(b'{"log": {}}')
    (ref,) = open_source(step).artifacts
    assert ref.read() == b'{"log": {}}'


def test_zstd_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zipsafe, "MAX_MEMBER_BYTES", 1024 * 1024)
    step = tmp_path / "00_0_stp_1"
    step.mkdir()
    packed = zstandard.ZstdCompressor().compress(b"\0" * (3 * 1024 * 1024))
    (step / "2026-11-28T22:52:43.747687_a_602253899369469628_har.har.zst").write_bytes(packed)
    (ref,) = open_source(step).artifacts
    with pytest.raises(ArtifactUnavailable) as info:
        ref.read()
    assert info.value.kind == "refused"


@pytest.mark.parametrize("cut", ["junk", "truncated"])
def test_damaged_zstd_is_unavailable(cut: str, tmp_path: Path) -> None:
    step = tmp_path / "00_0_stp_1"
    step.mkdir()
    packed = zstandard.ZstdCompressor().compress(b"hello world" * 1000)
    data = zipsafe.ZSTD_MAGIC + b"junk" if cut == "junk" else packed[:-5]
    (step / "2026-11-28T22:52:43.747687_a_602253899369469628_har.har.zst").write_bytes(data)
    (ref,) = open_source(step).artifacts
    with pytest.raises(ArtifactUnavailable) as info:
        ref.read()
    assert info.value.kind == "damaged"


def test_zstd_multiple_frames() -> None:
    packed = zstandard.ZstdCompressor().compress(b"a" * 5000) + zstandard.ZstdCompressor().compress(b"b" * 7)
    assert zipsafe.decompress_zstd(packed, "x") == b"a" * 5000 + b"b" * 7


# --- damaged documents ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["run.json", "steps.json", "actions.json", "artifacts.json", "task.json"])
def test_malformed_document_is_a_named_problem(name: str, tmp_path: Path) -> None:
    folder = _copy_run("checkout_500", tmp_path)
    (folder / name).write_text('{"broken": ')
    raw = open_source(folder)
    damaged = [p for p in raw.problems if p.kind == "damaged"]
    assert len(damaged) == 1 and name in damaged[0].detail and "not valid JSON" in damaged[0].detail
    assert (raw.run is None) == (name == "run.json")
    assert (raw.steps == []) == (name == "steps.json")
    assert raw.steps_from_api == (name != "steps.json")
    assert (raw.actions is None) == (name == "actions.json")
    assert (raw.tasks == []) == (name == "task.json")
    # without artifacts.json the refs come from the file names, with no step
    assert _types(raw.artifacts) == _types_of_rows(_rows("checkout_500"))
    if name == "artifacts.json":
        assert all(ref.step_id is None for ref in raw.artifacts)
    _read_all(raw)


def test_wrong_shapes_are_problems(tmp_path: Path) -> None:
    folder = _copy_run("success", tmp_path)
    (folder / "run.json").write_text("[1, 2]")
    (folder / "steps.json").write_text('"steps"')
    rows = _json(folder / "artifacts.json")
    (folder / "artifacts.json").write_text(json.dumps([*rows, 7, {"no": "type"}]))
    raw = open_source(folder)
    details = " | ".join(p.detail for p in raw.problems)
    assert "run.json" in details and "steps.json" in details and "row 34" in details and "row 35" in details
    assert len(raw.artifacts) == len(rows)


def test_steps_json_as_dict_by_task(tmp_path: Path) -> None:
    folder = _copy_run("success", tmp_path)
    steps = _json(folder / "steps.json")
    (folder / "steps.json").write_text(json.dumps({"tsk_602254049693325094": steps}))
    raw = open_source(folder)
    assert raw.steps_from_api and [s["step_id"] for s in raw.steps] == [s["step_id"] for s in steps]


def test_run_and_steps_unreadable_is_an_empty_run(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "run.json").write_text("nope")
    (folder / "steps.json").write_text("nope")
    raw = open_source(folder)
    assert raw.run is None and raw.steps == [] and raw.artifacts == []
    assert sorted(p.detail.split()[0] for p in raw.problems) == ["run.json", "steps.json"]


def test_missing_steps_json_is_reported(tmp_path: Path) -> None:
    folder = _copy_run("success", tmp_path)
    (folder / "steps.json").unlink()
    raw = open_source(folder)
    assert [(p.kind, p.detail) for p in raw.problems] == [("missing", "steps.json not found")]
    assert raw.steps_from_api is False and len(raw.artifacts) == 34


# --- artifact availability ----------------------------------------------------------------------


def test_archived_and_missing_rows(tmp_path: Path) -> None:
    folder = _copy_run("success", tmp_path)
    rows = _json(folder / "artifacts.json")
    rows[0]["archived"] = True
    (folder / "artifacts.json").write_text(json.dumps(rows))
    next((folder / "artifact_files").glob(f"{rows[1]['artifact_id']}__*")).unlink()
    raw = open_source(folder)
    refs = {ref.artifact_id: ref for ref in raw.artifacts}
    assert refs[rows[0]["artifact_id"]].archived is True
    with pytest.raises(ArtifactUnavailable) as archived:
        refs[rows[0]["artifact_id"]].read()
    assert archived.value.kind == "archived"
    with pytest.raises(ArtifactUnavailable) as missing:
        refs[rows[1]["artifact_id"]].read()
    assert missing.value.kind == "missing" and missing.value.reason.startswith("file not downloaded")


def test_file_removed_after_open_is_unavailable(tmp_path: Path) -> None:
    step = tmp_path / "00_0_stp_1"
    step.mkdir()
    path = step / "2026-11-28T22:52:43.747687_a_602253899369469628_html_scrape.html"
    path.write_text("<html/>")
    (ref,) = open_source(step).artifacts
    path.unlink()
    with pytest.raises(ArtifactUnavailable) as info:
        ref.read()
    assert info.value.kind == "missing"


def test_damaged_parent_archive(tmp_path: Path) -> None:
    folder = _make_bundled("success", tmp_path)
    for path in (folder / "files").glob("*__step_archive__*"):
        path.write_bytes(b"PK\x03\x04 not really a zip")
    raw = open_source(folder)
    assert [p.kind for p in raw.problems] == ["damaged", "damaged"]  # one per step
    assert all(p.artifact_type == "step_archive" and "not a readable ZIP" in p.detail for p in raw.problems)
    scrape = next(ref for ref in raw.artifacts if ref.artifact_type == "html_scrape")
    with pytest.raises(ArtifactUnavailable) as info:
        scrape.read()
    assert info.value.kind == "damaged"
    har = next(ref for ref in raw.artifacts if ref.artifact_type == "har")  # task archive is fine
    assert har.read()


def test_unrecognised_storage_file_names(tmp_path: Path) -> None:
    step = tmp_path / "00_0_stp_1"
    step.mkdir()
    (step / "notes.txt").write_text("x")
    (step / "weird_a_602253899369469628.bin").write_text("x")
    (step / "2026-11-28T22:52:43.747687_a_602253899369469628_html_scrape.html").write_text("<p/>")
    raw = open_source(step)
    assert len(raw.artifacts) == 1
    assert [p.kind for p in raw.problems] == ["skipped"] and "weird_a_" in raw.problems[0].detail


# --- bad input ----------------------------------------------------------------------------------


def _source_error(path: Path) -> str:
    with pytest.raises(SourceError) as info:
        open_source(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_bad_sources_raise_one_line_source_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "run.json" in _source_error(empty) and "00_0_stp_" in _source_error(empty)
    assert "no such file" in _source_error(tmp_path / "nope")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert "ZIP" in _source_error(text)
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"PK\x03\x04 garbage")
    assert "ZIP" in _source_error(fake)
    truncated = tmp_path / "truncated.zip"
    good = _zip(tmp_path / "good.zip", {"scrape.html": b"<p>" * 1000}).read_bytes()
    truncated.write_bytes(good[:-30])
    _source_error(truncated)
    unrelated = _zip(tmp_path / "unrelated.zip", {"readme.md": b"hi"})
    assert "no Skyvern run" in _source_error(unrelated)
    assert "folder" in _source_error(REAL / "success" / "run.json")


# --- ZIP safety ---------------------------------------------------------------------------------


def test_unsafe_member_names() -> None:
    for bad in ["../evil.txt", "/abs.txt", "a/../../b", "..\\evil.txt", "\\abs.txt", "C:/x", "c:\\x", "", "a\x00b"]:
        assert unsafe_member_name(bad), bad
    for good in ["scrape.html", "run/run.json", "a..b.txt", "files/a_1__har__x.har"]:
        assert not unsafe_member_name(good), good


def test_escaping_members_are_refused_and_the_rest_read(tmp_path: Path) -> None:
    archive = _zip_raw_names(
        tmp_path / "2026-05-01T09:01:40.5_a_489000000000000770_step_archive.zip",
        {"../evil.txt": b"x", "/abs.txt": b"y", "..\\win.txt": b"z", "scrape.html": b"<p/>"},
    )
    raw = open_source(archive)
    refused = sorted(p.detail for p in raw.problems if p.kind == "refused")
    assert len(refused) == 3
    assert any(d.startswith("refused ZIP member '../evil.txt': path escapes the archive") for d in refused)
    assert any("'/abs.txt'" in d for d in refused)
    (ref,) = raw.artifacts
    assert ref.artifact_type == "html_scrape" and ref.read() == b"<p/>"
    assert raw.steps == [{"step_id": "step-archive", "task_id": None, "order": 0, "retry_index": 0}]


def test_zip_bomb_is_refused_without_inflating(tmp_path: Path) -> None:
    bomb = tmp_path / "02_0_stp_9" / "bomb_step_archive.zip"
    bomb.parent.mkdir()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("screenshot_llm_0.png", "w", force_zip64=True) as fh:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(300):
                fh.write(chunk)
        zf.writestr("scrape.html", b"<p/>")
    assert bomb.stat().st_size < 2 * 1024 * 1024
    tracemalloc.start()
    try:
        raw = open_source(bomb)
        for ref in raw.artifacts:
            ref.read()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024
    (problem,) = raw.problems
    assert problem.kind == "refused" and "screenshot_llm_0.png" in problem.detail and "bomb" in problem.detail
    assert problem.artifact_type == "screenshot_llm" and problem.step_id == "stp_9"
    assert [ref.artifact_type for ref in raw.artifacts] == ["html_scrape"]
    assert raw.steps[0]["order"] == 2


def test_bomb_member_of_bundled_parent_reads_as_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zipsafe, "BOMB_MIN_BYTES", 64 * 1024)
    folder = _make_bundled("success", tmp_path)
    rows = _json(folder / "artifacts.json")
    member = next(r for r in rows if r.get("bundle_key") == "scrape.html")
    parent = next(r for r in rows if r["uri"] == member["uri"] and not r.get("bundle_key"))
    (parent_file,) = (folder / "files").glob(f"{parent['artifact_id']}__*")
    with zipfile.ZipFile(parent_file) as old:
        members = {name: old.read(name) for name in old.namelist()}
    members["scrape.html"] = b"\0" * (1024 * 1024)
    _zip(parent_file, members)
    raw = open_source(folder)
    assert [p.kind for p in raw.problems] == ["refused"]
    assert raw.problems[0].artifact_type == "html_scrape" and raw.problems[0].artifact_id == parent["artifact_id"]
    scrape = next(ref for ref in raw.artifacts if ref.artifact_type == "html_scrape")
    with pytest.raises(ArtifactUnavailable) as info:
        scrape.read()
    assert info.value.kind == "refused"
    assert next(ref for ref in raw.artifacts if ref.artifact_type == "visible_elements_tree").read()


def test_member_cap_is_enforced_while_streaming(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = SafeZip.open(_zip(tmp_path / "a.zip", {"scrape.html": b"x" * 300_000}), "a.zip")
    assert "scrape.html" in archive.members  # admitted under the real caps ...
    monkeypatch.setattr(zipsafe, "MAX_MEMBER_BYTES", 100_000)  # ... then the header is not trusted
    with pytest.raises(ArtifactUnavailable) as info:
        archive.read("scrape.html")
    assert info.value.kind == "refused"


def test_archive_total_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zipsafe, "MAX_ARCHIVE_BYTES", 150_000)
    archive = SafeZip.open(_zip(tmp_path / "a.zip", {"a.html": b"a" * 100_000, "b.html": b"b" * 100_000}), "a")
    assert len(archive.read("a.html")) == 100_000
    assert len(archive.read("a.html")) == 100_000  # re-reading does not count twice
    with pytest.raises(ArtifactUnavailable) as info:
        archive.read("b.html")
    assert info.value.kind == "refused" and "archive" in info.value.reason


def test_read_capped_ratio_check() -> None:
    with pytest.raises(ArtifactUnavailable) as info:
        read_capped(io.BytesIO(b"\0" * (11 * 1024 * 1024)), 64 * 1024 * 1024, "x", compressed_size=1000)
    assert "bomb" in info.value.reason
    assert len(read_capped(io.BytesIO(b"abc"), 3, "x")) == 3


# --- lone archives ------------------------------------------------------------------------------


def test_lone_step_archive_in_step_folder(tmp_path: Path) -> None:
    folder = tmp_path / "tsk_7" / "02_0_stp_9"
    folder.mkdir(parents=True)
    members = {
        "scrape.html": b"<p/>",
        "element_tree.json": b"[]",
        "llm_prompt_0.txt": b"p",
        "llm_response_parsed_1.json": b"{}",
        "screenshot_action_3.png": b"i",
        "html_action_3.html": b"<p/>",
        "notes.txt": b"?",
    }
    raw = open_source(_zip(folder / "2026-05-01T09:01:40.5_a_489000000000000770_step_archive.zip", members))
    assert raw.kind == "archive"
    assert raw.steps == [{"step_id": "stp_9", "task_id": "tsk_7", "order": 2, "retry_index": 0}]
    got = {ref.name: (ref.artifact_type, ref.index, ref.step_id) for ref in raw.artifacts}
    assert got["llm_response_parsed_1.json"] == ("llm_response_parsed", 1, "stp_9")
    assert got["screenshot_action_3.png"] == ("screenshot_action", 3, "stp_9")
    assert got["element_tree.json"] == ("visible_elements_tree", None, "stp_9")
    assert "notes.txt" not in got
    assert [p.kind for p in raw.problems] == ["skipped"]
    assert all(ref.created_at is not None for ref in raw.artifacts)


def test_lone_step_archive_named_by_step_id(tmp_path: Path) -> None:
    raw = open_source(_zip(tmp_path / "stp_42_step_archive.zip", {"scrape.html": b"<p/>"}))
    assert raw.steps[0]["step_id"] == "stp_42"


def test_lone_task_archive(tmp_path: Path) -> None:
    trace = io.BytesIO()
    with zipfile.ZipFile(trace, "w") as zf:
        zf.writestr("trace.trace", "{}")
    members = {"har.har": b'{"log": {}}', "browser_console.log": b"line", "trace.zip": trace.getvalue()}
    raw = open_source(_zip(tmp_path / "archive.zip", members))
    assert raw.steps == []
    assert sorted(ref.artifact_type for ref in raw.artifacts) == ["browser_console_log", "har", "trace"]
    assert all(ref.step_id is None for ref in raw.artifacts)
    assert next(ref for ref in raw.artifacts if ref.artifact_type == "trace").read() == trace.getvalue()


def test_run_folder_zip_at_top_level(tmp_path: Path) -> None:
    folder = REAL / "success"
    archive = tmp_path / "run.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("run.json", "steps.json", "artifacts.json", "actions.json", "task.json"):
            zf.write(folder / name, name)
        for path in (folder / "artifact_files").iterdir():
            zf.write(path, f"artifact_files/{path.name}")
        zf.writestr(zipfile.ZipInfo("../evil.txt"), b"x")
    raw = open_source(archive)
    assert raw.run and raw.run["status"] == "completed"
    assert raw.steps_from_api and len(raw.steps) == 2
    assert [p.kind for p in raw.problems] == ["refused"]
    assert _digest(raw) == _digest(open_source(folder))


def test_member_type_table() -> None:
    assert member_type("id_frame_map.json") == ("visible_elements_id_frame_map", None)
    assert member_type("element_tree_in_prompt.txt") == ("visible_elements_tree_in_prompt", None)
    assert member_type("llm_response_rendered_2.json") == ("llm_response_rendered", 2)
    assert member_type("hashed_href_map_0.json") == ("hashed_href_map", 0)
    assert member_type("llm_request_1.json") == ("llm_request", 1)
    assert member_type("browser_console.log") == ("browser_console_log", None)
    assert member_type("llm_response.json") is None

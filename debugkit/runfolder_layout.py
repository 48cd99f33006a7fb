"""The run folder's names and its ``debugkit-fetch.json``, in one place for the writer and the readers.

``debugkit fetch`` (:mod:`debugkit.api.fetch`) writes a run folder; the run folder reader
(:mod:`debugkit.sources.runfolder`) and the fetch cache (:mod:`debugkit.api.cache`) read it. What they
must agree on lives here (``docs/run-folder.md`` section 1)::

    RUN_DIR/
      files/<artifact_id>__<artifact_type>__<storage file name>   (artifact_files/ accepted instead)
      debugkit-fetch.json   what was fetched, and why anything is missing (debugkit.fetch/1)

The manifest never holds the API key: it records artifact ids, types, outcomes and notes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from debugkit import __version__
from debugkit.constants import ARCHIVE_TYPES, FINAL_STATUSES
from debugkit.fsutil import write_atomic

FILES_DIR = "files"  # where debugkit fetch writes artifact bytes
FILE_DIRS = (FILES_DIR, "artifact_files")  # read in this order (the recorded real runs use artifact_files/)
FETCH_MANIFEST = "debugkit-fetch.json"
MANIFEST_SCHEMA = "debugkit.fetch/1"
_SEPARATOR = "__"
_SAFE = re.compile(r"[^A-Za-z0-9_.:-]")


# --- artifact file names ----------------------------------------------------------------------


def artifact_file_name(row: dict[str, Any], data_kind: str | None = None) -> str:
    """``<artifact_id>__<artifact_type>__<storage file name>``, safe for any filesystem path.

    The storage file name is the last part of the row's ``uri`` (a bundled member's ``bundle_key``);
    ``.zst`` is dropped because the bytes are stored decompressed."""
    artifact_id = _SAFE.sub("_", str(row["artifact_id"]))
    kind = _SAFE.sub("_", str(row.get("artifact_type") or "unknown"))
    uri = str(row.get("uri") or "")
    name = uri.rsplit("/", 1)[-1].split("?", 1)[0] if uri else ""
    if row.get("bundle_key") and str(row.get("artifact_type")) not in ARCHIVE_TYPES:
        name = str(row["bundle_key"])
    name = _SAFE.sub("_", name) or f"{kind}.{data_kind or 'bin'}"
    if name.endswith(".zst"):
        name = name[:-4]  # stored decompressed
    return f"{artifact_id}{_SEPARATOR}{kind}{_SEPARATOR}{name}".lstrip(".")


def artifact_id_of(file_name: str) -> str | None:
    """The artifact id a file of ``files/`` belongs to (the part before the first ``__``), or None."""
    artifact_id, sep, _rest = file_name.partition(_SEPARATOR)
    return artifact_id if sep else None


def split_file_name(file_name: str) -> tuple[str, str, str] | None:
    """``(artifact_id, artifact_type, storage file name)`` of an artifact file name, or None."""
    parts = file_name.split(_SEPARATOR, 2)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


def find_artifact_file(run_dir: Path, artifact_id: str) -> Path | None:
    """The complete file of ``files/`` holding ``artifact_id``'s bytes, if a fetch wrote one."""
    prefix = _SAFE.sub("_", artifact_id) + _SEPARATOR
    for path in (run_dir / FILES_DIR).glob(prefix + "*"):
        if not path.name.endswith(".part"):
            return path
    return None


# --- debugkit-fetch.json ----------------------------------------------------------------------


@dataclass
class FetchManifest:
    """What one ``debugkit fetch`` did: the run's status then, and each artifact's outcome.

    ``complete``: everything a triage needs is there and nothing can still change (every selected
    artifact downloaded, the whole run, its network logs not possibly late); a cached copy that is
    not complete is fetched again. ``artifacts``: artifact id -> ``{"artifact_type", "status",
    "reason", "file", "bytes"}`` (status ok | cached | member | archived | missing | damaged | skipped).
    """

    run_id: str
    artifacts_run_id: str
    run_status: str | None
    step: str | None
    types: list[str] | None  # None: every type
    complete: bool
    network_may_be_incomplete: bool
    notes: list[str] = field(default_factory=list)
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": MANIFEST_SCHEMA,
            "tool": {"name": "debugkit", "version": __version__},
            "run_id": self.run_id,
            "artifacts_run_id": self.artifacts_run_id,
            "run_status": self.run_status,
            "fetched_at": datetime.now(UTC).isoformat(),
            "step": self.step,
            "types": self.types,
            "complete": self.complete,
            "network_may_be_incomplete": self.network_may_be_incomplete,
            "notes": self.notes,
            "artifacts": dict(sorted(self.artifacts.items())),
        }


def write_manifest(run_dir: Path, manifest: FetchManifest) -> None:
    """Write ``debugkit-fetch.json`` atomically."""
    write_atomic(run_dir / FETCH_MANIFEST, orjson.dumps(manifest.to_dict(), option=orjson.OPT_INDENT_2))


def read_manifest(run_dir: Path) -> dict[str, Any] | None:
    """The folder's ``debugkit-fetch.json`` as written, or None (absent, damaged, another schema)."""
    try:
        doc = orjson.loads((run_dir / FETCH_MANIFEST).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return doc if isinstance(doc, dict) and doc.get("schema") == MANIFEST_SCHEMA else None


def artifact_outcomes(doc: Any) -> dict[str, dict[str, Any]]:
    """Artifact id -> its recorded outcome, from a parsed manifest (anything else gives ``{}``)."""
    artifacts = doc.get("artifacts") if isinstance(doc, dict) else None
    if not isinstance(artifacts, dict):
        return {}
    return {str(k): v for k, v in artifacts.items() if isinstance(v, dict) and isinstance(v.get("status"), str)}


def local_copy_is_complete(run_dir: Path, types: Iterable[str] | None) -> bool:
    """True when a previous fetch left everything a triage needs and nothing can still change."""
    manifest = read_manifest(run_dir)
    if not manifest or not manifest.get("complete") or manifest.get("run_status") not in FINAL_STATUSES:
        return False
    had = manifest.get("types")
    want = sorted(types) if types is not None else None
    return had is None or (want is not None and set(want) <= set(had))

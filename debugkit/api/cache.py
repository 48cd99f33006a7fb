"""Where ``debugkit triage RUN_ID`` keeps its local copy of a run."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

RUN_ID = re.compile(r"^(tsk_v2_|tsk_|wr_)[A-Za-z0-9_]+$")
_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")


def looks_like_run_id(text: str) -> bool:
    return bool(RUN_ID.match(text))


def cache_root(override: str | os.PathLike[str] | None = None) -> Path:
    """``--cache-dir``, else $DEBUGKIT_CACHE_DIR, else $XDG_CACHE_HOME/debugkit, else ~/.cache/debugkit."""
    if override:
        return Path(override).expanduser()
    if os.environ.get("DEBUGKIT_CACHE_DIR"):
        return Path(os.environ["DEBUGKIT_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "debugkit"


def run_cache_dir(root: Path, base_url: str, run_id: str) -> Path:
    """One folder per server and run: ``<root>/runs/<host>/<run_id>``."""
    host = _SLUG.sub("_", urlsplit(base_url).netloc or "server")
    return root / "runs" / host / _SLUG.sub("_", run_id)

"""Where ``debugkit triage RUN_ID`` (and ``runs``, ``serve``, :func:`debugkit.triage`) keep their local
copy of a run: ``<root>/runs/<host>/<run_id>``, a run folder as ``debugkit fetch`` writes it."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from debugkit.errors import UsageError

if TYPE_CHECKING:
    from debugkit.api.client import SkyvernClient
    from debugkit.api.fetch import FetchOptions, FetchReport

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


def fetch_into_cache(
    client: SkyvernClient,
    run_id: str,
    root: Path,
    *,
    refresh: bool = False,
    wait_seconds: float = 30.0,
    fetch: Callable[[SkyvernClient, str, FetchOptions], FetchReport] | None = None,
) -> tuple[Path, FetchReport | None]:
    """The run's cache folder, fetched first unless a complete copy is there (or ``refresh``).

    Returns the folder and what the fetch did (None when the cached copy was used and nothing was
    asked of the API). ``fetch`` replaces :func:`debugkit.api.fetch.fetch_run` (the CLI adds its
    progress bar). A folder that cannot be written is a ``UsageError``, never a traceback."""
    from debugkit.api.fetch import DEFAULT_TYPES, FetchOptions, fetch_run
    from debugkit.runfolder_layout import local_copy_is_complete

    folder = run_cache_dir(root, client.config.base_url, run_id)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot write the cache folder {folder.parent}: {exc.strerror or exc}") from None
    if not refresh and local_copy_is_complete(folder, DEFAULT_TYPES):
        return folder, None
    options = FetchOptions(out_dir=folder, refresh=refresh, wait_seconds=wait_seconds)
    try:
        report = (fetch or fetch_run)(client, run_id, options)
    except OSError as exc:  # the folder cannot be written (permissions, a full disk, ...)
        raise UsageError(f"cannot write {folder}: {exc.strerror or exc}") from None
    return folder, report

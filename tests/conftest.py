"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from skyvern_server import SkyvernTestServer, default_server

# --- the fake Skyvern API server (tests/skyvern_server.py) -------------------------------------


@pytest.fixture
def skyvern_server() -> Iterator[SkyvernTestServer]:
    """A started SkyvernTestServer with the standard test set (see ``default_server``):

    real/* in local mode; runs/site_500_submit in unbundled_s3 mode, runs/bundled_step_archive in
    bundled mode, the other runs/* local; ``server.names["wr"]`` a workflow run of
    site_500_submit + success; ``server.names["task_v2"]`` a task_v2 run backed by it.
    Stopped afterwards.
    """
    with default_server(separate_s3_origin=True) as server:
        yield server


@pytest.fixture
def make_skyvern_server() -> Iterator[Any]:
    """A factory for servers with custom runs, all stopped afterwards::

        server = make_skyvern_server([FIXTURES / "runs" / "success"], mode="bundled")
        server = make_skyvern_server([(path_a, "local"), (path_b, "unbundled_s3")], separate_s3_origin=True)

    Entries are folders (served in ``mode``) or ``(folder, mode)`` pairs. Extra keyword arguments
    go to ``SkyvernTestServer``. The server is started; add workflow runs with
    ``server.add_workflow_run(...)`` afterwards if needed.
    """
    servers: list[SkyvernTestServer] = []

    def make(
        runs: Iterable[str | Path | tuple[str | Path, str]] = (), mode: str = "auto", **kwargs: Any
    ) -> SkyvernTestServer:
        server = SkyvernTestServer(**kwargs)
        servers.append(server)
        for entry in runs:
            folder, folder_mode = entry if isinstance(entry, tuple) else (entry, mode)
            server.add_run_folder(folder, mode=folder_mode)
        return server.start()

    yield make
    for server in servers:
        server.stop()

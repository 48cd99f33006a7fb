"""The API client's answers to a refused key, a hung server, and a fetch that fails: against a real
HTTP server on 127.0.0.1 (tests/skyvern_server.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from skyvern_server import SkyvernTestServer
from test_fetch import cli

from debugkit.api.client import ApiConfig, ApiUnavailable, SkyvernClient


def test_could_not_validate_credentials_names_the_variable(skyvern_server: SkyvernTestServer, tmp_path: Path):
    """Real Skyvern answers a key it does not know with 403 "Could not validate credentials"."""
    skyvern_server.faults.auth_detail = "Could not validate credentials"
    done = cli(skyvern_server, "fetch", skyvern_server.names["real/success"], "-o", str(tmp_path / "r"),
               key="sk-wrong-0123456789")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "SKYVERN_API_KEY" in lines[0] and "refused the API key" in lines[0]
    assert "sk-wrong-0123456789" not in done.stderr


def test_a_server_that_never_answers_is_given_up_within_the_deadline(skyvern_server: SkyvernTestServer):
    """Each attempt waits ``timeout``, the whole request ``deadline``: a hung server is not retried past it,
    and the error says what was tried."""
    skyvern_server.faults.never_answer = True
    config = ApiConfig(base_url=skyvern_server.base_url, api_key=skyvern_server.api_key, timeout=0.4,
                       deadline=1.0, backoff=0.01)
    with SkyvernClient(config) as client, pytest.raises(ApiUnavailable) as caught:
        client.get_json("/v1/runs/tsk_1", what="run tsk_1")
    message = str(caught.value)
    assert "timed out" in message and "attempt(s)" in message
    assert "each attempt waits up to 0.4 s, a request 1 s in all" in message
    # a 0.4 s wait fits at most three times in 1 s (the default retries would allow five attempts)
    assert 1 <= skyvern_server.count("/v1/runs/tsk_1") <= 3
    assert skyvern_server.api_key not in message


def test_a_failed_fetch_leaves_no_folder_behind(skyvern_server: SkyvernTestServer, tmp_path: Path):
    """An unknown run writes nothing; so the next ``triage RUN_ID`` asks the API instead of reading an
    empty folder as a local run."""
    run_id = "tsk_404404404"
    done = cli(skyvern_server, "fetch", run_id, cwd=tmp_path)
    assert done.returncode == 2 and "not found" in done.stderr
    assert not (tmp_path / run_id).exists()
    done = cli(skyvern_server, "triage", run_id, cwd=tmp_path, env={"DEBUGKIT_CACHE_DIR": str(tmp_path / "c")})
    assert done.returncode == 2 and "not found" in done.stderr and "no Skyvern run found" not in done.stderr


def test_an_empty_folder_named_like_the_run_is_not_taken_for_the_run(skyvern_server, tmp_path: Path):
    run_id = skyvern_server.names["real/success"]
    (tmp_path / run_id).mkdir()  # what an older debugkit's failed fetch left
    done = cli(skyvern_server, "triage", run_id, "--json", "--no-render", cwd=tmp_path,
               env={"DEBUGKIT_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr
    assert skyvern_server.count(f"/v1/runs/{run_id}") >= 1

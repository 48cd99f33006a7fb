"""The Python API (``debugkit.triage``): the README's examples run as written, and the API gives what the
command line gives (the same document, the same report, the same errors).

The README's examples are taken from README.md itself (the fenced block after each
``<!-- example: NAME -->`` marker), so the documentation cannot drift from what runs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from skyvern_server import SkyvernTestServer

import debugkit
from debugkit import errors

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FIXTURES = ROOT / "fixtures"
RUN_500 = FIXTURES / "runs" / "site_500_submit"
LOGIN_401 = FIXTURES / "runs" / "login_401"


def readme_example(name: str) -> str:
    """The python block that follows ``<!-- example: NAME ...-->`` in README.md."""
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"<!-- example: {re.escape(name)}\b[^>]*-->\s*```python\n(.*?)```", text, re.DOTALL)
    assert match, f"README.md has no example {name!r}"
    return match.group(1)


def clean_env(**extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SKYVERN_", "DEBUGKIT_"))}
    environ.update(extra)
    return environ


def cli_json(*args: str, env: dict[str, str] | None = None) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "debugkit", "triage", *args, "--json"], capture_output=True, text=True, timeout=300,
        env=env or clean_env(),
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# --- the README's examples ------------------------------------------------------------------------


def test_readme_basic_example_runs(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)
    exec(compile(readme_example("api-basic"), "README.md:api-basic", "exec"), {})
    out = capsys.readouterr().out
    assert out.startswith("site_server_error WEBSITE_ERROR\n")
    assert "har:" in out  # the chain cites the failing request


def test_readme_pytest_conftest_triages_a_failed_test(tmp_path: Path):
    """The conftest.py of the README, in a real pytest session: a failing test that started a run gets a
    ``debugkit`` section with the cause, and the run's HTML report is written; a passing one gets nothing."""
    (tmp_path / "conftest.py").write_text(readme_example("pytest-conftest"))
    (tmp_path / "test_checkout.py").write_text(
        "def test_checkout(skyvern_run):\n"
        f"    skyvern_run['id'] = {str(RUN_500)!r}  # a run folder stands in for a run id\n"
        "    assert False, 'the checkout run failed'\n"
        "\n"
        "def test_passes(skyvern_run):\n"
        f"    skyvern_run['id'] = {str(RUN_500)!r}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=clean_env(),
    )
    assert done.returncode == 1, done.stdout + done.stderr  # one test failed, as written
    assert "1 failed, 1 passed" in done.stdout
    section = done.stdout.split("debugkit", 1)[1]
    assert section.lstrip(" -_\n").startswith("site_server_error: The site failed: POST"), done.stdout
    assert "report: debugkit-" in section
    reports = list(tmp_path.glob("debugkit-*.html"))
    assert len(reports) == 1 and reports[0].read_bytes().startswith(b"<!DOCTYPE html>")


def test_readme_pytest_conftest_says_when_a_run_cannot_be_triaged(tmp_path: Path):
    (tmp_path / "conftest.py").write_text(readme_example("pytest-conftest"))
    (tmp_path / "test_gone.py").write_text(
        "def test_gone(skyvern_run):\n"
        f"    skyvern_run['id'] = {str(tmp_path / 'no-such-run')!r}\n"
        "    assert False\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=clean_env(),
    )
    assert "not triaged: no such file or directory" in done.stdout, done.stdout
    assert "Traceback" not in done.stdout.split("debugkit", 1)[1].split("short test summary")[0]


# --- the API gives what the command line gives ----------------------------------------------------


def unsalted(doc: dict) -> str:
    """A document with its placeholders' salted hashes taken out (each process salts anew)."""
    return re.sub(r"\[REDACTED:[0-9a-f]{8}\]", "[REDACTED]", json.dumps(doc, sort_keys=True))


def test_to_json_is_the_cli_document():
    doc = debugkit.triage(RUN_500, render=False).to_json()
    assert unsalted(doc) == unsalted(cli_json(str(RUN_500), "--no-render"))
    assert "[REDACTED]" in unsalted(doc)


def test_members_of_a_triage():
    t = debugkit.triage(RUN_500, locate=False)
    assert t.verdict.cause == "site_server_error" and t.verdict.category == "WEBSITE_ERROR"
    assert t.verdict.chain and t.verdict.evidence and t.verdict.summary
    assert t.decisive_action is not None and t.decisive_action.action.action_type
    assert [view.step.step_id for view in t.steps] == [s["step_id"] for s in t.to_json()["steps"]]
    assert t.problems == [] and t.redacted and t.source == RUN_500
    assert t.run_id in repr(t) and "site_server_error" in repr(t)
    assert t.analysis.diagnosis.verdict is t.verdict  # the analysed model underneath


def test_step_focuses_and_an_unknown_step_is_a_usage_error():
    t = debugkit.triage(RUN_500, step="0", locate=False)
    assert len(t.steps) == 1 and t.steps[0].step.order == 0
    with pytest.raises(errors.UsageError, match="no step"):
        debugkit.triage(RUN_500, step="99", locate=False)


def test_redaction_is_on_by_default():
    secrets = json.loads((LOGIN_401 / "expected.json").read_text())["secrets"]
    shown = json.dumps(debugkit.triage(LOGIN_401, locate=False).to_json())
    plain = json.dumps(debugkit.triage(LOGIN_401, redact=False, locate=False).to_json())
    assert not any(value in shown for value in secrets.values())
    assert secrets["password"] in plain  # redact=False is --no-redact


def test_print_writes_the_terminal_view():
    from rich.console import Console

    console = Console(record=True, width=120, color_system=None)
    debugkit.triage(RUN_500, locate=False).print(console)
    text = console.export_text()
    assert "site_server_error" in text and "Verdict: site_server_error (WEBSITE_ERROR)" in text


def test_write_html_and_bundle(tmp_path: Path):
    t = debugkit.triage(LOGIN_401, render=False)
    report = t.write_html(tmp_path / "report.html")
    assert report.path.read_bytes()[:15] == b"<!DOCTYPE html>" and report.size == report.path.stat().st_size
    bundle = t.write_bundle(tmp_path / "ticket.zip", max_size=5_000_000)
    names = set(zipfile.ZipFile(bundle.path).namelist())
    assert {"summary.md", "triage.json", "report.html", "manifest.json"} <= names
    secrets = json.loads((LOGIN_401 / "expected.json").read_text())["secrets"]
    for path in (report.path, bundle.path):
        data = path.read_bytes()
        assert not any(value.encode() in data for value in secrets.values()), path


def test_outputs_follow_the_cli_rules(tmp_path: Path):
    t = debugkit.triage(RUN_500, locate=False)
    with pytest.raises(errors.UsageError, match="inside the source"):
        t.write_html(RUN_500 / "report.html")
    with pytest.raises(errors.UsageError, match="does not exist"):
        t.write_bundle(tmp_path / "missing" / "ticket.zip")
    with pytest.raises(errors.UsageError):
        t.write_bundle(tmp_path / "ticket.zip", max_size=0)


def test_a_source_that_is_not_a_run_is_one_line(tmp_path: Path):
    with pytest.raises(errors.SourceError) as caught:
        debugkit.triage(tmp_path)
    assert "\n" not in str(caught.value) and caught.value.exit_code == 2


def test_a_run_id_is_fetched_into_the_cache_once(skyvern_server: SkyvernTestServer, tmp_path: Path):
    run_id = skyvern_server.names["runs/site_500_submit"]
    key, url = skyvern_server.api_key, skyvern_server.base_url
    first = debugkit.triage(run_id, base_url=url, api_key=key, cache_dir=tmp_path, locate=False, wait=0)
    assert first.verdict.cause == "site_server_error" and tmp_path in first.source.parents
    skyvern_server.reset_log()
    again = debugkit.triage(run_id, base_url=url, api_key=key, cache_dir=tmp_path, locate=False, wait=0)
    assert skyvern_server.count() == 0  # a complete copy of a finished run: nothing asked of the API
    assert unsalted(again.to_json()) == unsalted(first.to_json())
    assert key not in json.dumps(first.to_json())


def test_api_errors_are_the_errors_module(skyvern_server: SkyvernTestServer, tmp_path: Path):
    url = skyvern_server.base_url
    with pytest.raises(errors.AuthError) as refused:
        debugkit.triage("tsk_1", base_url=url, api_key="wrong-key", cache_dir=tmp_path, wait=0)
    assert "wrong-key" not in str(refused.value)
    with pytest.raises(errors.NotFound):
        debugkit.triage("tsk_404", base_url=url, api_key=skyvern_server.api_key, cache_dir=tmp_path, wait=0)
    assert issubclass(errors.NotFound, debugkit.DebugkitError) and errors.ApiUnavailable.exit_code == 3


def test_public_surface():
    assert set(debugkit.__all__) >= {"triage", "Triage", "DebugkitError", "BundleRefused", "__version__"}
    for name in debugkit.__all__:
        assert hasattr(debugkit, name), name
    assert (Path(debugkit.__file__).parent / "py.typed").is_file()
    hierarchy = errors.__doc__ or ""
    for name in errors.__all__:
        assert name in hierarchy, f"{name} is missing from the hierarchy in debugkit/errors.py"

"""No Chromium process and no temporary profile folder outlive a triage or report command (issue 11)."""

from __future__ import annotations

import os
import time
from pathlib import Path

try:  # tests/ on sys.path (pytest's default rootdir-less import), or tests/ as a package
    from browser import require_browser
except ImportError:  # pragma: no cover
    from tests.browser import require_browser

from debugkit import cli

ROOT = Path(__file__).resolve().parent.parent


def _chromium_with(profiles: set[str]) -> list[int]:
    """Processes whose command line names one of ``profiles``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            line = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if any(profile in line for profile in profiles):
            found.append(int(entry))
    return found


def test_no_chromium_left_after_triage_and_report(tmp_path, capsys, monkeypatch):
    require_browser()
    from debugkit.locate import render

    render.shutdown()  # a browser earlier tests left running would be reused, not started
    made: list[str] = []
    real_mkdtemp = render.tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):
        made.append(real_mkdtemp(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(render.tempfile, "mkdtemp", mkdtemp)
    source = str(ROOT / "fixtures" / "recorded" / "modal")
    assert cli.main(["triage", source, "--json"]) == 0
    assert '"covered_by": {' in capsys.readouterr().out  # it did render
    assert cli.main(["report", source, "-o", str(tmp_path / "r.html")]) == 0
    assert made, "no browser was started"
    assert [p for p in made if Path(p).exists()] == []  # every profile folder removed
    assert _chromium_with(set(made)) == []  # and no Chromium process that used one


def test_a_command_that_will_locate_starts_chromium_while_the_run_is_read(tmp_path, monkeypatch):
    """``read(warm=True)`` starts the browser in the background for a run with a page scrape (its start overlaps
    the parsing), never for a run that has none, and the browser so started is shut down like any other."""
    require_browser()
    from debugkit.locate import render
    from debugkit.pipeline import read

    render.shutdown()
    launched: list[str] = []
    real_mkdtemp = render.tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):
        launched.append(real_mkdtemp(*args, **kwargs))
        return launched[-1]

    monkeypatch.setattr(render.tempfile, "mkdtemp", mkdtemp)
    warmed: list[bool] = []
    real_warm_up = render.warm_up
    monkeypatch.setattr(render, "warm_up", lambda: (warmed.append(True), real_warm_up()))
    read(ROOT / "fixtures" / "runs" / "proxy_error", warm=True)  # the start page never loaded: no scrape
    assert warmed == []
    read(ROOT / "fixtures" / "recorded" / "modal", warm=False)
    assert warmed == []
    read(ROOT / "fixtures" / "recorded" / "modal", warm=True)
    assert warmed == [True]
    renderer = render.shared_renderer()
    for _ in range(600):  # nothing here asks for a page: the browser starts on its own, in the background
        if renderer.started:
            break
        time.sleep(0.1)
    assert renderer.started and len(launched) == 1
    renderer._ensure()  # already started: a scrape now does not launch another
    assert len(launched) == 1
    render.shutdown()
    assert [p for p in launched if Path(p).exists()] == [] and _chromium_with(set(launched)) == []


def test_a_command_that_fails_while_chromium_starts_closes_it_cleanly(tmp_path):
    """A command that ends while the browser it started in the background is still starting (``triage --step``
    naming no step fails right after reading) waits for the start, then closes it: no "Event loop is closed"
    or "Task was destroyed" on stderr, no driver or Chromium left, no profile folder."""
    require_browser()
    import subprocess
    import sys

    marker = tmp_path / "profiles.txt"
    code = (
        "import asyncio, sys\n"
        "from debugkit.locate import render\n"
        "spawn = asyncio.create_subprocess_exec\n"
        "async def slow_spawn(*a, **k):\n"  # the driver's spawn takes a while: the command ends meanwhile
        "    await asyncio.sleep(0.5)\n"
        "    return await spawn(*a, **k)\n"
        "asyncio.create_subprocess_exec = slow_spawn\n"
        "made = []\n"
        "real = render.tempfile.mkdtemp\n"
        "render.tempfile.mkdtemp = lambda *a, **k: (made.append(real(*a, **k)), made[-1])[1]\n"
        "render.warm_up()\n"
        "render.shutdown()\n"
        "open(sys.argv[1], 'w').write('\\n'.join(made))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(marker)], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, check=False)
    assert done.returncode == 0 and done.stderr == ""
    made = set(marker.read_text().split())
    assert [p for p in made if Path(p).exists()] == [] and _chromium_with(made) == []


def test_the_browser_runs_behind_the_analysis(tmp_path):
    """The renderer thread and Chromium run at a lower priority than the interpreter's thread (nice 10; Linux): they
    start while the run is read, and the analysis comes first."""
    require_browser()
    import sys

    from debugkit.locate import render

    if not sys.platform.startswith("linux"):  # pragma: no cover - niceness is per thread on Linux alone
        import pytest

        pytest.skip("Linux only: elsewhere debugkit leaves the renderer's priority alone")
    with render.Renderer(pages=1) as renderer:
        renderer._ensure()
        assert renderer._thread is not None and renderer._thread.native_id is not None
        assert os.getpriority(os.PRIO_PROCESS, renderer._thread.native_id) >= render.RENDER_NICE
        assert renderer._profile is not None
        stats = {pid: _stat(pid) for pid in _chromium_with({renderer._profile})}
        # The browser process (started by this one) inherits the niceness; Chromium may raise its own helpers'
        # priority (as root, its zygote runs at -8).
        browser = [pid for pid, (parent, _) in stats.items() if parent not in stats]
        assert len(browser) == 1
        parent, nice = stats[browser[0]]
        assert parent == os.getpid() and nice >= render.RENDER_NICE
    assert os.getpriority(os.PRIO_PROCESS, 0) < render.RENDER_NICE  # this thread keeps its priority


def _stat(pid: int) -> tuple[int, int]:
    """A process's parent and niceness (``/proc/PID/stat``'s 4th and 19th fields)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[16])

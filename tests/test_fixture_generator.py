"""The committed fixtures are exactly what the generator script writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def digest_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_generator_reproduces_the_committed_fixtures(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, str(FIXTURES / "generate.py"), "--out", str(tmp_path), "--check"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for part in ("runs", "local_storage", "archives"):
        fresh, committed = digest_of(tmp_path / part), digest_of(FIXTURES / part)
        assert fresh.keys() == committed.keys(), part
        changed = [name for name in fresh if fresh[name] != committed[name]]
        assert not changed, f"regenerate the fixtures: {changed[:5]}"

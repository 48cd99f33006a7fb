"""How the test modules triage a run: the public API, :func:`debugkit.triage`.

``as_recorded`` is the analysis of the run as it was recorded: no redaction stage (the expectations
name real URLs and values) and no element location (no browser). The reporters' own guard stays on,
as in every output without ``--no-redact``: typed secrets are shown masked (``[masked: N chars]``).
Tests of redaction or of locating use :func:`debugkit.triage` with its defaults instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import debugkit


def as_recorded(source: str | Path, **kwargs: Any) -> debugkit.Triage:
    """``debugkit.triage(source, redact=False, locate=False, **kwargs)``, typed secrets still masked."""
    t = debugkit.triage(Path(source), redact=False, locate=False, **kwargs)
    t.analysis.show_secrets = False  # redact=False means --no-redact; these tests want the reporters' own masking
    return t


def document(source: str | Path, **kwargs: Any) -> dict[str, Any]:
    """The ``debugkit.triage/1`` document of :func:`as_recorded`, exactly as ``--json`` would print it."""
    import json

    return json.loads(json.dumps(as_recorded(source, **kwargs).to_json()))

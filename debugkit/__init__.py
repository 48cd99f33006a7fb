"""debugkit: tells people why a Skyvern run failed.

The Python API (the command line is built on it)::

    import debugkit

    t = debugkit.triage("tsk_602253499937510590")   # a run id, a run folder, a storage tree or an archive ZIP
    t.verdict.cause, t.verdict.summary              # the root cause and one paragraph of why
    t.to_json()                                     # the debugkit.triage/1 document of `triage --json`
    t.write_html("report.html")                     # `debugkit report`
    t.write_bundle("ticket.zip")                    # `debugkit bundle`: redacted, checked, or BundleRefused

Errors are one-line exceptions under :class:`DebugkitError` (:mod:`debugkit.errors` shows the tree).
"""

__version__ = "0.1.0"

from debugkit._api import Triage, Written, triage  # noqa: E402  (after __version__: modules below read it)
from debugkit.errors import (  # noqa: E402
    ApiError,
    ApiUnavailable,
    AuthError,
    BundleRefused,
    DebugkitError,
    NotFound,
    SourceError,
    UsageError,
)

__all__ = [
    "ApiError",
    "ApiUnavailable",
    "AuthError",
    "BundleRefused",
    "DebugkitError",
    "NotFound",
    "SourceError",
    "Triage",
    "UsageError",
    "Written",
    "__version__",
    "triage",
]

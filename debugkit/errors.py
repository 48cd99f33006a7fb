"""Every error debugkit raises on purpose: one line of message, and the exit code the CLI ends with.

The hierarchy (exit code of the command line in brackets)::

    DebugkitError [2]               base: catch this to handle anything debugkit refuses
    ├── UsageError [2]              asked for something that does not exist (an unknown --step), or an
    │                               output that cannot be written (inside the source, a missing folder)
    ├── SourceError [2]             the source cannot be read at all (no such path, not a Skyvern run)
    ├── ApiError [2]                the Skyvern API answered in a way that ends the work
    │   ├── AuthError [2]           the API key is missing or refused (SKYVERN_API_KEY)
    │   ├── NotFound [2]            no such run on that server
    │   └── ApiUnavailable [3]      the server could not be reached, or kept failing: try again later
    └── BundleRefused [4]           the bundle's redaction check found a secret: nothing was written

A damaged piece inside a readable run (a truncated HAR, a corrupt PNG) is not an error: it is a
``Problem`` listed in the triage (``Triage.problems``), and the rest of the analysis still runs.
Anything else that escapes is a bug (the command line's exit code 1).

``str(error)`` is the one-line message the command line prints after ``debugkit: error:``; it
never holds the API key.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "ApiUnavailable",
    "AuthError",
    "BundleRefused",
    "DebugkitError",
    "NotFound",
    "SourceError",
    "UsageError",
]


class DebugkitError(Exception):
    """Base for errors shown to the user as one line, with an exit code."""

    exit_code = 2


class UsageError(DebugkitError):
    """The request asks for something that does not exist (e.g. an unknown step), or an output that
    cannot be written."""


class SourceError(DebugkitError):
    """The source cannot be read at all (no such path, not a run, unreadable archive)."""


class ApiError(DebugkitError):
    """The API answered, or failed to answer, in a way that ends the command."""


class AuthError(ApiError):
    """The API key is missing, or the server refused it."""


class NotFound(ApiError):
    """The server has no such run (or document)."""


class ApiUnavailable(ApiError):
    """The server could not be reached, or kept failing through every retry: try again later."""

    exit_code = 3


class BundleRefused(DebugkitError):
    """The bundle's fail-closed redaction check found a secret: nothing was written."""

    exit_code = 4

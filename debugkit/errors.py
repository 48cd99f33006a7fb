"""Errors that end a command with a one-line message."""

from __future__ import annotations


class DebugkitError(Exception):
    """Base for errors shown to the user as one line, with an exit code."""

    exit_code = 2


class SourceError(DebugkitError):
    """The source cannot be read at all (no such path, not a run, unreadable archive)."""


class UsageError(DebugkitError):
    """The command line asks for something that does not exist (e.g. an unknown --step)."""

"""The CLI fixes glibc's thresholds so that freed screenshot buffers go back to the system."""

from __future__ import annotations

import os

import pytest

from debugkit import allocator


def _glibc() -> bool:
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (AttributeError, ValueError, OSError):
        return False


@pytest.mark.skipif(not _glibc(), reason="glibc only (Debian, where CI runs, has it)")
def test_thresholds_are_set_where_there_is_glibc() -> None:
    assert allocator.return_freed_memory() is True


def test_nothing_is_done_without_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocator.os, "confstr", lambda name: None)
    assert allocator.return_freed_memory() is False

"""A tiny file-tree interface, so one run-folder reader serves a directory and a ZIP alike."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from debugkit.sources.zipsafe import SafeZip, maybe_decompress, read_path


class Tree(Protocol):
    """Read-only access to files by ``/``-separated paths relative to the tree's root."""

    label: str

    def exists(self, rel: str) -> bool:
        """True when ``rel`` is a file."""
        ...

    def list(self, rel: str) -> list[str]:
        """Names of the files directly inside folder ``rel`` (empty when there is none)."""
        ...

    def read(self, rel: str) -> bytes:
        """The bytes of file ``rel`` (zstd decompressed); raises ArtifactUnavailable."""
        ...

    def open_zip(self, rel: str) -> SafeZip:
        """File ``rel`` opened as a ZIP; raises ArtifactUnavailable."""
        ...

    def display(self, rel: str) -> str:
        """``rel`` as it should appear in messages."""
        ...


class DirTree:
    """A directory on disk."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.label = str(root)

    def _path(self, rel: str) -> Path:
        return self.root / rel if rel else self.root

    def exists(self, rel: str) -> bool:
        return self._path(rel).is_file()

    def list(self, rel: str) -> list[str]:
        folder = self._path(rel)
        if not folder.is_dir():
            return []
        return sorted(entry.name for entry in folder.iterdir() if entry.is_file())

    def read(self, rel: str) -> bytes:
        return read_path(self._path(rel), rel)

    def open_zip(self, rel: str) -> SafeZip:
        return SafeZip.open(self._path(rel), rel)

    def display(self, rel: str) -> str:
        return rel


class ZipTree:
    """A folder inside a ZIP archive (``prefix`` is ``""`` or ``"top/"``)."""

    def __init__(self, archive: SafeZip, prefix: str = "") -> None:
        self.archive = archive
        self.prefix = prefix
        self.label = f"{archive.label}:{prefix}" if prefix else archive.label

    def exists(self, rel: str) -> bool:
        return self.prefix + rel in self.archive.members or self.prefix + rel in self.archive.refused

    def list(self, rel: str) -> list[str]:
        folder = f"{self.prefix}{rel}/" if rel else self.prefix
        names = list(self.archive.members) + list(self.archive.refused)
        tails = [name[len(folder) :] for name in names if name.startswith(folder)]
        return sorted(tail for tail in tails if tail and "/" not in tail)

    def read(self, rel: str) -> bytes:
        return maybe_decompress(self.archive.read(self.prefix + rel), rel)

    def open_zip(self, rel: str) -> SafeZip:
        data = self.archive.read(self.prefix + rel)
        return SafeZip.open(data, f"{self.archive.label}:{self.prefix}{rel}")

    def display(self, rel: str) -> str:
        return self.prefix + rel

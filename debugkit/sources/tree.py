"""A tiny file-tree interface, so one run-folder reader serves a directory and a ZIP alike."""

from __future__ import annotations

import os
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
    """A directory on disk. Only regular files are read, never through a symbolic link: a link or a
    special file is listed (so that reading it names it as refused), a linked folder is not entered and
    is noted in ``refused``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.label = str(root)
        self.refused: dict[str, str] = {}  # rel path -> why it was not entered

    def _path(self, rel: str) -> Path:
        return self.root / rel if rel else self.root

    def _linked(self, rel: str) -> bool:
        """Whether ``rel`` or a folder on the way to it is a symbolic link (then it is not followed)."""
        current = self.root
        for part in Path(rel).parts if rel else ():
            current = current / part
            if current.is_symlink():
                return True
        return False

    def exists(self, rel: str) -> bool:
        path = self._path(rel)
        return os.path.lexists(path) and not (path.is_dir() and not path.is_symlink())

    def list(self, rel: str) -> list[str]:
        folder = self._path(rel)
        if rel and self._linked(rel):
            if os.path.lexists(folder):
                self.refused[rel] = "a symbolic link to a folder (not followed)"
            return []
        if not folder.is_dir():
            return []
        try:
            return sorted(entry.name for entry in os.scandir(folder) if not entry.is_dir(follow_symlinks=False))
        except OSError:
            return []

    def read(self, rel: str) -> bytes:
        return read_path(self._path(rel), rel, root=self.root)

    def open_zip(self, rel: str) -> SafeZip:
        return SafeZip.open(self._path(rel), rel, root=self.root)

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

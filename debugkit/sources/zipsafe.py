"""Safe reading of ZIP archives, zstd streams and files: path checks and hard size caps.

Every reader in ``debugkit.sources`` goes through this module, so one set of limits applies to
run folders, storage trees and archives alike:

- ZIP members whose names are absolute, hold ``..`` parts or play backslash tricks are refused;
- a member is never inflated past :data:`MAX_MEMBER_BYTES`, nor an archive past
  :data:`MAX_ARCHIVE_BYTES`, counted while streaming (the header's ``file_size`` is not trusted);
- a member that inflates more than :data:`BOMB_RATIO` times and past :data:`BOMB_MIN_BYTES` is
  refused as a likely ZIP bomb;
- zstd data is decompressed under the same per-member cap;
- only regular files are read: a symbolic link (the file, or a folder on the way from the source's
  root), a FIFO, a device or a socket is refused, and so is a ZIP member stored as a symbolic link.

Failures surface as :class:`~debugkit.model.ArtifactUnavailable` with a one-line reason.
The limits are module constants read at call time, so tests can lower them.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
import zipfile
from pathlib import Path
from typing import BinaryIO

import zstandard

from debugkit.model import ArtifactUnavailable

MIB = 1024 * 1024
MAX_MEMBER_BYTES = 256 * MIB  # uncompressed bytes per member, per zstd stream, per file
MAX_ARCHIVE_BYTES = 1024 * MIB  # uncompressed bytes read from one archive in total
BOMB_RATIO = 200  # uncompressed / compressed above this ...
BOMB_MIN_BYTES = 10 * MIB  # ... and bigger than this: a likely ZIP bomb
CHUNK_BYTES = 1 * MIB
ZSTD_FEED_BYTES = 1024  # compressed bytes per decompress call

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
ZIP_MAGIC = b"PK\x03\x04"
ESCAPE_REASON = "path escapes the archive"

_DRIVE_RE = re.compile(r"^[A-Za-z]:")


def one_line(exc: BaseException) -> str:
    """An exception as a short single line: its first message line, or its type name."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _mib(n: int) -> str:
    return f"{n / MIB:.1f} MiB"


def unsafe_member_name(name: str) -> bool:
    """True when a member name is absolute, has ``..`` parts, a drive letter or a NUL byte.

    Backslashes count as separators, so ``..\\evil`` and ``\\abs`` are caught too.
    """
    if not name or "\x00" in name:
        return True
    norm = name.replace("\\", "/")
    if norm.startswith("/") or _DRIVE_RE.match(norm):
        return True
    return any(part == ".." for part in norm.split("/"))


def read_capped(stream: BinaryIO, cap: int, what: str, compressed_size: int | None = None) -> bytes:
    """Read ``stream`` to its end, refusing (ArtifactUnavailable kind="refused") past ``cap`` bytes.

    With ``compressed_size`` the bomb ratio is checked as bytes arrive, whatever headers claim.
    """
    # Into a BytesIO, whose buffer grows in place and becomes the result without a copy: a bytearray turned into
    # bytes at the end held the member twice (a long run's 60 MB HAR: 120 MB, the read's peak).
    buf = io.BytesIO()
    size = 0
    while True:
        chunk = stream.read(min(CHUNK_BYTES, cap - size + 1))
        if not chunk:
            return buf.getvalue()
        size += buf.write(chunk)
        if size > cap:
            raise ArtifactUnavailable(f"refused {what}: more than {_mib(cap)} uncompressed", "refused")
        if compressed_size is not None and _looks_like_bomb(size, compressed_size):
            reason = f"refused {what}: likely a ZIP bomb (ratio over {BOMB_RATIO}:1)"
            raise ArtifactUnavailable(reason, "refused")


def _looks_like_bomb(size: int, compressed: int) -> bool:
    return size > BOMB_MIN_BYTES and size > BOMB_RATIO * max(compressed, 1)


def decompress_zstd(data: bytes, what: str) -> bytes:
    """Decompress zstd ``data`` (every frame) under :data:`MAX_MEMBER_BYTES`.

    Input is fed in small pieces so that one call cannot inflate far past the cap (an RLE block
    turns 4 bytes into 128 KiB); junk or a truncated frame is "damaged", not silently empty.
    """
    out = bytearray()
    view = memoryview(data)
    pos = 0
    try:
        dctx = zstandard.ZstdDecompressor()
        while pos < len(view):
            frame = dctx.decompressobj()
            while not frame.eof:
                if pos >= len(view):
                    raise ArtifactUnavailable(f"cannot decompress {what}: truncated zstd data", "damaged")
                piece = view[pos : pos + ZSTD_FEED_BYTES]
                pos += len(piece)
                out += frame.decompress(piece)
                if len(out) > MAX_MEMBER_BYTES:
                    reason = f"refused {what}: more than {_mib(MAX_MEMBER_BYTES)} decompressed"
                    raise ArtifactUnavailable(reason, "refused")
            pos -= len(frame.unused_data)
    except ArtifactUnavailable:
        raise
    except Exception as exc:  # zstandard.ZstdError and friends
        raise ArtifactUnavailable(f"cannot decompress {what}: {one_line(exc)}", "damaged") from exc
    return bytes(out)


def maybe_decompress(data: bytes, what: str) -> bytes:
    """Decompress zstd data (magic ``28 B5 2F FD``); anything else is returned as it is.

    A ``.zst`` name without the magic is taken as already decompressed (Skyvern's content
    endpoint decompresses HAR files but the storage name keeps ``.zst``).
    """
    if data[:4] == ZSTD_MAGIC:
        return decompress_zstd(data, what)
    return data


_SPECIAL = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFDIR: "a folder",
}
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)


def _refused_link(label: str) -> ArtifactUnavailable:
    reason = f"refused {label}: a symbolic link (only regular files inside the run are read)"
    return ArtifactUnavailable(reason, "refused")


def open_regular(path: Path, label: str, root: Path | None = None) -> int:
    """A file descriptor of ``path``, only if it is a regular file reached without any symbolic link.

    With ``root``, every folder between ``root`` and the file is opened without following links too.
    A link, a FIFO, a device or a socket raises ArtifactUnavailable("refused"); opening never blocks."""
    parts: tuple[str, ...] = ()
    if root is not None:
        try:
            parts = path.relative_to(root).parts
        except ValueError:
            root = None
    directory = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)) if root is not None else None
    try:
        try:
            for part in parts[:-1]:
                inner = os.open(part, _DIR_FLAGS, dir_fd=directory)
                os.close(directory)  # type: ignore[arg-type]
                directory = inner
            name = parts[-1] if parts else str(path)
            fd = os.open(name, _OPEN_FLAGS, dir_fd=directory)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(path, root):
                raise _refused_link(label) from None
            raise
    finally:
        if directory is not None:
            os.close(directory)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = _SPECIAL.get(stat.S_IFMT(mode), "not a regular file")
        raise ArtifactUnavailable(f"refused {label}: {kind}, not a regular file", "refused")
    os.set_blocking(fd, True)
    return fd


def _is_link(path: Path, root: Path | None) -> bool:
    """Whether ``path`` or a folder between ``root`` and it is a symbolic link."""
    stop = root if root is not None else path.parent
    current = path
    while True:
        if current.is_symlink():
            return True
        if current == stop or current.parent == current:
            return False
        current = current.parent


def read_path(path: Path, what: str | None = None, root: Path | None = None) -> bytes:
    """Read a regular file (no symbolic link on the way from ``root``) under :data:`MAX_MEMBER_BYTES`,
    decompressing zstd content."""
    label = what or path.name
    try:
        with os.fdopen(open_regular(path, label, root), "rb") as fh:
            data = read_capped(fh, MAX_MEMBER_BYTES, label)
    except ArtifactUnavailable:
        raise
    except FileNotFoundError as exc:
        raise ArtifactUnavailable(f"file not found: {label}", "missing") from exc
    except OSError as exc:
        raise ArtifactUnavailable(f"cannot read {label}: {one_line(exc)}", "damaged") from exc
    return maybe_decompress(data, label)


class SafeZip:
    """A ZIP archive opened once, with unsafe members refused up front and capped reads.

    ``members`` maps the names that may be read to their infos; ``refused`` maps every refused
    member name to the reason. Directory entries are in neither.
    """

    def __init__(self, zf: zipfile.ZipFile, label: str) -> None:
        self._zf = zf
        self.label = label
        self.members: dict[str, zipfile.ZipInfo] = {}
        self.refused: dict[str, str] = {}
        self._sizes: dict[str, int] = {}  # bytes produced per member, for the archive cap
        for info in zf.infolist():
            self._admit(info)

    @classmethod
    def open(cls, source: Path | bytes, label: str, root: Path | None = None) -> SafeZip:
        """Open a ZIP from a path (a regular file reached without links from ``root``) or bytes;
        an unreadable one raises ArtifactUnavailable("damaged"), a link or special file "refused"."""
        try:
            if isinstance(source, bytes):
                if source[:4] == ZSTD_MAGIC:
                    source = decompress_zstd(source, label)
                zf = zipfile.ZipFile(io.BytesIO(source))
            else:
                zf = _open_zip_path(source, label, root)
            return cls(zf, label)
        except ArtifactUnavailable:
            raise
        except Exception as exc:  # BadZipFile, OSError, ValueError, EOFError ...
            reason = f"{label} is not a readable ZIP archive: {one_line(exc)}"
            raise ArtifactUnavailable(reason, "damaged") from exc

    def _admit(self, info: zipfile.ZipInfo) -> None:
        name = info.filename
        if unsafe_member_name(name):
            self.refused[name] = ESCAPE_REASON
        elif stat.S_ISLNK(info.external_attr >> 16):
            self.refused[name] = "a symbolic link"
        elif info.is_dir():
            return
        elif info.file_size > MAX_MEMBER_BYTES:
            self.refused[name] = f"{_mib(info.file_size)} uncompressed is over the {_mib(MAX_MEMBER_BYTES)} cap"
        elif _looks_like_bomb(info.file_size, info.compress_size):
            self.refused[name] = (
                f"likely a ZIP bomb ({_mib(info.file_size)} from {_mib(info.compress_size)}, ratio over {BOMB_RATIO}:1)"
            )
        else:
            self.members[name] = info

    def names(self) -> list[str]:
        """The readable member names, in archive order."""
        return list(self.members)

    def find(self, name: str) -> str | None:
        """The member called ``name``, or the only member whose base name is ``name``."""
        if name in self.members:
            return name
        hits = [m for m in self.members if m.rsplit("/", 1)[-1] == name]
        return hits[0] if len(hits) == 1 else None

    def read(self, name: str) -> bytes:
        """A member's bytes, under the member and archive caps; raises ArtifactUnavailable."""
        what = f"ZIP member {name!r} of {self.label}"
        if name in self.refused:
            raise ArtifactUnavailable(f"refused {what}: {self.refused[name]}", "refused")
        info = self.members.get(name)
        if info is None:
            raise ArtifactUnavailable(f"{what} not found", "missing")
        used = sum(size for member, size in self._sizes.items() if member != name)
        budget = MAX_ARCHIVE_BYTES - used
        cap = min(MAX_MEMBER_BYTES, budget)
        try:
            with self._zf.open(info) as fh:
                data = read_capped(fh, cap, what, compressed_size=info.compress_size)
        except ArtifactUnavailable as exc:
            if budget < MAX_MEMBER_BYTES and exc.kind == "refused":
                raise ArtifactUnavailable(
                    f"refused {what}: the archive is over its {_mib(MAX_ARCHIVE_BYTES)} cap", "refused"
                ) from exc
            raise
        except Exception as exc:  # CRC errors, truncated data, encryption, odd compression
            raise ArtifactUnavailable(f"cannot read {what}: {one_line(exc)}", "damaged") from exc
        self._sizes[name] = len(data)
        return data

    def close(self) -> None:
        handle = self._zf.fp
        self._zf.close()
        if handle is not None and not handle.closed:
            handle.close()  # a file object this module opened (ZipFile leaves those open)


def _open_zip_path(path: Path, label: str, root: Path | None = None) -> zipfile.ZipFile:
    """Open a ZIP file on disk; a zstd-compressed one is decompressed into memory first."""
    handle = os.fdopen(open_regular(path, label, root), "rb")
    try:
        magic = handle.read(4)
        if magic == ZSTD_MAGIC:
            handle.seek(0)
            data = decompress_zstd(read_capped(handle, MAX_MEMBER_BYTES, label), label)
            handle.close()
            return zipfile.ZipFile(io.BytesIO(data))
        handle.seek(0)
        return zipfile.ZipFile(handle)
    except BaseException:
        handle.close()
        raise

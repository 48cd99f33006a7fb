"""What downloaded bytes really are: the API labels most binaries ``application/json``."""

from __future__ import annotations

from debugkit.model import ArtifactUnavailable
from debugkit.sources.zipsafe import ZIP_MAGIC, ZSTD_MAGIC, SafeZip, decompress_zstd

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def sniff(data: bytes) -> str:
    """png | zip | zstd | json | html | text | empty | binary, from the bytes alone."""
    if not data:
        return "empty"
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(ZIP_MAGIC):
        return "zip"
    if data.startswith(ZSTD_MAGIC):
        return "zstd"
    head = data[:512].lstrip()
    if head[:1] in (b"{", b"["):
        return "json"
    if head[:1] == b"<":
        return "html"
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return "binary"
    return "text"


def unzstd(data: bytes, what: str) -> bytes:
    """Decompress a zstd stream under the size cap; ValueError with one line when it is damaged."""
    try:
        return decompress_zstd(data, what)
    except ArtifactUnavailable as exc:
        raise ValueError(exc.reason) from None


def extract_member(data: bytes, member: str, what: str) -> bytes:
    """Take ``member`` out of a whole archive (local/Azure/GCS storage return the ZIP for members)."""
    try:
        archive = SafeZip.open(data, what)
        name = archive.find(member)
        if name is None:
            raise ValueError(f"{what}: member {member!r} is not in the archive the server sent")
        return archive.read(name)
    except ArtifactUnavailable as exc:
        raise ValueError(exc.reason) from None

"""Decode JSON artifacts without letting a damaged one raise deep inside the pipeline."""

from __future__ import annotations

from typing import Any

import orjson

from debugkit.text import clip


class DamagedArtifact(ValueError):
    """The bytes are not what the artifact type promises; the message is one line."""


def load_json(data: bytes, what: str) -> Any:
    """Parse JSON bytes, raising DamagedArtifact with a short reason when they are not JSON."""
    if not data.strip():
        raise DamagedArtifact(f"{what} is empty")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DamagedArtifact(f"{what} is not valid JSON ({clip(str(exc), 80)})") from None


def decode_text(data: bytes) -> str:
    """Decode UTF-8 text; undecodable bytes are replaced rather than fatal."""
    return data.decode("utf-8", errors="replace")

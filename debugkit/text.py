"""Text helpers every reporter shares."""

from __future__ import annotations


def clip(text: str, limit: int) -> str:
    """Whitespace folded to single spaces, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"

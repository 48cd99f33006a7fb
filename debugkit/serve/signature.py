"""Is a delivery from Skyvern? Its signature, and how old it says it is.

Skyvern signs each webhook delivery with the organisation's API key:

- ``x-skyvern-signature``: the hex HMAC-SHA256 of the raw request body, keyed with the API key. It is
  checked over the bytes as received (re-serialised JSON would differ: Skyvern writes compact JSON and
  turns whole floats into integers), with a constant-time comparison.
- ``x-skyvern-timestamp``: unix seconds when the delivery was made. It is **not** signed, so it only
  limits how long a captured delivery can be replayed as it was (the de-duplication of run id and status
  does the rest). Skyvern derives it from a naive UTC time: a Skyvern server whose clock zone is not UTC
  sends a timestamp off by its UTC offset (run Skyvern in UTC, or raise ``--max-age``).
"""

from __future__ import annotations

import hashlib
import hmac
import math

SIGNATURE_HEADER = "x-skyvern-signature"
TIMESTAMP_HEADER = "x-skyvern-timestamp"


def sign(body: bytes, api_key: str) -> str:
    """The ``x-skyvern-signature`` Skyvern sends for ``body``."""
    return hmac.new(api_key.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_ok(body: bytes, signature: str | None, api_key: str) -> bool:
    """True when ``signature`` is the HMAC of exactly these bytes with this key (constant time)."""
    if not signature or not api_key:
        return False
    given = signature.strip().lower()
    return hmac.compare_digest(sign(body, api_key).encode("ascii"), given.encode("ascii", errors="replace"))


def timestamp_problem(value: str | None, now: float, max_age: float) -> str | None:
    """Why the delivery's timestamp is refused (missing, not a number, more than ``max_age`` s away from
    ``now``, in either direction), or None when it is acceptable."""
    if value is None or not value.strip():
        return f"no {TIMESTAMP_HEADER}"
    try:
        sent = float(value.strip())
    except ValueError:
        return f"{TIMESTAMP_HEADER} is not a number of seconds"
    if not math.isfinite(sent):
        return f"{TIMESTAMP_HEADER} is not a number of seconds"
    age = now - sent
    if abs(age) > max_age:
        when = "old" if age > 0 else "in the future"
        return f"{TIMESTAMP_HEADER} is {abs(age):.0f} s {when} (at most {max_age:.0f} s accepted)"
    return None

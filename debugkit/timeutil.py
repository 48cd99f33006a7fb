"""Times: Skyvern's database times are naive UTC; HAR and console times carry ``Z``.

Everything is normalised to aware UTC datetimes before any comparison.
"""

from __future__ import annotations

from datetime import UTC, datetime


def parse_time(value: object) -> datetime | None:
    """Parse an ISO 8601 time into an aware UTC datetime; naive values are taken as UTC.

    Returns None for anything that is not a parseable time string.
    """
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    """Format an aware datetime as ISO 8601 UTC with an explicit offset."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()

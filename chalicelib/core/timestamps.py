"""Instants as the pipeline writes them (ISO 8601: `...Z`, `...+00:00`, with or without fractions)
and as people read them: one format everywhere a comment shows a time, `2026-12-03 10:31 UTC`.

Minutes are enough for a reader (when a run was updated, when an environment or an approval
expires); the seconds are cut, never rounded up, so a shown expiry is never later than the real one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

DISPLAY_FORMAT = "%Y-%m-%d %H:%M UTC"
# An ISO 8601 date and time inside other text (a status message): the date, `T`, hours and minutes,
# optional seconds and fraction, optional `Z` or offset.
_ISO_IN_TEXT = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")


def parse_timestamp(text: str) -> datetime | None:
    """The instant `text` names, in UTC (a time without an offset is UTC, as every event's is), or None."""
    try:
        when = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def display_time(text: str) -> str:
    """`text` in the display format; text that is not an instant is returned as it is."""
    when = parse_timestamp(text)
    return when.strftime(DISPLAY_FORMAT) if when else str(text)


def display_times_in(text: str) -> str:
    """Every ISO 8601 instant inside `text` in the display format (messages name expiries)."""
    return _ISO_IN_TEXT.sub(lambda match: display_time(match.group(0)), text)

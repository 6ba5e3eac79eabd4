"""Durations written like `90s`, `90m`, `4h`, `2d` (and combined, `1h30m`), and their bounds."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.core.errors import FieldError

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(?:(\d{1,6})d)?(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,6})s)?$")
ACCEPTED = "a duration like 90m, 4h, 2d or 1h30m (units d, h, m, s)"


def parse_duration(text: str) -> int:
    """Seconds in `text`; ValueError naming what is accepted when it is not a duration."""
    if not isinstance(text, str):
        raise ValueError(f"expected {ACCEPTED}, got {type(text).__name__}")
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or not match or not any(match.groups()):
        raise ValueError(f"expected {ACCEPTED}, got {text!r}")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


def format_duration(seconds: int) -> str:
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


@dataclass(frozen=True)
class TtlBounds:
    minimum: int
    maximum: int
    default: int

    def accepted(self) -> str:
        return f"{ACCEPTED}, between {format_duration(self.minimum)} and {format_duration(self.maximum)}"

    def check(self, field: str, text: object) -> tuple[int | None, FieldError | None]:
        """(seconds, None) for a good TTL, (None, error) naming the field otherwise."""
        try:
            seconds = parse_duration(text)  # type: ignore[arg-type]
        except ValueError:
            return None, FieldError(field, text, self.accepted())
        if not self.minimum <= seconds <= self.maximum:
            return None, FieldError(field, text, self.accepted())
        return seconds, None

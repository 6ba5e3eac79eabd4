"""When EventBridge (Scheduler) expressions fire: `at(...)`, `rate(...)` and AWS's six-field `cron(...)`.

`next_fire(expression, after, created)` answers the first firing strictly after `after` (aware
datetimes), or None when there is none left. AWS cron: minutes hours day-of-month month day-of-week
year, with `*`, `?`, lists, ranges, steps and names (1 = SUN in day-of-week). The `L`, `W` and `#`
forms are refused with a clear message rather than silently mis-scheduled.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_MONTHS = {name: i for i, name in enumerate(_MONTH_NAMES, 1)}
_DAYS = {name: i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}


class ScheduleExpressionError(ValueError):
    pass


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int] | None:
    """The values a cron field allows; None for `*`/`?` (anything)."""
    if text in ("*", "?"):
        return None
    if any(mark in text for mark in ("L", "W", "#")) and not (names and text.upper() in names):
        raise ScheduleExpressionError(f"cron field {text!r}: the L, W and # forms are not supported by the local scheduler")
    values: set[int] = set()
    for part in text.split(","):
        base, _, step = part.partition("/")
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _value(first, names), _value(last, names)
        else:
            start = _value(base, names)
            end = high if step else start
        values.update(range(start, end + 1, int(step) if step else 1))
    if not values or min(values) < low or max(values) > high:
        raise ScheduleExpressionError(f"cron field {text!r} is outside {low}-{high}")
    return values


def _value(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ScheduleExpressionError(f"cron value {text!r} is not a number")
    return int(text)


class Cron:
    def __init__(self, body: str):
        parts = body.split()
        if len(parts) != 6:
            raise ScheduleExpressionError(f"cron({body}): AWS cron has six fields, got {len(parts)}")
        self.minutes = _field(parts[0], 0, 59)
        self.hours = _field(parts[1], 0, 23)
        self.days = _field(parts[2], 1, 31)
        self.months = _field(parts[3], 1, 12, _MONTHS)
        self.weekdays = _field(parts[4], 1, 7, _DAYS)
        self.years = _field(parts[5], 1970, 2199)

    @staticmethod
    def _ok(allowed: set[int] | None, value: int) -> bool:
        return allowed is None or value in allowed

    def _day_ok(self, day: datetime) -> bool:
        weekday = day.isoweekday() % 7 + 1  # Sunday = 1
        return (self._ok(self.years, day.year) and self._ok(self.months, day.month)
                and self._ok(self.days, day.day) and self._ok(self.weekdays, weekday))

    def next_after(self, after: datetime) -> datetime | None:
        moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(366 * 5):  # days
            if self._day_ok(moment):
                for hour in range(moment.hour, 24):
                    if not self._ok(self.hours, hour):
                        continue
                    first_minute = moment.minute if hour == moment.hour else 0
                    for minute in range(first_minute, 60):
                        if self._ok(self.minutes, minute):
                            return moment.replace(hour=hour, minute=minute)
            moment = (moment + timedelta(days=1)).replace(hour=0, minute=0)
        return None


def next_fire(expression: str, after: datetime, created: datetime, timezone: str | tzinfo = "UTC") -> datetime | None:
    zone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    expression = expression.strip()
    if match := _AT.match(expression):
        moment = datetime.fromisoformat(match[1]).replace(tzinfo=zone)
        return moment if moment > after else None
    if match := _RATE.match(expression):
        period = int(match[1]) * _UNIT_SECONDS[match[2].rstrip("s")]
        if period <= 0:
            raise ScheduleExpressionError(f"{expression}: a rate must be positive")
        elapsed = (after - created).total_seconds()
        periods = max(0, int(elapsed // period)) + 1
        return created + timedelta(seconds=periods * period)
    if match := _CRON.match(expression):
        found = Cron(match[1]).next_after(after.astimezone(zone))
        return found
    raise ScheduleExpressionError(f"{expression!r} is not an at(), rate() or cron() expression")


def validate(expression: str) -> None:
    now = datetime.now(ZoneInfo("UTC"))
    next_fire(expression, now, now)

"""When at(), rate() and AWS cron() expressions fire."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tfpipe.local.schedule_expressions import ScheduleExpressionError, next_fire

NOW = datetime(2026, 11, 25, 4, 30, 10, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(("expression", "expected"), [
    ("at(2026-11-25T04:30:13)", datetime(2026, 11, 25, 4, 30, 13, tzinfo=UTC)),
    ("rate(5 minutes)", datetime(2026, 11, 25, 4, 35, 10, tzinfo=UTC)),
    ("rate(1 day)", datetime(2026, 11, 26, 4, 30, 10, tzinfo=UTC)),
    ("cron(*/15 * * * ? *)", datetime(2026, 11, 25, 4, 45, tzinfo=UTC)),
    ("cron(0 12 ? * MON-FRI *)", datetime(2026, 11, 25, 12, 0, tzinfo=UTC)),
    ("cron(0 9 ? * 1 *)", datetime(2026, 11, 29, 9, 0, tzinfo=UTC)),  # 1 = Sunday in AWS cron
    ("cron(0 0 1 JAN ? 2027)", datetime(2027, 1, 1, 0, 0, tzinfo=UTC)),
])
def test_next_fire(expression, expected):
    assert next_fire(expression, NOW, NOW) == expected


def test_at_in_the_past_does_not_fire_again():
    assert next_fire("at(2026-11-25T04:30:00)", NOW, NOW) is None


def test_cron_in_a_timezone_fires_at_that_zone_local_time():
    fired = next_fire("cron(0 8 * * ? *)", NOW, NOW, "Europe/Paris")
    assert fired.astimezone(UTC) == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize("expression", ["cron(0 12 L * ? *)", "cron(0 12 * *)", "every(5 minutes)", "cron(0 25 * * ? *)"])
def test_unsupported_or_malformed_expressions_are_refused(expression):
    with pytest.raises(ScheduleExpressionError):
        next_fire(expression, NOW, NOW)

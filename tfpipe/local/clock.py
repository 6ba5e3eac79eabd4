"""The schedulers' clock: wall time, optionally running faster so rates and crons can be tested."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    def __init__(self, speed: float = 1.0):
        if speed <= 0:
            raise ValueError("the clock's speed must be positive")
        self.speed = speed
        self._real_start = time.time()
        self._monotonic_start = time.monotonic()

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._monotonic_start) * self.speed
        return datetime.fromtimestamp(self._real_start + elapsed, UTC)

"""Waiting out loud: a demo step that waits (for a run, an approval, a comment, a URL) says every few
seconds what it waits for, how long it has waited and, when it can tell, where things stand, so a
quiet terminal never looks like a hung one."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from tfpipe.demo.steps import NotVerified

T = TypeVar("T")
EVERY_SECONDS = 5.0


class Waiter:
    def __init__(self, say: Callable[[str], None] = lambda _: None, every: float = EVERY_SECONDS,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.say = say
        self.every = every
        self.clock = clock
        self.sleep = sleep

    def until(self, what: str, probe: Callable[[], T], timeout: float, interval: float = 0.5,
              detail: Callable[[], str | None] | None = None) -> T:
        """Poll until probe() is truthy and answer it; NotVerified naming what did not happen in time."""
        began = self.clock()
        due = began + self.every
        while True:
            value = probe()
            if value:
                return value
            now = self.clock()
            if now - began > timeout:
                raise NotVerified(f"{what}: not seen within {timeout:.0f} s")
            if now >= due:
                where = detail() if detail else None
                self.say(f"waiting for {what} ({now - began:.0f} s)" + (f": {where}" if where else ""))
                due = now + self.every
            self.sleep(interval)

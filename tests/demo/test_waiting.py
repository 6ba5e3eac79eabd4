"""A demo step that waits says what it waits for every few seconds. The clock is a stand-in so the
test does not take (or depend on) real time."""

from __future__ import annotations

import pytest

from tfpipe.demo.steps import NotVerified
from tfpipe.demo.waiting import Waiter


class SteppedClock:
    """Time that moves only when the waiter sleeps."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_wait_says_every_five_seconds_what_it_waits_for_and_where_things_stand():
    clock, said, polls = SteppedClock(), [], iter(range(100))
    waiter = Waiter(say=said.append, clock=clock, sleep=clock.sleep)
    answer = waiter.until("run plan-apply-prod-1 to end", lambda: next(polls) >= 24 and "done", timeout=60,
                          detail=lambda: "Apply: running the apply job")
    assert answer == "done"
    assert said == [f"waiting for run plan-apply-prod-1 to end ({s} s): Apply: running the apply job" for s in (5, 10)]


def test_a_short_wait_says_nothing_and_one_that_times_out_names_what_was_not_seen():
    clock, said = SteppedClock(), []
    waiter = Waiter(say=said.append, clock=clock, sleep=clock.sleep)
    assert waiter.until("a plan comment", lambda: clock.now >= 1003 and 1, timeout=60) == 1
    assert said == []
    with pytest.raises(NotVerified, match="a plan comment: not seen within 12 s"):
        waiter.until("a plan comment", lambda: None, timeout=12)
    assert said == ["waiting for a plan comment (5 s)", "waiting for a plan comment (10 s)"]

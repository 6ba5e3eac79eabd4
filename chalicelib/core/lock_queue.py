"""Waiting for an environment lock: whose turn it is, and when an older PLAN-APPLY is superseded.

Only the newest waiter is remembered per environment: when several commits queue up behind a held
lock, the newest one is what should reach the environment, so every older waiter ends as superseded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True)
class QueuedRun:
    run_id: str
    queued_at: float  # the run's execution start, seconds since the epoch


class LockQueue(Protocol):
    def enqueue(self, repository: str, environment: str, run_id: str, queued_at: float) -> QueuedRun: ...
    def newest_waiter(self, repository: str, environment: str) -> QueuedRun | None: ...
    def dequeue(self, repository: str, environment: str, run_id: str) -> None: ...


class LockState(StrEnum):
    """What the workflow does next; its Choice state branches on these values."""

    ACQUIRED = "acquired"
    WAIT = "wait"
    SUPERSEDED = "superseded"
    GAVE_UP = "gave-up"


def superseded_by(me: QueuedRun, newest: QueuedRun | None) -> str | None:
    """The run id that supersedes `me`, if a newer run is queued for the same environment."""
    if newest is None or newest.run_id == me.run_id:
        return None
    return newest.run_id if (newest.queued_at, newest.run_id) > (me.queued_at, me.run_id) else None


def after_lock_held(waited_seconds: float, max_wait_seconds: int) -> LockState:
    return LockState.GAVE_UP if waited_seconds >= max_wait_seconds else LockState.WAIT

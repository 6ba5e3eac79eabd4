"""Waiting for an environment lock: whose turn it is, and when an older PLAN-APPLY is superseded.

Only the newest PLAN-APPLY that asked for the lock is remembered per environment, whether it waits or
already holds the lock: the newest commit is what should reach the environment, so a run older than
it ends as superseded instead of applying an older commit after (or over) a newer one. A newer run
that finds the lock free takes it and is remembered too, so a run queued before it cannot apply later.
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
    def newest_in_line(self, repository: str, environment: str) -> QueuedRun | None: ...


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


def is_older(comparison: str) -> bool:
    """Whether a commit is an ancestor of another, from GitHub's compare of it (head) against the other
    (base): `behind` only. Identical is the same commit (applying it again is allowed); ahead and
    diverged are not older."""
    return comparison == "behind"


def after_lock_held(waited_seconds: float, max_wait_seconds: int) -> LockState:
    return LockState.GAVE_UP if waited_seconds >= max_wait_seconds else LockState.WAIT

"""The one status event schema on the SQS status queue (docs/architecture.md section 3)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum

SCHEMA_VERSION = 1


class Phase(StrEnum):
    QUEUED = "queued"
    LOCK = "lock"
    PLAN = "plan"
    APPROVAL = "approval"
    APPLY = "apply"
    HEALTH_CHECK = "health-check"
    ROLLBACK = "rollback"
    DESTROY = "destroy"
    SCHEDULE = "schedule"
    CUSTOM = "custom"
    DONE = "done"


class Status(StrEnum):
    STARTED = "started"
    PENDING = "pending"        # waiting: for the lock, for an approval
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"
    TIMED_OUT = "timed-out"
    SUPERSEDED = "superseded"
    ROLLED_BACK = "rolled-back"
    NEEDS_ATTENTION = "needs-attention"  # rollback failed; the lock stays held


@dataclass(frozen=True)
class StatusEvent:
    run_id: str
    workflow: str
    phase: Phase
    status: Status
    repository: str
    sha: str
    environment: str
    actor: str
    message: str
    timestamp: str  # ISO 8601, UTC
    pull_request: int | None = None
    artifacts: dict = field(default_factory=dict)  # name -> link or key
    details: dict = field(default_factory=dict)  # counts, outputs, approval instructions, error class
    schema: int = SCHEMA_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=str)

    @classmethod
    def from_dict(cls, data: dict) -> StatusEvent:
        data = dict(data)
        data["phase"] = Phase(data["phase"])
        data["status"] = Status(data["status"])
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_json(cls, text: str) -> StatusEvent:
        return cls.from_dict(json.loads(text))

    @property
    def dedup_key(self) -> str:
        """Identity of this event for at-most-once delivery per sink."""
        return f"{self.run_id}|{self.phase.value}|{self.status.value}|{self.timestamp}"

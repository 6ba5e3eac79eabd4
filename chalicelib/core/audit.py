"""Audit records: one JSON file per run that changed an environment, kept on a branch in Git."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

AUDIT_BRANCH = "tfpipe-audit"
CLEAN_RESULTS = frozenset({"applied", "rolled-back-to"})  # results that leave the env at `sha`


@dataclass(frozen=True)
class AuditRecord:
    run_id: str
    workflow: str
    action: str  # apply | rollback | ephemeral-apply | destroy
    environment: str
    account_id: str
    repository: str
    sha: str
    actor: str
    result: str  # applied | failed | rolled-back-to | destroyed | destroy-failed
    started_at: str
    finished_at: str
    approver: str | None = None
    plan_checksum: str | None = None
    error_class: str | None = None
    artifacts: dict = field(default_factory=dict)
    pull_request: int | None = None

    @property
    def applied_cleanly(self) -> bool:
        return self.result in CLEAN_RESULTS

    @property
    def path(self) -> str:
        return f"audit/{self.environment}/{self.finished_at.replace(':', '')}-{self.run_id}-{self.action}.json"

    @property
    def commit_message(self) -> str:
        by = f" approved by {self.approver}" if self.approver else ""
        return (f"{self.action} {self.sha[:7]} to {self.environment}: {self.result} "
                f"(run {self.run_id}, by {self.actor}{by})")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> AuditRecord:
        data = json.loads(text)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def last_good_commit(records: list[AuditRecord]) -> str | None:
    """The sha of the newest record that left the environment applied cleanly (records in time order)."""
    for record in sorted(records, key=lambda r: r.finished_at, reverse=True):
        if record.action in ("apply", "rollback", "ephemeral-apply") and record.applied_cleanly:
            return record.sha
        if record.action == "destroy" and record.result == "destroyed":
            return None
    return None

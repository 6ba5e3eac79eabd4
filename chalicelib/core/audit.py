"""Audit records: one JSON file per run that changed an environment, kept on a branch in Git."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

AUDIT_BRANCH = "tfpipe-audit"
CLEAN_RESULTS = frozenset({"applied", "rolled-back-to"})  # results that leave the env at `sha`


@dataclass(frozen=True)
class AuditRecord:
    run_id: str
    workflow: str
    action: str  # apply | rollback | ephemeral-apply | destroy | unlock (run_id: the run whose lock was cleared)
    environment: str
    account_id: str
    repository: str
    sha: str
    actor: str
    result: str  # applied | failed | rolled-back-to | destroyed | destroy-failed | unlocked | force-unlocked
    started_at: str
    finished_at: str
    approver: str | None = None
    approval_not_needed: str | None = None  # why no approver, when none was needed (an ephemeral environment)
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
        if self.action == "unlock":  # applies no commit: it names the run whose lock was cleared
            return f"unlock {self.environment}: {self.result} (lock of run {self.run_id}, by {self.actor})"
        return (f"{self.action} {self.sha[:7]} to {self.environment}: {self.result} "
                f"(run {self.run_id}, by {self.actor}{by})")

    @property
    def commit_text(self) -> str:
        """The whole commit message: the log line, then the facts a reader of `git log` wants."""
        facts = [f"run: {self.run_id}", f"workflow: {self.workflow}",
                 f"environment: {self.environment} (account {self.account_id})", f"commit: {self.sha}",
                 f"result: {self.result}"]
        if self.approver:
            facts.append(f"approved by: {self.approver}")
        if self.plan_checksum:
            facts.append(f"plan sha256: {self.plan_checksum}")
        if self.error_class:
            facts.append(f"error: {self.error_class}")
        if self.pull_request:
            facts.append(f"pull request: #{self.pull_request}")
        if self.approval_not_needed:
            facts.append(f"approval: none needed: {self.approval_not_needed}")
        return self.commit_message + "\n\n" + "\n".join(facts) + "\n"

    @property
    def author(self) -> tuple[str, str]:
        """(name, email) of the commit's author: the run's actor."""
        name = self.actor.split("@")[0] or "tfpipe"
        if "@" in self.actor:
            return name, self.actor
        # An IAM ARN (arn:aws:iam::1234:user/x) is no email local part: GitHub's Git Data API wants a valid one.
        return name, re.sub(r"[^A-Za-z0-9._+-]+", "-", name).strip("-.") + "@users.noreply.tfpipe"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> AuditRecord:
        data = json.loads(text)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


# Actions after which a clean result means the environment runs `sha`.
DEPLOYING_ACTIONS = frozenset({"apply", "rollback", "ephemeral-apply"})


def recorded_at(record: AuditRecord) -> datetime:
    """`finished_at` as a UTC instant (ISO 8601 with `Z`, an offset, or none meaning UTC)."""
    try:
        when = datetime.fromisoformat(record.finished_at.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def in_time_order(records: list[AuditRecord]) -> list[AuditRecord]:
    """Oldest first by `finished_at`; records finished at the same instant keep the order given
    (the order they were appended in, for a trail read from Git)."""
    return [r for _, r in sorted(enumerate(records), key=lambda pair: (recorded_at(pair[1]), pair[0]))]


def last_good_commit(records: list[AuditRecord]) -> str | None:
    """The commit the environment was last left running cleanly, or None.

    Walking back from the newest record: a clean apply or a successful rollback means the environment
    is at that record's sha (a rollback record's sha is the commit it went back to); a destroy means
    nothing runs there; failed applies, failed rollbacks and failed destroys say nothing about a good
    commit, so the walk goes on past them.
    """
    for record in reversed(in_time_order(records)):
        if record.action in DEPLOYING_ACTIONS and record.applied_cleanly:
            return record.sha
        if record.action == "destroy" and record.result == "destroyed":
            return None
    return None

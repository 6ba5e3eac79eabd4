"""What the workflows remember between steps: a run's progress and pending approval, and the
ephemeral environments alive with their expiry (the safety-net sweep reads these)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    workflow: str
    repository: str
    environment: str
    sha: str
    actor: str
    execution_arn: str
    started_at: str
    status: str = "running"  # running | succeeded | failed | ...: the last terminal status published
    pull_request: int | None = None
    approval_state: str | None = None  # pending | approved | rejected | expired | superseded
    approver: str | None = None
    updated_at: str | None = None
    # Who may not approve it (PipelineRequest.requested_by and commit_authors): GitHub logins, IAM ARNs, emails.
    requested_by: tuple[str, ...] = ()
    commit_authors: tuple[str, ...] = ()
    plan_sha256: str | None = None  # the plan the approval is for: an approval names it, the apply applies it
    superseded_by: str | None = None  # the newer run whose plan voided this run's pending approval


class EnvironmentState:
    ACTIVE = "active"
    DESTROY_FAILED = "destroy-failed"


@dataclass(frozen=True)
class EnvironmentRecord:
    """An ephemeral environment that exists, when it expires, and the DESTROY run that removes it."""

    repository: str
    environment: str
    destroy_at: int  # seconds since the epoch (not `expires_at`: the runs table expires items by that)
    schedule_name: str
    destroy_input: dict  # the DESTROY workflow's execution input (Run.to_dict())
    state: str = EnvironmentState.ACTIVE

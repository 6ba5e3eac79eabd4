"""The first step of every workflow: remember the run, say it started, hand the workflow its limits."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.core.run_records import RunRecord
from chalicelib.tasks import status
from chalicelib.tasks.event import TaskEvent


def start(deps, raw: object) -> dict:
    event = TaskEvent.parse(raw, "starting a run")
    run, request = event.run, event.run.request
    started = datetime.fromtimestamp(event.started_at, UTC) if event.started_at else datetime.now(UTC)
    deps.runs.start(RunRecord(
        run_id=run.run_id, workflow=run.workflow.value, repository=request.repository,
        environment=request.environment.name, sha=request.sha or request.commit, actor=request.user_email,
        execution_arn=event.execution_arn, started_at=started.isoformat(timespec="seconds"),
        pull_request=request.pull_request, requested_by=request.requested_by,
        commit_authors=request.commit_authors))
    status.publish(deps, run, "started", event.state)
    settings = deps.settings
    # Read by the state machines' Wait and TimeoutSecondsPath fields, so tests and operators tune them;
    # DESTROY's Choice reads `needs_approval`: a long-lived environment changes only under an approved plan.
    return {"approval_timeout_seconds": settings.approval_timeout_seconds,
            "lock_wait_seconds": settings.lock_wait_seconds,
            "needs_approval": not request.environment.is_ephemeral}

"""Run history for the workflows: record what a run did to an environment, and find the last
commit that applied cleanly to it (what a rollback applies)."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.core.audit import AuditRecord
from chalicelib.core.errors import FieldError, InvalidRequest
from chalicelib.tasks.event import TaskEvent

ACTIONS = frozenset({"apply", "rollback", "ephemeral-apply", "destroy"})
RESULTS = frozenset({"applied", "failed", "rolled-back-to", "destroyed", "destroy-failed"})
JOB_STEP = {"rollback": "rollback", "destroy": "destroy"}  # where the job's result is in the state


def resolve(deps, raw: object) -> dict:
    """The last_good_commit task: `{"sha": <sha or null>}`."""
    event = TaskEvent.parse(raw, "finding the last commit that applied cleanly")
    request = event.run.request
    return {"sha": deps.audit_log.last_good_commit(request.repository, request.environment.name)}


def record(deps, raw: object) -> dict:
    """The record_audit task: `action` and `result`; a rollback records the commit it applied."""
    event = TaskEvent.parse(raw, "recording a run in the audit trail")
    action, result = event.params.get("action"), event.params.get("result")
    errors = [FieldError(name, value, ", ".join(sorted(allowed))) for name, value, allowed in
              (("action", action, ACTIONS), ("result", result, RESULTS)) if value not in allowed]
    if errors:
        raise InvalidRequest("recording a run in the audit trail", errors)
    run, request = event.run, event.run.request
    sha = event.step("last_good").get("sha") if action == "rollback" else request.sha
    job = event.step(JOB_STEP.get(action, "apply"))
    started = datetime.fromtimestamp(event.started_at, UTC) if event.started_at else datetime.now(UTC)
    audit = AuditRecord(
        run_id=run.run_id, workflow=run.workflow.value, action=action, environment=request.environment.name,
        account_id=request.environment.account_id, repository=request.repository, sha=sha or request.commit,
        actor=request.user_email, result=result, started_at=started.isoformat(timespec="seconds"),
        finished_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        approver=event.step("approval").get("actor"),
        plan_checksum=job.get("plan_checksum") or event.step("plan").get("plan_checksum"),
        error_class=(event.step("error").get("Error")) if result in ("failed", "destroy-failed") else None,
        artifacts=dict(job.get("artifacts") or {}), pull_request=request.pull_request)
    deps.audit_log.append(audit)
    return {"recorded": audit.path}

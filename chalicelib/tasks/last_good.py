"""Run history for the workflows: record what a run did to an environment, and find the last
commit that applied cleanly to it: what a rollback applies, what DESTROY destroys with, and what
`tfpipe destroy` and `tfpipe ttl` name."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.core.audit import AuditRecord
from chalicelib.core.errors import FieldError, InvalidRequest
from chalicelib.core.request import Environment
from chalicelib.core.runs import Run
from chalicelib.tasks.event import TaskEvent

ACTIONS = frozenset({"apply", "rollback", "ephemeral-apply", "destroy"})
RESULTS = frozenset({"applied", "failed", "rolled-back-to", "destroyed", "destroy-failed"})
JOB_STEP = {"rollback": "rollback", "destroy": "destroy"}  # where the job's result is in the state
# Which commit a step acts on (its `commit` parameter): the one the run was asked for, or the one the
# environment was last left at cleanly (`$.last_good`, found by the last_good_commit task).
COMMITS = ("request", "last-good")


def find(deps, repository: str, environment: str) -> str | None:
    """The commit `environment` was last left running cleanly, or None: the audit trail's last good
    commit, else the commit an ephemeral environment's TTL destroy was scheduled with (recorded after
    each apply that succeeded, so it stands in when the audit record of that apply was not written).
    An audit trail that cannot be read raises: nothing is guessed."""
    sha = deps.audit_log.last_good_commit(repository, environment)
    if sha:
        return sha
    record = deps.runs.get_environment(repository, environment)
    return Run.from_dict(record.destroy_input).request.sha if record else None


def resolve(deps, raw: object) -> dict:
    """The last_good_commit task: `{"sha": <sha or null>}`."""
    event = TaskEvent.parse(raw, "finding the last commit that applied cleanly")
    request = event.run.request
    return {"sha": find(deps, request.repository, request.environment.name)}


def commit_of(event: TaskEvent, doing: str) -> str | None:
    """The commit a step acts on, by its `commit` parameter: `request` (the default), or `last-good`:
    the environment's last good commit, else the request's when none is known. DESTROY destroys with
    the configuration that made what is there, not with the commit that asked (a closed pull request's
    head may be a broken commit that never applied)."""
    commit = event.params.get("commit", "request")
    if commit not in COMMITS:
        raise InvalidRequest(doing, [FieldError("commit", commit, ", ".join(COMMITS))])
    request = event.run.request
    if commit == "last-good":
        return event.step("last_good").get("sha") or request.sha
    return request.sha


def _approval_not_needed(environment: Environment, action: str, sha: str) -> str | None:
    """Why a change went unapproved, for its audit record: ephemeral environments change unattended, and a
    rollback goes back to a commit that an approval had already let through."""
    if action == "rollback":
        return (f"automatic rollback of a failed run to {sha[:7]}, the last commit applied cleanly to "
                f"{environment.name} (applied under its own approval)")
    if environment.is_ephemeral:
        return f"{environment.name} is an ephemeral environment (pr-<N>): its changes need no approval"
    return None


def record(deps, raw: object) -> dict:
    """The record_audit task: `action` and `result`; a rollback records the commit it applied."""
    event = TaskEvent.parse(raw, "recording a run in the audit trail")
    action, result = event.params.get("action"), event.params.get("result")
    errors = [FieldError(name, value, ", ".join(sorted(allowed))) for name, value, allowed in
              (("action", action, ACTIONS), ("result", result, RESULTS)) if value not in allowed]
    if errors:
        raise InvalidRequest("recording a run in the audit trail", errors)
    run, request = event.run, event.run.request
    doing = "recording a run in the audit trail"
    sha = event.step("last_good").get("sha") if action == "rollback" else commit_of(event, doing)
    job = event.step(JOB_STEP.get(action, "apply"))
    started = datetime.fromtimestamp(event.started_at, UTC) if event.started_at else datetime.now(UTC)
    # The run's approval was of the plan that failed, not of what a rollback applies: a rollback names none.
    approver = None if action == "rollback" else event.step("approval").get("actor")
    sha = sha or request.commit
    audit = AuditRecord(
        run_id=run.run_id, workflow=run.workflow.value, action=action, environment=request.environment.name,
        account_id=request.environment.account_id, repository=request.repository, sha=sha,
        actor=request.user_email, result=result, started_at=started.isoformat(timespec="seconds"),
        finished_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        approver=approver, approval_not_needed=None if approver else _approval_not_needed(request.environment, action, sha),
        plan_checksum=job.get("plan_checksum") or (None if action == "rollback" else event.step("plan").get("plan_checksum")),
        error_class=(event.step("error").get("Error")) if result in ("failed", "destroy-failed") else None,
        artifacts=dict(job.get("artifacts") or {}), pull_request=request.pull_request)
    deps.audit_log.append(audit)
    return {"recorded": audit.path}

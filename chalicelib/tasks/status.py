"""Publishing a run's status at every phase, and the words each (phase, status) is told in."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from chalicelib.core.durations import format_duration
from chalicelib.core.runs import Run
from chalicelib.core.status import Phase, Status, StatusEvent
from chalicelib.tasks.event import TaskEvent

MAX_CAUSE = 1000

# (phase, status) -> message; fields come from `_facts`. A pair missing here is a programming error.
MESSAGES: dict[tuple[Phase, Status], str] = {
    (Phase.QUEUED, Status.STARTED): "{title} of {sha7} to {environment} started by {actor}",
    (Phase.LOCK, Status.PENDING): "waiting for the lock of {environment}: {error}",
    (Phase.LOCK, Status.SUPERSEDED): "superseded by newer run {superseded_by}: {sha7} will not be applied",
    (Phase.LOCK, Status.FAILED): "gave up waiting for the lock of {environment}: {error}",
    (Phase.PLAN, Status.STARTED): "planning {sha7} for {environment}",
    (Phase.PLAN, Status.SUCCEEDED): "plan of {sha7} for {environment}: {counts}",
    (Phase.PLAN, Status.FAILED): "plan of {sha7} for {environment} failed: {error}",
    (Phase.APPROVAL, Status.PENDING): "approval needed to apply {sha7} to {environment}: {counts}",
    (Phase.APPROVAL, Status.SUCCEEDED): "apply of {sha7} to {environment} approved by {approver}",
    (Phase.APPROVAL, Status.REJECTED): "apply of {sha7} to {environment} rejected by {approver}; nothing applied",
    (Phase.APPROVAL, Status.TIMED_OUT): "nobody approved {sha7} for {environment} in time; nothing applied",
    (Phase.APPLY, Status.STARTED): "applying {sha7} to {environment}",
    (Phase.APPLY, Status.SUCCEEDED): "applied {sha7} to {environment}: {counts}",
    (Phase.APPLY, Status.FAILED): "apply of {sha7} to {environment} failed: {error}",
    (Phase.ROLLBACK, Status.STARTED): "rolling {environment} back to {last_good7}",
    (Phase.ROLLBACK, Status.ROLLED_BACK): "{environment} rolled back to {last_good7} after the failed apply of {sha7}",
    (Phase.ROLLBACK, Status.FAILED): "no rollback: no commit has applied cleanly to {environment} yet",
    (Phase.ROLLBACK, Status.NEEDS_ATTENTION): (
        "rollback failed, environment needs attention: {environment} is locked until an operator "
        "runs `tfpipe unlock {environment}` ({error})"),
    (Phase.DESTROY, Status.STARTED): "destroying {environment}",
    (Phase.DESTROY, Status.SUCCEEDED): "destroyed {environment}",
    (Phase.DESTROY, Status.FAILED): "destroy of {environment} failed; it stays listed as failed-to-destroy: {error}",
    (Phase.SCHEDULE, Status.SUCCEEDED): "{environment} is up{url}; it is destroyed at {expires_at} (in {ttl})",
    (Phase.SCHEDULE, Status.FAILED): "scheduling the TTL destroy of {environment} failed: {error}",
    (Phase.CUSTOM, Status.STARTED): "running terraform {custom} on {environment}",
    (Phase.CUSTOM, Status.SUCCEEDED): "terraform {custom} on {environment} finished",
    (Phase.CUSTOM, Status.FAILED): "terraform {custom} on {environment} failed: {error}",
    (Phase.DONE, Status.SUCCEEDED): "{title} of {sha7} to {environment} finished",
    (Phase.DONE, Status.FAILED): "{title} of {sha7} to {environment} failed: {error}",
}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def describe_error(error: dict) -> str:
    """`Error: cause`; a task Lambda's cause is its error payload, of which only the message is told
    (never its stack trace); a job's cause is the tail of its log."""
    if not error:
        return "no details"
    cause = str(error.get("Cause") or "")
    try:
        payload = json.loads(cause)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and "errorMessage" in payload:
        cause = str(payload["errorMessage"])
    cause = cause[-MAX_CAUSE:]
    return f"{error.get('Error', 'Error')}: {cause}" if cause else str(error.get("Error", "Error"))


def _counts(result: dict) -> str:
    if not result:
        return "no result"
    if not result.get("has_changes", True):
        return "no changes"
    return f"{result.get('add', 0)} to add, {result.get('change', 0)} to change, {result.get('destroy', 0)} to destroy"


def _facts(run: Run, state: dict, extra: dict) -> dict:
    request = run.request
    result = state.get("apply") or state.get("plan") or {}
    schedule = state.get("schedule") or {}
    outputs = (state.get("apply") or {}).get("outputs") or {}
    url = outputs.get("url") or outputs.get("environment_url") or outputs.get("health_check_url")
    return {
        "title": run.workflow.title, "sha7": (request.sha or request.commit)[:7],
        "environment": request.environment.name, "actor": request.user_email,
        "error": describe_error(state.get("error") or {}), "counts": _counts(result),
        "approver": (state.get("approval") or {}).get("actor", "someone"),
        "last_good7": str((state.get("last_good") or {}).get("sha") or "")[:7],
        "superseded_by": (state.get("lock") or {}).get("superseded_by", ""),
        "expires_at": schedule.get("expires_at", ""), "ttl": format_duration(int(schedule.get("ttl_seconds", 0))),
        "url": f" at {url}" if url else "",
        "custom": " ".join(request.custom.argv) if request.custom else "",
        **extra,
    }


def event_for(run: Run, phase: Phase, status: Status, state: dict, extra: dict | None = None,
              details: dict | None = None, artifacts: dict | None = None) -> StatusEvent:
    request = run.request
    message = MESSAGES[(phase, status)].format(**_facts(run, state, extra or {}))
    error = state.get("error") or {}
    result = state.get("apply") or state.get("plan") or {}
    merged = {k: v for k, v in {
        "error_class": error.get("Error"),
        "counts": {k: result[k] for k in ("add", "change", "destroy", "has_changes") if k in result} or None,
        "outputs": (state.get("apply") or {}).get("outputs") or None,
    }.items() if v}
    merged.update(details or {})
    return StatusEvent(run_id=run.run_id, workflow=run.workflow.value, phase=phase, status=status,
                       repository=request.repository, sha=request.sha or request.commit,
                       environment=request.environment.name, actor=request.user_email, message=message,
                       timestamp=_now(), pull_request=request.pull_request,
                       artifacts=artifacts if artifacts is not None else dict(result.get("artifacts") or {}),
                       details=merged)


def publish(deps, run: Run, phase: Phase, status: Status, state: dict, **kwargs) -> StatusEvent:
    event = event_for(run, phase, status, state, **kwargs)
    deps.status_publisher.publish(event)
    return event


def handle(deps, raw: object) -> dict:
    """The publish_status task: `phase`, `status` and, on a run's last status, `final: true`."""
    event = TaskEvent.parse(raw, "publishing a run's status")
    phase, status = Phase(event.params["phase"]), Status(event.params["status"])
    published = publish(deps, event.run, phase, status, event.state)
    if event.params.get("final"):
        deps.runs.finish(event.run.run_id, status.value)
    return {"phase": phase.value, "status": status.value, "message": published.message}

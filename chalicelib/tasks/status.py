"""Publishing a run's status: the workflow tells what only it knows (started, waiting for the lock,
approval, rollback, TTL, and one last event for how the run ended); the job tells its own phases.

Each message has a name the state machines use (`"message": "applied"`), its (phase, status), and
its words. A run that succeeds ends with phase `done`; one that fails ends with `done` (failed,
rejected, timed-out, superseded) or with the rollback's own ending (rolled-back, needs-attention).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chalicelib.core.durations import format_duration
from chalicelib.core.errors import FieldError, InvalidRequest
from chalicelib.core.failure_cause import JobFailureCause
from chalicelib.core.runs import Run
from chalicelib.core.status import Phase, Status, StatusEvent
from chalicelib.tasks.event import TaskEvent

MAX_CAUSE = 1000


@dataclass(frozen=True)
class Message:
    phase: Phase
    status: Status
    words: str  # fields from `_facts`


MESSAGES: dict[str, Message] = {
    "started": Message(Phase.QUEUED, Status.STARTED, "{title} of {sha7} to {environment} started by {actor}"),
    "lock-pending": Message(Phase.LOCK, Status.PENDING, "waiting for the lock of {environment}: {error}"),
    "superseded": Message(Phase.DONE, Status.SUPERSEDED,
                          "superseded by newer run {superseded_by}: {sha7} will not be applied to {environment}"),
    "older-than-applied": Message(Phase.DONE, Status.SUPERSEDED,
                                  "superseded: {sha7} is an ancestor of {applied7}, which {environment} already "
                                  "runs; nothing planned or applied (an older commit never replaces a newer one)"),
    "lock-gave-up": Message(Phase.DONE, Status.FAILED, "gave up waiting for the lock of {environment}: {error}"),
    "planned": Message(Phase.DONE, Status.SUCCEEDED, "plan of {sha7} for {environment}: {counts}"),
    "plan-failed": Message(Phase.DONE, Status.FAILED, "plan of {sha7} for {environment} failed: {error}"),
    "no-changes": Message(Phase.DONE, Status.SUCCEEDED,
                          "nothing to apply: the plan of {sha7} for {environment} has no changes"),
    "approval-pending": Message(Phase.APPROVAL, Status.PENDING,
                                "approval needed to apply {sha7} to {environment}: {counts}"),
    "approved": Message(Phase.APPROVAL, Status.SUCCEEDED, "apply of {sha7} to {environment} approved by {approver}"),
    "rejected": Message(Phase.DONE, Status.REJECTED,
                        "apply of {sha7} to {environment} rejected by {approver}; nothing applied"),
    "approval-timed-out": Message(Phase.DONE, Status.TIMED_OUT,
                                  "nobody approved {sha7} for {environment} in time; nothing applied"),
    "applied": Message(Phase.DONE, Status.SUCCEEDED, "applied {sha7} to {environment}: {counts}"),
    "stale-plan": Message(Phase.DONE, Status.FAILED,
                          "apply of {sha7} to {environment} refused, nothing applied: {error}"),
    "preview-collision": Message(Phase.DONE, Status.FAILED,
                                 "apply of {sha7} to {environment} refused, nothing applied: {error}"),
    "rollback-started": Message(Phase.ROLLBACK, Status.STARTED,
                                "apply of {sha7} to {environment} failed ({error}); rolling back to {last_good7}"),
    "rolled-back": Message(Phase.ROLLBACK, Status.ROLLED_BACK,
                           "{environment} rolled back to {last_good7} after the failed apply of {sha7}"),
    "no-rollback": Message(Phase.DONE, Status.FAILED,
                           "apply of {sha7} to {environment} failed ({error}); no rollback: no commit has applied "
                           "cleanly to {environment} yet"),
    "needs-attention": Message(Phase.ROLLBACK, Status.NEEDS_ATTENTION,
                               "{attention}, environment needs attention: {environment} is locked until an "
                               "operator runs `tfpipe unlock {environment}` ({error})"),
    "ephemeral-ready": Message(Phase.SCHEDULE, Status.SUCCEEDED,
                               "{environment} is up{url}; it is destroyed at {expires_at} (in {ttl})"),
    "ephemeral-done": Message(Phase.DONE, Status.SUCCEEDED, "{environment} is up{url} until {expires_at}"),
    "schedule-failed": Message(Phase.DONE, Status.FAILED,
                               "scheduling the TTL destroy of {environment} failed: {error}"),
    "ephemeral-destroyed": Message(Phase.DONE, Status.FAILED,
                                   "apply of {sha7} to {environment} failed; what it created was destroyed ({error})"),
    # A job that failed before applying (checkout, build, init, plan) changed nothing: nothing is destroyed.
    "ephemeral-unchanged": Message(Phase.DONE, Status.FAILED,
                                   "apply of {sha7} to {environment} failed before it changed anything ({error}); "
                                   "nothing was destroyed: {environment} still runs {last_good7}"),
    "ephemeral-nothing-changed": Message(Phase.DONE, Status.FAILED,
                                         "apply of {sha7} to {environment} failed before it changed anything "
                                         "({error}); nothing was created or destroyed"),
    "ephemeral-destroy-failed": Message(Phase.DONE, Status.FAILED,
                                        "apply of {sha7} to {environment} failed, and destroying what it created "
                                        "failed too; it stays listed as failed-to-destroy: {error}"),
    "destroyed": Message(Phase.DONE, Status.SUCCEEDED, "destroyed {environment}"),
    # DESTROY of a long-lived environment: its destroy plan waits for approval, then exactly it is applied.
    "destroy-plan-failed": Message(Phase.DONE, Status.FAILED,
                                   "planning the destroy of {environment} failed; nothing was destroyed: {error}"),
    "nothing-to-destroy": Message(Phase.DONE, Status.SUCCEEDED,
                                  "nothing to destroy: the destroy plan of {environment} has no changes"),
    "destroy-approval-pending": Message(Phase.APPROVAL, Status.PENDING,
                                        "approval needed to destroy {environment}: {counts}"),
    "destroy-approved": Message(Phase.APPROVAL, Status.SUCCEEDED, "destroy of {environment} approved by {approver}"),
    "destroy-rejected": Message(Phase.DONE, Status.REJECTED,
                                "destroy of {environment} rejected by {approver}; nothing destroyed"),
    "destroy-approval-timed-out": Message(Phase.DONE, Status.TIMED_OUT,
                                          "nobody approved the destroy of {environment} in time; nothing destroyed"),
    "destroy-stale-plan": Message(Phase.DONE, Status.FAILED,
                                  "destroy of {environment} refused, nothing destroyed: {error}"),
    "destroy-failed": Message(Phase.DONE, Status.FAILED,
                              "destroy of {environment} failed; it stays listed as failed-to-destroy: {error}"),
    "ttl-moved": Message(Phase.SCHEDULE, Status.SUCCEEDED,
                         "the destroy of {environment} moved to {expires_at} (in {ttl})"),
    "ttl-moved-done": Message(Phase.DONE, Status.SUCCEEDED, "{environment} now lives until {expires_at}"),
    "ttl-move-failed": Message(Phase.DONE, Status.FAILED, "moving the TTL of {environment} failed: {error}"),
    "custom-done": Message(Phase.DONE, Status.SUCCEEDED, "terraform {custom} on {environment} finished"),
    "custom-failed": Message(Phase.DONE, Status.FAILED, "terraform {custom} on {environment} failed: {error}"),
    "run-failed": Message(Phase.DONE, Status.FAILED, "{title} of {sha7} to {environment} failed: {error}"),
}

# Where a step's result lands in the workflow state, newest meaning first.
RESULT_KEYS = ("custom", "destroy", "rollback", "apply", "plan")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def describe_error(error: dict) -> str:
    """`Error: cause`; a task Lambda's cause is its error payload, of which only the message is told
    (never its stack trace); a job's cause is a `JobFailureCause`, of which the message is told."""
    if not error:
        return "no details"
    cause = str(error.get("Cause") or "")
    job = JobFailureCause.parse(cause)
    if job is not None:
        cause = job.message
    else:
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


def _result(state: dict) -> dict:
    return next((state[k] for k in RESULT_KEYS if isinstance(state.get(k), dict)), {})


def _url(state: dict) -> str | None:
    outputs = (_result(state).get("outputs") or {})
    for candidate in (outputs.get("url"), outputs.get("environment_url"), outputs.get("function_url")):
        if isinstance(candidate, str) and candidate.startswith(("http://", "https://")):
            return candidate
    return None


def attention_cause(state: dict) -> str:
    """Why a failed apply left its environment for an operator: the rollback failed, or it could not
    even start because the audit trail (where the last good commit is read) did not answer."""
    unread = state.get("last_good_error")
    if unread:
        return f"no rollback: the last good commit could not be read from the audit trail ({describe_error(unread)})"
    return "rollback failed"


def _facts(run: Run, state: dict, extra: dict) -> dict:
    request = run.request
    schedule = state.get("schedule") or {}
    url = _url(state)
    return {
        "title": run.workflow.title, "sha7": (request.sha or request.commit)[:7],
        "environment": request.environment.name, "actor": request.user_email,
        "error": describe_error(state.get("error") or {}), "counts": _counts(_result(state)),
        "approver": (state.get("approval") or {}).get("actor", "someone"),
        "last_good7": str((state.get("last_good") or {}).get("sha") or "")[:7],
        "superseded_by": ((state.get("lock") or {}).get("superseded_by")
                          or (state.get("approval") or {}).get("superseded_by", "")),
        "expires_at": schedule.get("expires_at", ""), "ttl": format_duration(int(schedule.get("ttl_seconds", 0))),
        "url": f" at {url}" if url else "",
        "custom": " ".join(request.custom.argv) if request.custom else "",
        "attention": attention_cause(state),
        **extra,
    }


def _details(state: dict) -> dict:
    """What the fan-out reads (chalicelib/core/comments.py, fanout.py): counts, outputs, URL, expiry, error."""
    result, error, schedule = _result(state), state.get("error") or {}, state.get("schedule") or {}
    details = {k: result[k] for k in ("has_changes", "add", "change", "destroy") if k in result}
    if result.get("outputs"):
        details["outputs"] = result["outputs"]
    if _url(state):
        details["url"] = _url(state)
    if schedule.get("expires_at"):
        details["expires_at"] = schedule["expires_at"]
    if error:
        details["error_class"] = error.get("Error")
        details["error"] = describe_error(error)
        job = JobFailureCause.parse(error.get("Cause"))
        if job is not None:
            details["diagnostics"] = [d.to_dict() for d in job.diagnostics]
            if job.log_tail:
                details["error"] += f"\n--- last log lines ---\n{job.log_tail}"
    return details


def _artifacts(state: dict) -> dict:
    """The artifacts of the step's result, and the log of the job that failed (as `failed_log` when a
    later job, a rollback or a clean-up destroy, has a log of its own)."""
    artifacts = dict(_result(state).get("artifacts") or {})
    job = JobFailureCause.parse((state.get("error") or {}).get("Cause"))
    if job is not None and job.log:
        artifacts["log" if artifacts.get("log") in (None, job.log) else "failed_log"] = job.log
    return artifacts


def event_for(run: Run, name: str, state: dict, extra: dict | None = None, details: dict | None = None) -> StatusEvent:
    message = MESSAGES[name]
    request = run.request
    return StatusEvent(run_id=run.run_id, workflow=run.workflow.value, phase=message.phase, status=message.status,
                       repository=request.repository, sha=request.sha or request.commit,
                       environment=request.environment.name, actor=request.user_email,
                       message=message.words.format(**_facts(run, state, extra or {})),
                       timestamp=_now().isoformat(), pull_request=request.pull_request,
                       artifacts=_artifacts(state),
                       details={**_details(state), **(details or {})})


def publish(deps, run: Run, name: str, state: dict, **kwargs) -> StatusEvent:
    event = event_for(run, name, state, **kwargs)
    deps.status_publisher.publish(event)
    return event


def handle(deps, raw: object) -> dict:
    """The publish_status task: `messages` (names, published in order); `final: true` on a run's end."""
    event = TaskEvent.parse(raw, "publishing a run's status")
    names = event.params.get("messages")
    if not isinstance(names, list) or not names or any(n not in MESSAGES for n in names):
        raise InvalidRequest("publishing a run's status", [FieldError("messages", names, ", ".join(MESSAGES))])
    final = bool(event.params.get("final"))
    if final:  # recorded before it is told: the fan-out shows a success only when the run's record agrees
        deps.runs.finish(event.run.run_id, MESSAGES[names[-1]].status.value)
    # The last event of a run says so (details.final), so sinks know the run ended there.
    published = [publish(deps, event.run, name, event.state, details={"final": True} if final and i == len(names) - 1
                         else None) for i, name in enumerate(names)]
    return {"phase": published[-1].phase.value, "status": published[-1].status.value,
            "message": published[-1].message}


def approval_expiry(timeout_seconds: int) -> str:
    return (_now() + timedelta(seconds=timeout_seconds)).isoformat()

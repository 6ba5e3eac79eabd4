"""Approvals: the approval step keeps its task token against the run; a decision (PR comment, or the
IAM-authorized API route the CLI calls) answers that token once. Nobody answering times out in the
state machine."""

from __future__ import annotations

from chalicelib.adapters.task_callbacks import TokenClosed
from chalicelib.core.approval import self_approval
from chalicelib.core.errors import DependencyFailed, FieldError, Forbidden, InvalidRequest, NotFound
from chalicelib.core.workflows import Workflow
from chalicelib.tasks import status
from chalicelib.tasks.event import TaskEvent


def how_to_decide(run_id: str) -> dict:
    return {"comment": f"/approve {run_id}  or  /reject {run_id}",
            "cli": f"tfpipe approve {run_id}  or  tfpipe reject {run_id}",
            "api": f"POST /runs/{run_id}/approve  or  /reject (SigV4-signed with IAM credentials)"}


def request(deps, raw: object) -> dict:
    """The request_approval task (waitForTaskToken): keep the token, say how to approve."""
    event = TaskEvent.parse(raw, "asking for approval")
    token = event.params.get("task_token")
    if not isinstance(token, str) or not token:
        raise InvalidRequest("asking for approval", [FieldError("task_token", None, "$$.Task.Token")])
    deps.runs.save_approval(event.run.run_id, token)
    timeout = deps.settings.approval_timeout_seconds
    pending = "destroy-approval-pending" if event.run.workflow is Workflow.DESTROY else "approval-pending"
    status.publish(deps, event.run, pending, event.state,
                   details={"approve": how_to_decide(event.run.run_id), "timeout_seconds": timeout,
                            "approval_expires_at": status.approval_expiry(timeout)})
    return {"pending": True}


def decide(deps, run_id: str, approved: bool, actor: str) -> dict:
    """Approve or reject the approval a run waits for. NotFound when none is open; Forbidden when the
    approver is not independent of the run (a rejection stops a change: anyone with access may)."""
    verb = "approving" if approved else "rejecting"
    record = deps.runs.get(run_id) if approved and not deps.settings.allow_self_approval else None
    refusal = self_approval(record, actor) if record else None
    if refusal:
        raise Forbidden(f"{verb} run {run_id}: {refusal}; the approval stays open")
    token = deps.runs.claim_approval(run_id, approved, actor)
    try:
        deps.task_callbacks.succeed(token, {"approved": approved, "actor": actor})
    except TokenClosed as exc:
        deps.runs.expire_approval(run_id)
        raise NotFound(f"{verb} run {run_id}: its approval is no longer open ({exc})") from None
    except DependencyFailed as exc:
        deps.runs.save_approval(run_id, token)  # not delivered: keep it open for another try
        cause = exc.__cause__ or exc
        raise DependencyFailed(f"{verb} run {run_id}: {type(cause).__name__}: {cause}") from cause
    return {"run_id": run_id, "approved": approved, "actor": actor,
            "message": f"run {run_id} {'approved' if approved else 'rejected'} by {actor}"}


class RunApprovals:
    """`ports.Approvals` for `/approve` and `/reject` comments (the intake checked write access)."""

    def __init__(self, deps):
        self._deps = deps

    def decide_for_pull_request(self, repository: str, pull_request: int, run_id: str | None,
                                approved: bool, actor: str) -> str:
        verb = "approved" if approved else "rejected"
        runs = self._deps.runs
        if run_id is None:
            pending = [r for r in runs.pending_approvals(repository) if r.pull_request == pull_request]
            if len(pending) != 1:
                others = ", ".join(sorted(r.run_id for r in runs.pending_approvals(repository))) or "none"
                what = "No run" if not pending else "More than one run"
                return (f"{what} of pull request #{pull_request} waits for approval; say `/approve <run-id>`. "
                        f"Runs waiting in {repository}: {others}. Nothing was {verb}.")
            run_id = pending[0].run_id
        record = runs.get(run_id)
        if record is None or record.repository != repository:
            return f"Run {run_id} is not a run of {repository}; nothing was {verb}."
        if record.pull_request != pull_request:  # a comment answers for its own pull request's runs only
            where = f"pull request #{record.pull_request}" if record.pull_request else "no pull request"
            return (f"Run {run_id} belongs to {where}, not #{pull_request}; nothing was {verb}. Decide it there, "
                    f"or with `tfpipe {'approve' if approved else 'reject'} {run_id}`.")
        try:
            decide(self._deps, run_id, approved, actor)
        except (NotFound, Forbidden) as exc:
            return f"Nothing was {verb}: {exc}."
        return f"Run {run_id} ({record.sha[:7]} to {record.environment}) {verb} by {actor}."

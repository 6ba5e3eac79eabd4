"""Approvals: the approval step keeps its task token against the run; a decision (PR comment,
signed API call, CLI) answers that token once. Nobody answering times out in the state machine."""

from __future__ import annotations

import json

from chalicelib.adapters.task_callbacks import TokenClosed
from chalicelib.core import signature
from chalicelib.core.errors import DependencyFailed, FieldError, InvalidRequest, NotFound
from chalicelib.tasks import status
from chalicelib.tasks.event import TaskEvent

ACTOR = "a GitHub login or an email address"
MAX_ACTOR = 254


def how_to_decide(run_id: str) -> dict:
    return {"comment": f"/approve {run_id}  or  /reject {run_id}",
            "cli": f"tfpipe approve {run_id}  or  tfpipe reject {run_id}",
            "api": f"POST /runs/{run_id}/approve  or  /reject (signed like /dispatch)"}


def request(deps, raw: object) -> dict:
    """The request_approval task (waitForTaskToken): keep the token, say how to approve."""
    event = TaskEvent.parse(raw, "asking for approval")
    token = event.params.get("task_token")
    if not isinstance(token, str) or not token:
        raise InvalidRequest("asking for approval", [FieldError("task_token", None, "$$.Task.Token")])
    deps.runs.save_approval(event.run.run_id, token)
    timeout = deps.settings.approval_timeout_seconds
    status.publish(deps, event.run, "approval-pending", event.state,
                   details={"approve": how_to_decide(event.run.run_id), "timeout_seconds": timeout,
                            "approval_expires_at": status.approval_expiry(timeout)})
    return {"pending": True}


def decide(deps, run_id: str, approved: bool, actor: str) -> dict:
    """Approve or reject the approval a run waits for. NotFound when none is open."""
    verb = "approving" if approved else "rejecting"
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


def decide_signed(deps, run_id: str, approved: bool, headers, body: bytes) -> dict:
    """`POST /runs/{id}/approve|reject`: the body `{"actor": ...}` signed like a webhook."""
    verb = "approving" if approved else "rejecting"
    signature.require(deps.secrets.get(deps.settings.webhook_secret_name), headers, body, f"{verb} run {run_id}")
    try:
        payload = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        payload = None
    actor = payload.get("actor") if isinstance(payload, dict) else None
    if not isinstance(actor, str) or not actor.strip() or len(actor) > MAX_ACTOR:
        raise InvalidRequest(f"{verb} run {run_id}", [FieldError("actor", actor, ACTOR)])
    return decide(deps, run_id, approved, actor.strip())


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
        try:
            decide(self._deps, run_id, approved, actor)
        except NotFound as exc:
            return f"Nothing was {verb}: {exc}."
        return f"Run {run_id} ({record.sha[:7]} to {record.environment}) {verb} by {actor}."

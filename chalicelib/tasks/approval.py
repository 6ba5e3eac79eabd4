"""Approvals: the approval step keeps its task token against the run, with the sha256 of the plan it
is for; a decision (PR comment, approving review, or the IAM-authorized API route the CLI calls)
answers that token once. A newer plan for the environment voids it (`superseded`). Nobody answering
times out in the state machine."""

from __future__ import annotations

import json
import logging

from chalicelib.adapters.task_callbacks import TokenClosed
from chalicelib.core.approval import not_an_approver, plan_mismatch, self_approval, short_sha256
from chalicelib.core.errors import Conflict, DependencyFailed, FieldError, Forbidden, InvalidRequest, NotFound
from chalicelib.core.run_records import RunRecord
from chalicelib.core.workflows import Workflow
from chalicelib.tasks import status
from chalicelib.tasks.event import TaskEvent

log = logging.getLogger("tfpipe.approval")


def how_to_decide(run_id: str) -> dict:
    return {"comment": f"/approve {run_id}  or  /reject {run_id}",
            "cli": f"tfpipe approve {run_id}  or  tfpipe reject {run_id}",
            "api": f"POST /runs/{run_id}/approve {{\"plan_sha256\": ...}}  or  /reject "
                   "(SigV4-signed with IAM credentials)"}


def request(deps, raw: object) -> dict:
    """The request_approval task (waitForTaskToken): keep the token and the plan's sha256, void the
    approvals older runs still wait for in this environment (this plan is newer), say how to approve."""
    event = TaskEvent.parse(raw, "asking for approval")
    token = event.params.get("task_token")
    if not isinstance(token, str) or not token:
        raise InvalidRequest("asking for approval", [FieldError("task_token", None, "$$.Task.Token")])
    plan_sha256 = event.step("plan").get("plan_checksum")
    deps.runs.save_approval(event.run.run_id, token, plan_sha256)
    wanted = event.run.request
    mine = deps.runs.get(event.run.run_id)
    for older in deps.runs.pending_approvals(wanted.repository):
        if older.environment == wanted.environment.name and mine and older.started_at < mine.started_at:
            supersede(deps, older.run_id, event.run.run_id)
    timeout = deps.settings.approval_timeout_seconds
    pending = "destroy-approval-pending" if event.run.workflow is Workflow.DESTROY else "approval-pending"
    status.publish(deps, event.run, pending, event.state,
                   details={"approve": how_to_decide(event.run.run_id), "timeout_seconds": timeout,
                            "approval_expires_at": status.approval_expiry(timeout), "plan_sha256": plan_sha256})
    return {"pending": True}


def supersede(deps, run_id: str, newer_run_id: str) -> bool:
    """Void the approval `run_id` waits for, because `newer_run_id` planned (or queued to plan) a newer
    commit for the same environment: its state machine ends superseded and releases the lock. False
    when it waits for none (decided, expired, or superseded already)."""
    try:
        token = deps.runs.supersede_approval(run_id, newer_run_id)
    except NotFound:
        return False
    answer = {"approved": False, "superseded": True, "superseded_by": newer_run_id, "actor": ""}
    try:
        deps.task_callbacks.succeed(token, answer)
    except TokenClosed:
        log.info("run %s had stopped waiting before run %s superseded it", run_id, newer_run_id)
    except DependencyFailed:
        deps.runs.save_approval(run_id, token)  # not delivered: open again, voided on the next try
        raise
    log.info("approval of run %s superseded by run %s", run_id, newer_run_id)
    return True


def supersede_holder(deps, holder_run_id: str, newer_run_id: str) -> bool:
    """A newer PLAN-APPLY waits for the lock that an older PLAN-APPLY holds while it waits for approval:
    that approval is of an older commit's plan, so it is voided and the newer commit plans next."""
    holder = deps.runs.get(holder_run_id)
    if holder is None or holder.workflow != Workflow.PLAN_APPLY.value or holder.approval_state != "pending":
        return False
    return supersede(deps, holder_run_id, newer_run_id)


def _refusal(deps, record: RunRecord | None, actor: str) -> str | None:
    """Why `actor` may not approve `record`'s run: a newer plan voided it, they are not independent of
    it, or not among the environment's approvers."""
    if record is None:
        return None
    if record.approval_state == "superseded":
        return (f"its approval was superseded by run {record.superseded_by}, a newer plan for "
                f"{record.environment}; approve that run instead")
    if not deps.settings.allow_self_approval and (why := self_approval(record, actor)):
        return why
    return not_an_approver(record.environment, deps.settings.approvers(record.environment), actor)


def decide(deps, run_id: str, approved: bool, actor: str, plan_sha256: str | None = None) -> dict:
    """Approve or reject the approval a run waits for. An approval is of the plan `plan_sha256` (None:
    the plan the run waits with, as a comment on its own pull request approves). NotFound when none is
    open; Forbidden when the approver may not approve it; Conflict when it names another plan or a newer
    plan superseded it (a rejection stops a change: anyone with access may)."""
    verb = "approving" if approved else "rejecting"
    record = deps.runs.get(run_id)
    if approved and record is not None:
        why = _refusal(deps, record, actor)
        if why and record.approval_state == "superseded":
            raise Conflict(f"{verb} run {run_id}: {why}; nothing was approved")
        if why:
            raise Forbidden(f"{verb} run {run_id}: {why}; the approval stays open")
        mismatch = plan_mismatch(record, plan_sha256) if plan_sha256 is not None else None
        if mismatch:
            raise Conflict(f"{verb} run {run_id}: {mismatch}; nothing was approved")
    token = deps.runs.claim_approval(run_id, approved, actor)
    plan = record.plan_sha256 if record else None
    try:
        deps.task_callbacks.succeed(token, {"approved": approved, "superseded": False, "actor": actor,
                                            "plan_sha256": plan})
    except TokenClosed as exc:
        deps.runs.expire_approval(run_id)
        raise NotFound(f"{verb} run {run_id}: its approval is no longer open ({exc})") from None
    except DependencyFailed as exc:
        deps.runs.save_approval(run_id, token)  # not delivered: keep it open for another try
        cause = exc.__cause__ or exc
        raise DependencyFailed(f"{verb} run {run_id}: {type(cause).__name__}: {cause}") from cause
    what = f" (plan sha256 {short_sha256(plan)})" if approved else ""
    return {"run_id": run_id, "approved": approved, "actor": actor, "plan_sha256": plan,
            "message": f"run {run_id} {'approved' if approved else 'rejected'} by {actor}{what}"}


def decide_by_api(deps, run_id: str, approved: bool, actor: str, body: bytes) -> dict:
    """`POST /runs/{id}/approve|reject` (SigV4, `actor` the caller's ARN): an approval's body names the
    plan it approves, `{"plan_sha256": "<64 hex digits>"}`, so a captured approval approves nothing else."""
    verb = "approving" if approved else "rejecting"
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        data = None
    plan_sha256 = data.get("plan_sha256") if isinstance(data, dict) else None
    if approved and not isinstance(plan_sha256, str):
        raise InvalidRequest(f"{verb} run {run_id}", [FieldError(
            "plan_sha256", plan_sha256, "the sha256 of the plan the run waits with, as a JSON body "
            "{\"plan_sha256\": ...} (`tfpipe approve` sends it; `tfpipe show <run>` shows it)")])
    return decide(deps, run_id, approved, actor, plan_sha256 if approved else None)


class RunApprovals:
    """`ports.Approvals` for `/approve` and `/reject` comments and approving reviews (the intake checked
    write access). A comment approves the plan its run waits with, and the reply names that plan."""

    def __init__(self, deps):
        self._deps = deps

    def decide_for_pull_request(self, repository: str, pull_request: int, run_id: str | None,
                                approved: bool, actor: str, sha: str | None = None) -> str:
        """`sha`: an approving review's commit, the pull request's head; it approves every run of the
        pull request waiting at that commit."""
        verb = "approved" if approved else "rejected"
        runs = self._deps.runs
        if sha is not None:
            return self._review(repository, pull_request, sha, actor)
        if run_id is None:
            waiting = runs.pending_approvals(repository)  # one read serves the answer and the reply
            pending = [r for r in waiting if r.pull_request == pull_request]
            if len(pending) != 1:
                others = ", ".join(sorted(r.run_id for r in waiting)) or "none"
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
        return self._decided(record, approved, actor)

    def _decided(self, record: RunRecord, approved: bool, actor: str) -> str:
        verb = "approved" if approved else "rejected"
        try:
            decide(self._deps, record.run_id, approved, actor)
        except (NotFound, Forbidden, Conflict) as exc:
            return f"Nothing was {verb}: {exc}."
        plan = f": plan sha256 `{short_sha256(record.plan_sha256)}`" if approved else ""
        return f"Run {record.run_id} ({record.sha[:7]} to {record.environment}) {verb} by {actor}{plan}."

    def _review(self, repository: str, pull_request: int, sha: str, actor: str) -> str:
        waiting = [r for r in self._deps.runs.pending_approvals(repository)
                   if r.pull_request == pull_request and r.sha == sha]
        if not waiting:
            return (f"@{actor}'s approving review of {sha[:7]} approved nothing: no run of pull request "
                    f"#{pull_request} waits for approval at {sha[:7]}.")
        return "\n".join(self._decided(record, True, actor) for record in sorted(waiting, key=lambda r: r.run_id))

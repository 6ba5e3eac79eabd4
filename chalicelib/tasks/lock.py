"""The environment lock as the workflows use it: take it (waiting in line, bounded; the newest
queued PLAN-APPLY supersedes older ones, and none applies a commit older than the one the environment
runs), release it, or hold it when a rollback failed."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from chalicelib.core.audit import AuditRecord
from chalicelib.core.errors import DependencyFailed, FieldError, InvalidRequest, LockHeld, NotFound
from chalicelib.core.lock_queue import LockState, QueuedRun, after_lock_held, is_older, superseded_by
from chalicelib.core.run_records import RunRecord
from chalicelib.core.status import Status
from chalicelib.ports import Lock
from chalicelib.tasks import approval, last_good, status
from chalicelib.tasks.event import TaskEvent, dispatch

log = logging.getLogger("tfpipe.lock")


def _answer(state: LockState, wait_seconds: int = 0, superseded_by: str = "", message: str = "") -> dict:
    # Every field every time: the state machine's ResultSelector names them all.
    return {"state": state.value, "wait_seconds": wait_seconds, "superseded_by": superseded_by, "message": message}


def acquire(deps, event: TaskEvent) -> dict:
    run, request = event.run, event.run.request
    repository, environment = request.repository, request.environment.name
    supersede = bool(event.params.get("supersede"))
    me = QueuedRun(run.run_id, event.started_at)
    if supersede:
        newer = _superseding(deps, event, superseded_by(me, deps.locker.newest_in_line(repository, environment)))
        if newer:
            return _superseded(deps, event, newer)
    try:
        deps.locker.acquire(repository, environment, run.run_id)
    except LockHeld as held:
        return _wait_or_give_up(deps, event, me, held, supersede)
    if supersede:
        # Holding the lock, nothing else applies to the environment until this run ends: what it runs
        # now is what this run would replace.
        try:
            applied = applied_newer(deps, event)
        except Exception:
            deps.locker.release(repository, environment, run.run_id)  # retried, or the run fails: no lock left
            raise
        if applied:
            deps.locker.release(repository, environment, run.run_id)
            return _older_than_applied(deps, event, applied)
        # a run that queued before this one must not apply its older commit after it
        deps.locker.enqueue(repository, environment, run.run_id, me.queued_at)
    return _answer(LockState.ACQUIRED)


def applied_newer(deps, event: TaskEvent) -> str | None:
    """The commit the environment last applied when this run's commit is an ancestor of it (older:
    applying it would undo the newer one, whatever order the webhooks came in), else None. The same
    commit may be applied again; one GitHub no longer has (history rewritten) cannot be ordered and
    does not stop the run. GitHub not answering stops it (DependencyFailed): nothing is planned or
    applied unordered."""
    request = event.run.request
    repository, environment, sha = request.repository, request.environment.name, request.sha
    applied = last_good.find(deps, repository, environment)
    if not applied or applied == sha:
        return None
    doing = f"ordering {sha[:7]} after {applied[:7]}, which {environment} runs"
    try:
        return applied if is_older(deps.vcs.compare(repository, applied, sha)) else None
    except NotFound:
        log.warning("%s: GitHub has no such commit; run %s goes on unordered", doing, event.run.run_id)
        return None
    except Exception as exc:
        raise DependencyFailed(f"{doing}: GitHub's compare did not answer ({exc}); nothing is planned or applied "
                               "until it does") from exc


def _superseding(deps, event: TaskEvent, newer: str | None) -> str | None:
    """`newer` (a run that started later) supersedes this run unless its commit is an ancestor of this
    run's: a late webhook for an older commit does not stop the newer commit's run (it will itself end
    superseded at the lock if this run applies first). When that cannot be told, `newer` supersedes."""
    if not newer:
        return None
    record = deps.runs.get(newer)
    if record is None or not _is_ancestor(deps, event.run.request.repository, record.sha, event.run.request.sha):
        return newer
    return None


def _older_than_run(deps, event: TaskEvent, other_run_id: str) -> bool:
    """Whether this run's commit is an ancestor of run `other_run_id`'s."""
    record = deps.runs.get(other_run_id)
    return record is not None and _is_ancestor(deps, event.run.request.repository, event.run.request.sha, record.sha)


def _is_ancestor(deps, repository: str, sha: str, of: str) -> bool:
    """Whether `sha` is a strict ancestor of `of` (GitHub's compare); False when it cannot be told, so
    runs are ordered by start time as before."""
    if not sha or not of or sha == of:
        return False
    try:
        return is_older(deps.vcs.compare(repository, of, sha))
    except Exception:
        log.warning("comparing %s with %s in %s failed: ordered by start time", sha[:7], of[:7], repository,
                    exc_info=True)
        return False


def _wait_or_give_up(deps, event: TaskEvent, me: QueuedRun, held: LockHeld, supersede: bool) -> dict:
    run, request = event.run, event.run.request
    settings = deps.settings
    waited = time.time() - event.started_at if event.started_at else 0.0
    error = {"Error": LockHeld.code, "Cause": str(held)}
    if after_lock_held(waited, settings.lock_max_wait_seconds) is LockState.GAVE_UP:
        status.publish(deps, run, "lock-gave-up", {**event.state, "error": error})
        deps.runs.finish(run.run_id, Status.FAILED.value)
        return _answer(LockState.GAVE_UP, message=str(held))
    if supersede:
        newest = deps.locker.enqueue(request.repository, request.environment.name, run.run_id, me.queued_at)
        newer = _superseding(deps, event, superseded_by(me, newest))
        if newer:
            return _superseded(deps, event, newer)
        # The newest in line: an older PLAN-APPLY holding the lock while it waits for approval waits with an
        # older commit's plan; voided, it ends superseded and releases the lock for this newer commit. Not
        # when this run's commit is an ancestor of the holder's (a late webhook for an older commit).
        holder = deps.locker.get(request.repository, request.environment.name)
        if holder and holder.run_id != run.run_id and not _older_than_run(deps, event, holder.run_id):
            approval.supersede_holder(deps, holder.run_id, run.run_id)
    if not event.step("lock"):  # say it once, on the first attempt, not on every poll
        status.publish(deps, run, "lock-pending", {**event.state, "error": error})
    return _answer(LockState.WAIT, settings.lock_wait_seconds, message=str(held))


def _superseded(deps, event: TaskEvent, newer: str) -> dict:
    result = _answer(LockState.SUPERSEDED, superseded_by=newer, message=f"superseded by run {newer}")
    status.publish(deps, event.run, "superseded", {**event.state, "lock": result})
    deps.runs.finish(event.run.run_id, Status.SUPERSEDED.value)
    return result


def _older_than_applied(deps, event: TaskEvent, applied: str) -> dict:
    result = _answer(LockState.SUPERSEDED, superseded_by=applied,
                     message=f"{event.run.request.sha[:7]} is older than {applied[:7]}, which "
                             f"{event.run.request.environment.name} runs")
    status.publish(deps, event.run, "older-than-applied", {**event.state, "lock": result},
                   extra={"applied7": applied[:7]})
    deps.runs.finish(event.run.run_id, Status.SUPERSEDED.value)
    return result


def release(deps, event: TaskEvent) -> dict:
    request = event.run.request
    return {"released": deps.locker.release(request.repository, request.environment.name, event.run.run_id)}


def hold(deps, event: TaskEvent) -> dict:
    """Keep the lock after a failed apply that could not be rolled back (the rollback failed, or the
    last good commit could not be read), with the reason an operator reads in `tfpipe unlock`."""
    request = event.run.request
    what = status.attention_cause(event.state)
    reason = (f"needs attention: after the failed apply of {(request.sha or '')[:7]}, {what} "
              f"(run {event.run.run_id}); clear with `tfpipe unlock {request.environment.name}`")
    deps.locker.hold(request.repository, request.environment.name, event.run.run_id, reason)
    return {"held": True, "reason": reason}


OPERATIONS = {"acquire": acquire, "release": release, "hold": hold}


def handle(deps, raw: object) -> dict:
    return dispatch(OPERATIONS, deps, raw, "working the environment lock")


def unlock(deps, environment: str, by: str, repository: str | None = None, force: bool = False) -> Lock:
    """An operator (`by`: their IAM identity) clears an environment's lock (`tfpipe unlock <env>`);
    answers the lock cleared. The lock of a run that still runs is refused unless forced: that run
    releases it when it ends, and clearing it lets another run change the environment under it."""
    held = [lock for lock in deps.locker.list() if lock.environment == environment
            and (repository is None or lock.repository == repository)]
    if not held:
        raise NotFound(f"unlocking {environment}: no lock is held on it")
    if len(held) > 1:
        names = ", ".join(sorted(lock.repository for lock in held))
        raise InvalidRequest(f"unlocking {environment}", [FieldError(
            "repository", None, f"one of the repositories holding a lock on {environment}: {names}")])
    record = deps.runs.get(held[0].run_id)
    if not force and record is not None and deps.starter.is_running(record.execution_arn):
        raise LockHeld(f"unlocking {environment}: run {record.run_id}, which holds the lock, is still running and "
                       f"releases it when it ends; `tfpipe unlock {environment} --force` clears it anyway")
    # Recorded before the lock goes: an unlock the audit trail could not take does not happen.
    deps.audit_log.append(_unlock_record(held[0], record, by, force))
    cleared = deps.locker.force_release(held[0].repository, environment)
    return cleared or held[0]


def _unlock_record(lock: Lock, run: RunRecord | None, by: str, force: bool) -> AuditRecord:
    """The audit record of an unlock: the run whose lock was cleared, and who cleared it."""
    now = datetime.now(UTC)
    return AuditRecord(
        run_id=lock.run_id, workflow=run.workflow if run else "", action="unlock", environment=lock.environment,
        account_id="", repository=lock.repository, sha=run.sha if run else "", actor=by,
        result="force-unlocked" if force else "unlocked", started_at=lock.acquired_at,
        finished_at=now.isoformat(timespec="microseconds"))

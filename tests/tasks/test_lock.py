"""The environment lock: conditional writes in DynamoDB (moto), waiting in line, superseding."""

from __future__ import annotations

import time

import pytest

from chalicelib.core.errors import InvalidRequest, LockHeld, NotFound
from chalicelib.core.workflows import Workflow
from chalicelib.tasks import approval, lock, runs
from tests.tasks.conftest import OLD_SHA, bare_repository, make_run, published, task_event

OPS = "arn:aws:iam::123456789012:user/ops"


def test_second_run_cannot_take_a_held_lock_and_learns_who_holds_it(deps):
    deps.locker.acquire("acme/infra", "prod", "run-1")
    with pytest.raises(LockHeld, match="held by run run-1"):
        deps.locker.acquire("acme/infra", "prod", "run-2")
    assert deps.locker.acquire("acme/infra", "prod", "run-1").run_id == "run-1"  # a retried step keeps it
    assert deps.locker.acquire("acme/infra", "staging", "run-2").environment == "staging"


def test_only_the_holder_releases_and_an_operator_can_force_it(deps):
    deps.locker.acquire("acme/infra", "prod", "run-1")
    assert deps.locker.release("acme/infra", "prod", "run-2") is False
    assert deps.locker.get("acme/infra", "prod").run_id == "run-1"
    assert deps.locker.force_release("acme/infra", "prod").run_id == "run-1"
    assert deps.locker.get("acme/infra", "prod") is None
    assert deps.locker.force_release("acme/infra", "prod") is None


def test_acquire_task_takes_a_free_lock(deps):
    run = make_run()
    answer = lock.handle(deps, task_event(run, time.time(), operation="acquire", supersede=True))
    assert answer == {"state": "acquired", "wait_seconds": 0, "superseded_by": "", "message": ""}
    assert deps.locker.get("acme/infra", "prod").run_id == run.run_id


def test_acquire_task_waits_for_a_held_lock_and_says_so_once(deps):
    holder, waiter = make_run(key="a"), make_run(key="b")
    lock.handle(deps, task_event(holder, time.time(), operation="acquire"))
    first = task_event(waiter, time.time(), operation="acquire")
    answer = lock.handle(deps, first)
    assert answer["state"] == "wait" and answer["wait_seconds"] == deps.settings.lock_wait_seconds
    assert holder.run_id in answer["message"]
    again = task_event(waiter, time.time(), state={"lock": answer}, operation="acquire")
    assert lock.handle(deps, again)["state"] == "wait"
    pending = [e for e in published(deps) if e["phase"] == "lock"]
    assert [(e["status"], e["run_id"]) for e in pending] == [("pending", waiter.run_id)]


def test_acquire_task_gives_up_after_the_maximum_wait(deps):
    holder, waiter = make_run(key="a"), make_run(key="b")
    lock.handle(deps, task_event(holder, time.time(), operation="acquire"))
    started_long_ago = time.time() - deps.settings.lock_max_wait_seconds - 1
    runs.start(deps, task_event(waiter, started_long_ago))
    answer = lock.handle(deps, task_event(waiter, started_long_ago, operation="acquire"))
    assert answer["state"] == "gave-up"
    assert [(e["phase"], e["status"]) for e in published(deps)] == [("queued", "started"), ("done", "failed")]
    assert deps.runs.get(waiter.run_id).status == "failed"


def test_newest_queued_commit_supersedes_older_waiters_and_then_gets_the_lock(deps):
    now = time.time()
    holder = make_run(key="a")
    older = make_run(key="b", sha=OLD_SHA)
    newer = make_run(key="c")
    lock.handle(deps, task_event(holder, now - 30, operation="acquire", supersede=True))
    assert lock.handle(deps, task_event(older, now - 20, operation="acquire", supersede=True))["state"] == "wait"
    assert lock.handle(deps, task_event(newer, now - 10, operation="acquire", supersede=True))["state"] == "wait"

    answer = lock.handle(deps, task_event(older, now - 20, operation="acquire", supersede=True))
    assert answer["state"] == "superseded" and answer["superseded_by"] == newer.run_id

    lock.handle(deps, task_event(holder, now - 30, operation="release"))
    assert lock.handle(deps, task_event(newer, now - 10, operation="acquire", supersede=True))["state"] == "acquired"
    assert deps.locker.newest_in_line("acme/infra", "prod").run_id == newer.run_id
    superseded = [e for e in published(deps) if e["status"] == "superseded"]
    assert [e["run_id"] for e in superseded] == [older.run_id]
    assert newer.run_id in superseded[0]["message"]


def test_an_older_run_arriving_after_a_newer_waiter_is_superseded_at_once(deps):
    now = time.time()
    holder, older, newer = make_run(key="a"), make_run(key="b"), make_run(key="c")
    lock.handle(deps, task_event(holder, now - 30, operation="acquire", supersede=True))
    lock.handle(deps, task_event(newer, now - 10, operation="acquire", supersede=True))
    assert lock.handle(deps, task_event(older, now - 20, operation="acquire", supersede=True))["state"] == "superseded"


def test_a_waiter_older_than_a_run_that_found_the_lock_free_is_superseded_not_applied_after_it(deps):
    # The holder releases; a newer push takes the free lock before the older waiter polls again.
    now = time.time()
    holder, older, newer = make_run(key="a"), make_run(key="b", sha=OLD_SHA), make_run(key="c")
    lock.handle(deps, task_event(holder, now - 30, operation="acquire", supersede=True))
    assert lock.handle(deps, task_event(older, now - 20, operation="acquire", supersede=True))["state"] == "wait"
    lock.handle(deps, task_event(holder, now - 30, operation="release"))
    assert lock.handle(deps, task_event(newer, now - 10, operation="acquire", supersede=True))["state"] == "acquired"

    answer = lock.handle(deps, task_event(older, now - 20, operation="acquire", supersede=True))
    assert answer["state"] == "superseded" and answer["superseded_by"] == newer.run_id
    lock.handle(deps, task_event(newer, now - 10, operation="release"))
    assert lock.handle(deps, task_event(older, now - 20, operation="acquire", supersede=True))["state"] == "superseded"
    assert deps.locker.get("acme/infra", "prod") is None


def test_a_newer_commit_queueing_voids_the_approval_the_older_lock_holder_waits_for_a_destroy_does_not(deps):
    now = time.time()
    holder, destroy, newer = make_run(key="a", sha=OLD_SHA), make_run(Workflow.DESTROY, key="d"), make_run(key="c")
    runs.start(deps, task_event(holder, now - 30))
    lock.handle(deps, task_event(holder, now - 30, operation="acquire", supersede=True))
    plan = {"plan": {"plan_checksum": "a" * 64}}
    approval.request(deps, task_event(holder, now - 30, task_token="token-of-a", state=plan))

    assert lock.handle(deps, task_event(destroy, now - 20, operation="acquire"))["state"] == "wait"
    assert deps.runs.get(holder.run_id).approval_state == "pending"  # a destroy is no newer plan of a commit
    assert lock.handle(deps, task_event(newer, now - 10, operation="acquire", supersede=True))["state"] == "wait"

    record = deps.runs.get(holder.run_id)
    assert (record.approval_state, record.superseded_by) == ("superseded", newer.run_id)
    assert deps.runs.pending_approvals("acme/infra") == []


def test_without_supersede_waiters_never_supersede_each_other(deps):
    now = time.time()
    holder = make_run(Workflow.DESTROY, key="a")
    first, second = make_run(Workflow.DESTROY, key="b"), make_run(Workflow.DESTROY, key="c")
    lock.handle(deps, task_event(holder, now, operation="acquire"))
    lock.handle(deps, task_event(second, now, operation="acquire"))
    assert lock.handle(deps, task_event(first, now - 5, operation="acquire"))["state"] == "wait"


def test_hold_keeps_the_lock_with_a_reason_until_unlock_clears_it(deps):
    run = make_run()
    lock.handle(deps, task_event(run, time.time(), operation="acquire"))
    held = lock.handle(deps, task_event(run, operation="hold"))
    assert "needs attention" in held["reason"] and "tfpipe unlock prod" in held["reason"]
    assert deps.locker.get("acme/infra", "prod").reason == held["reason"]
    with pytest.raises(LockHeld, match="needs attention"):
        deps.locker.acquire("acme/infra", "prod", "someone-else")
    cleared = lock.unlock(deps, "prod", OPS)
    assert cleared.run_id == run.run_id and deps.locker.get("acme/infra", "prod") is None
    [record] = deps.audit_log.history("acme/infra", "prod")
    assert (record.action, record.result, record.run_id, record.actor) == ("unlock", "unlocked", run.run_id, OPS)
    assert record.sha == "" and deps.audit_log.last_good_commit("acme/infra", "prod") is None  # changes nothing


def test_a_forced_unlock_is_recorded_as_forced_and_a_failed_one_records_nothing(deps):
    deps.locker.acquire("acme/infra", "prod", "r1")
    with pytest.raises(NotFound):
        lock.unlock(deps, "staging", OPS)
    lock.unlock(deps, "prod", OPS, force=True)
    assert [(r.action, r.result, r.run_id) for r in deps.audit_log.history("acme/infra", "prod")] == [
        ("unlock", "force-unlocked", "r1")]
    assert deps.audit_log.history("acme/infra", "staging") == []


def test_unlock_names_what_is_wrong(deps, tmp_path):
    bare_repository(tmp_path / "git", "acme/other")
    with pytest.raises(NotFound, match="unlocking prod: no lock is held"):
        lock.unlock(deps, "prod", "ops")
    deps.locker.acquire("acme/infra", "prod", "r1")
    deps.locker.acquire("acme/other", "prod", "r2")
    with pytest.raises(InvalidRequest, match="acme/infra, acme/other"):
        lock.unlock(deps, "prod", "ops")
    assert lock.unlock(deps, "prod", "ops", repository="acme/other").run_id == "r2"


def test_unknown_operation_is_refused_by_name(deps):
    with pytest.raises(InvalidRequest, match="operation: got 'steal'"):
        lock.handle(deps, task_event(make_run(), operation="steal"))

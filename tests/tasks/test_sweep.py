"""The safety-net sweep: expired ephemeral environments get a DESTROY run; stale locks are reported."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest

from chalicelib.core.workflows import Workflow
from chalicelib.tasks import runs, sweep, ttl
from tests.tasks.conftest import make_run, task_event

ROLE = "arn:aws:iam::123456789012:role/tfpipe-test-states"


@pytest.fixture
def deps(deps):
    # Stands in for DESTROY: the sweep only starts it; what DESTROY does is tested on the stack.
    pass_through = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    arn = deps.clients.stepfunctions.create_state_machine(
        name="tfpipe-test-destroy", definition=json.dumps(pass_through), roleArn=ROLE)["stateMachineArn"]
    deps.settings = replace(deps.settings, state_machines={"destroy": arn})
    return deps


def schedule_for(deps, environment, ttl_seconds=3600, pull_request=7):
    run = make_run(Workflow.APPLY_EPHEMERAL, environment, pull_request=pull_request, ttl_seconds=ttl_seconds)
    return ttl.handle(deps, task_event(run, operation="create"))


def test_an_expired_environment_whose_schedule_did_not_fire_gets_its_destroy_run(deps):
    answer = schedule_for(deps, "pr-7", ttl_seconds=3600)
    schedule_for(deps, "pr-8", ttl_seconds=6 * 3600, pull_request=8)
    report = sweep.sweep(deps, now=time.time() + 2 * 3600)
    assert [(d["environment"], d["run_id"]) for d in report["destroys_started"]] == [("pr-7", answer["destroy_run_id"])]
    executions = deps.clients.stepfunctions.list_executions(
        stateMachineArn=deps.settings.state_machine_arn(Workflow.DESTROY))["executions"]
    assert [e["name"] for e in executions] == [answer["destroy_run_id"]]


def test_sweeping_twice_starts_nothing_twice(deps):
    schedule_for(deps, "pr-7", ttl_seconds=3600)
    sweep.sweep(deps, now=time.time() + 2 * 3600)
    again = sweep.sweep(deps, now=time.time() + 2 * 3600)
    assert [d["already_started"] for d in again["destroys_started"]] == [True]


def test_an_expired_environment_whose_scheduled_destroy_still_runs_gets_no_second_destroy(deps):
    answer = schedule_for(deps, "pr-7", ttl_seconds=3600)
    destroy = deps.runs.get_environment("acme/infra", "pr-7").destroy_input
    # The schedule fired: Scheduler started DESTROY under a name of its own, and it is still waiting (the lock).
    waiting = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    arn = deps.clients.stepfunctions.create_state_machine(
        name="tfpipe-test-destroy-waiting", definition=json.dumps(waiting), roleArn=ROLE)["stateMachineArn"]
    execution = deps.clients.stepfunctions.start_execution(stateMachineArn=arn, name="scheduler-chosen-name",
                                                           input=json.dumps(destroy))["executionArn"]
    event = task_event(make_run(Workflow.DESTROY, "pr-7", pull_request=7), time.time())
    event["state"], event["execution"]["Id"] = destroy, execution
    runs.start(deps, event)

    report = sweep.sweep(deps, now=time.time() + 2 * 3600)
    assert report["destroys_started"] == []
    assert [d["run_id"] for d in report["destroys_running"]] == [answer["destroy_run_id"]]
    deps.clients.stepfunctions.stop_execution(executionArn=execution)
    assert [d["run_id"] for d in sweep.sweep(deps, now=time.time() + 2 * 3600)["destroys_started"]] == \
        [answer["destroy_run_id"]]  # it died without destroying: the sweep starts it again


def test_an_environment_inside_its_grace_period_is_left_to_its_schedule(deps):
    schedule_for(deps, "pr-7", ttl_seconds=3600)
    assert sweep.sweep(deps, now=time.time() + 3600 + 60)["destroys_started"] == []


def test_failed_to_destroy_environments_are_not_retried_by_the_sweep(deps):
    schedule_for(deps, "pr-7", ttl_seconds=3600)
    ttl.handle(deps, task_event(make_run(Workflow.DESTROY, "pr-7", pull_request=7), operation="destroy-failed"))
    assert sweep.sweep(deps, now=time.time() + 2 * 3600)["destroys_started"] == []


def test_old_locks_of_runs_that_no_longer_run_are_reported_with_how_to_clear_them(deps):
    from chalicelib.adapters.dynamodb_locks import DynamoDbLocker

    old = DynamoDbLocker(deps.clients.dynamodb, deps.settings.locks_table, clock=lambda: "2020-01-01T00:00:00+00:00")
    old.acquire("acme/infra", "prod", "gone-run")
    deps.locker.acquire("acme/infra", "staging", "fresh-run")
    report = sweep.sweep(deps)
    assert [(s["environment"], s["run_id"]) for s in report["stale_locks"]] == [("prod", "gone-run")]
    assert report["stale_locks"][0]["clear_with"] == "tfpipe unlock prod --repository acme/infra"


def test_a_lock_held_for_attention_is_reported_at_once(deps):
    deps.locker.hold("acme/infra", "prod", "failed-rollback", "needs attention: rollback failed")
    assert [s["reason"] for s in sweep.sweep(deps)["stale_locks"]] == ["needs attention: rollback failed"]

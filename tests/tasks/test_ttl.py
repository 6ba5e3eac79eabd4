"""TTL destroy schedules in EventBridge Scheduler (moto): created, moved, deleted, idempotently."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from chalicelib.core.errors import InvalidRequest, NotFound
from chalicelib.core.naming import schedule_name
from chalicelib.core.runs import Run
from chalicelib.core.workflows import Workflow
from chalicelib.tasks import ttl
from tests.tasks.conftest import OLD_SHA, SHA, make_run, task_event

DESTROY_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:tfpipe-test-destroy"


@pytest.fixture
def deps(deps):
    deps.settings = replace(deps.settings, state_machines={"destroy": DESTROY_ARN})
    return deps


def schedule(deps, environment="pr-7"):
    return deps.clients.scheduler.get_schedule(Name=schedule_name("acme/infra", environment),
                                               GroupName=deps.settings.schedule_group)


def test_create_schedules_a_one_time_destroy_of_the_environment_at_now_plus_ttl(deps):
    run = make_run(Workflow.APPLY_EPHEMERAL, "pr-7", pull_request=7, ttl_seconds=4 * 3600)
    before = time.time()
    answer = ttl.handle(deps, task_event(run, operation="create"))

    found = schedule(deps)
    fires = datetime.strptime(found["ScheduleExpression"], "at(%Y-%m-%dT%H:%M:%S)").replace(tzinfo=UTC).timestamp()
    assert before + 4 * 3600 - 1 <= fires <= time.time() + 4 * 3600
    assert found["ScheduleExpressionTimezone"] == "UTC" and found["ActionAfterCompletion"] == "DELETE"
    assert found["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert found["Target"]["Arn"] == DESTROY_ARN and found["Target"]["RoleArn"] == deps.settings.scheduler_role_arn
    destroy = Run.from_dict(json.loads(found["Target"]["Input"]))
    assert destroy.workflow is Workflow.DESTROY and destroy.request.command.value == "destroy"
    assert destroy.request.environment.name == "pr-7" and destroy.request.sha == SHA
    assert destroy.run_id == answer["destroy_run_id"] and destroy.run_id.startswith("destroy-pr-7-")
    assert answer["ttl"] == "4h" and answer["schedule_name"] == found["Name"]
    assert deps.runs.get_environment("acme/infra", "pr-7").destroy_at == int(fires)


def test_creating_twice_keeps_one_schedule_moved_to_the_new_time(deps):
    run = make_run(Workflow.APPLY_EPHEMERAL, "pr-7", pull_request=7, ttl_seconds=3600)
    ttl.handle(deps, task_event(run, operation="create"))
    later = make_run(Workflow.APPLY_EPHEMERAL, "pr-7", pull_request=7, ttl_seconds=7200, key="d2")
    ttl.handle(deps, task_event(later, operation="create"))
    schedules = deps.clients.scheduler.list_schedules(GroupName=deps.settings.schedule_group)["Schedules"]
    assert len(schedules) == 1
    assert deps.runs.get_environment("acme/infra", "pr-7").destroy_at >= time.time() + 7200 - 5


def test_move_changes_when_the_environment_is_destroyed_and_keeps_the_applied_commit(deps):
    ttl.handle(deps, task_event(make_run(Workflow.APPLY_EPHEMERAL, "pr-7", pull_request=7, ttl_seconds=3600),
                                operation="create"))
    cron = make_run(Workflow.MODIFY_CRON, "pr-7", sha=OLD_SHA, pull_request=7, ttl_seconds=8 * 3600, key="c")
    answer = ttl.handle(deps, task_event(cron, operation="move"))
    assert answer["ttl"] == "8h"
    moved = schedule(deps)
    assert Run.from_dict(json.loads(moved["Target"]["Input"])).request.sha == SHA
    assert deps.runs.get_environment("acme/infra", "pr-7").destroy_at >= time.time() + 8 * 3600 - 5


def test_move_of_an_environment_that_is_not_up_is_refused(deps):
    cron = make_run(Workflow.MODIFY_CRON, "pr-9", pull_request=9, ttl_seconds=3600)
    with pytest.raises(NotFound, match="no ephemeral environment pr-9 of acme/infra is up"):
        ttl.handle(deps, task_event(cron, operation="move"))


def test_move_outside_the_ttl_bounds_is_refused_with_what_is_accepted(deps):
    cron = make_run(Workflow.MODIFY_CRON, "pr-7", pull_request=7, ttl_seconds=60)
    with pytest.raises(InvalidRequest, match=r"ttl: got '1m'; accepted: .*between 15m and 7d"):
        ttl.handle(deps, task_event(cron, operation="move"))


def test_delete_removes_schedule_and_record_and_tolerates_both_missing(deps):
    run = make_run(Workflow.APPLY_EPHEMERAL, "pr-7", pull_request=7, ttl_seconds=3600)
    ttl.handle(deps, task_event(run, operation="create"))
    destroy = make_run(Workflow.DESTROY, "pr-7", pull_request=7)
    assert ttl.handle(deps, task_event(destroy, operation="delete"))["deleted"] is True
    assert deps.runs.get_environment("acme/infra", "pr-7") is None
    assert ttl.handle(deps, task_event(destroy, operation="delete"))["deleted"] is False


def test_a_failed_destroy_keeps_the_environment_listed_as_failed_to_destroy(deps):
    ttl.handle(deps, task_event(make_run(Workflow.APPLY_EPHEMERAL, "pr-7", pull_request=7, ttl_seconds=3600),
                                operation="create"))
    ttl.handle(deps, task_event(make_run(Workflow.DESTROY, "pr-7", pull_request=7), operation="destroy-failed"))
    assert [(e.environment, e.state) for e in deps.runs.list_environments()] == [("pr-7", "destroy-failed")]

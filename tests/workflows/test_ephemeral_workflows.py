"""APPLY EPHEMERAL, DESTROY and MODIFY CRON on the embedded stack: real state machines, real task
Lambdas, the stack's EventBridge Scheduler firing the TTL schedule into the DESTROY state machine.
DESTROY of a long-lived environment (its approved destroy plan) is here too; with the real executor in
test_real_executor_workflows.py."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from chalicelib.core.naming import schedule_name
from chalicelib.core.workflows import Command, Workflow
from chalicelib.tasks import approval
from tests.workflows.conftest import GOOD_SHA, NEWER_SHA, SHA, execution_of

pytestmark = pytest.mark.e2e


def schedule_of(pipeline, environment):
    scheduler = pipeline.stack.client("scheduler")
    found = scheduler.list_schedules(GroupName=pipeline.settings["TFPIPE_SCHEDULE_GROUP"])["Schedules"]
    name = schedule_name("acme/infra", environment)
    return next((s for s in found if s["Name"] == name), None)


def test_ephemeral_apply_schedules_its_destroy_and_reports_its_url_with_scripted_job_standin(pipeline):
    pipeline.script("pr-21", "plan-apply", outputs={"url": "http://127.0.0.1:9/pr-21"})
    run = pipeline.start(pipeline.run(Command.EPHEMERAL, "pr-21", pull_request=21, ttl_seconds=4 * 3600))

    assert pipeline.wait(run)["status"] == "SUCCEEDED"
    assert pipeline.events(run) == [("queued", "started"), ("schedule", "succeeded"), ("done", "succeeded")]
    ready = pipeline.event_bodies(run)[-2]
    assert "pr-21 is up at http://127.0.0.1:9/pr-21" in ready["message"] and "(in 4h)" in ready["message"]
    assert ready["details"]["outputs"] == {"url": "http://127.0.0.1:9/pr-21"}
    [job] = pipeline.jobs(run)
    assert (job["action"], job["workspace"], job["pull_request"]) == ("plan-apply", "pr-21", 21)
    assert schedule_of(pipeline, "pr-21") is not None
    record = pipeline.deps.runs.get_environment("acme/infra", "pr-21")
    assert 4 * 3600 - 60 < record.destroy_at - time.time() <= 4 * 3600
    assert pipeline.lock("pr-21") is None


def test_failed_ephemeral_apply_destroys_what_was_created_with_scripted_job_standin(pipeline):
    pipeline.script("pr-22", "plan-apply", error="ApplyFailed", cause="Error: creating Lambda function")
    run = pipeline.start(pipeline.run(Command.EPHEMERAL, "pr-22", pull_request=22))

    assert pipeline.wait(run)["status"] == "FAILED"
    assert pipeline.events(run) == [("queued", "started"), ("done", "failed")]
    assert pipeline.event_bodies(run)[-1]["message"].startswith(  # moto drops a task failure's cause
        f"apply of {SHA[:7]} to pr-22 failed; what it created was destroyed (ApplyFailed")
    assert [j["action"] for j in pipeline.jobs(run)] == ["plan-apply", "destroy"]
    assert schedule_of(pipeline, "pr-22") is None
    assert [r.action + ":" + r.result for r in pipeline.deps.audit_log.history("acme/infra", "pr-22")] == [
        "ephemeral-apply:failed", "destroy:destroyed"]
    assert pipeline.lock("pr-22") is None


def test_ttl_firing_destroys_the_environment_with_scripted_job_standin(pipeline):
    run = pipeline.start(pipeline.run(Command.EPHEMERAL, "pr-23", pull_request=23, ttl_seconds=3))
    assert pipeline.wait(run)["status"] == "SUCCEEDED"
    destroy_run_id = pipeline.deps.runs.get_environment("acme/infra", "pr-23").destroy_input["run_id"]

    arn = pipeline.wait_until("the TTL schedule to start DESTROY",
                              lambda: execution_of(pipeline, Workflow.DESTROY, destroy_run_id), timeout=90)
    pipeline.wait_until("DESTROY to end", lambda: pipeline.sfn.describe_execution(executionArn=arn)["status"]
                        in ("SUCCEEDED", "FAILED"))
    assert pipeline.sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
    destroyed = [line for line in pipeline.jobs_of(destroy_run_id)]
    assert [(j["action"], j["environment"], j["sha"]) for j in destroyed] == [("destroy", "pr-23", SHA)]
    assert pipeline.deps.runs.get_environment("acme/infra", "pr-23") is None
    assert schedule_of(pipeline, "pr-23") is None
    assert pipeline.lock("pr-23") is None


def test_ttl_moved_by_modify_cron(pipeline):
    pipeline.wait(pipeline.start(pipeline.run(Command.EPHEMERAL, "pr-24", pull_request=24, ttl_seconds=3600)))
    before = pipeline.deps.runs.get_environment("acme/infra", "pr-24").destroy_at

    cron = pipeline.start(pipeline.run(Command.CRON, "pr-24", pull_request=24, ttl_seconds=8 * 3600, key="cron"))

    assert pipeline.wait(cron)["status"] == "SUCCEEDED"
    assert pipeline.events(cron) == [("queued", "started"), ("schedule", "succeeded"), ("done", "succeeded")]
    after = pipeline.deps.runs.get_environment("acme/infra", "pr-24").destroy_at
    assert after - before >= 7 * 3600 - 60
    # The schedule itself moved, not only the record of it: its one-time expression names the new time.
    schedule = pipeline.stack.client("scheduler").get_schedule(
        Name=schedule_name("acme/infra", "pr-24"), GroupName=pipeline.settings["TFPIPE_SCHEDULE_GROUP"])
    at = datetime.fromisoformat(schedule["ScheduleExpression"].removeprefix("at(").removesuffix(")"))
    assert abs(at.replace(tzinfo=UTC).timestamp() - after) < 2
    assert pipeline.jobs(cron) == []


def test_modify_cron_of_an_environment_that_is_not_up_is_refused_clearly(pipeline):
    cron = pipeline.start(pipeline.run(Command.CRON, "pr-25", pull_request=25, ttl_seconds=3600))

    assert pipeline.wait(cron)["status"] == "FAILED"
    assert pipeline.events(cron)[-1] == ("done", "failed")
    assert "no ephemeral environment pr-25 of acme/infra is up" in pipeline.event_bodies(cron)[-1]["message"]


def test_modify_cron_with_a_ttl_outside_the_bounds_is_refused_with_what_is_accepted(pipeline):
    pipeline.wait(pipeline.start(pipeline.run(Command.EPHEMERAL, "pr-26", pull_request=26, ttl_seconds=3600)))
    cron = pipeline.start(pipeline.run(Command.CRON, "pr-26", pull_request=26, ttl_seconds=30 * 86400, key="c"))

    assert pipeline.wait(cron)["status"] == "FAILED"
    assert "between 1s and 7d" in pipeline.event_bodies(cron)[-1]["message"]


def test_destroy_removes_the_environment_and_its_schedule_with_scripted_job_standin(pipeline):
    pipeline.wait(pipeline.start(pipeline.run(Command.EPHEMERAL, "pr-27", pull_request=27, ttl_seconds=3600)))
    destroy = pipeline.start(pipeline.run(Command.DESTROY, "pr-27", pull_request=27, key="closed"))

    assert pipeline.wait(destroy)["status"] == "SUCCEEDED"
    assert pipeline.events(destroy) == [("queued", "started"), ("done", "succeeded")]
    assert schedule_of(pipeline, "pr-27") is None
    assert pipeline.deps.runs.get_environment("acme/infra", "pr-27") is None
    assert pipeline.lock("pr-27") is None


def test_failed_destroy_keeps_the_environment_listed_as_failed_to_destroy_with_scripted_job_standin(pipeline):
    pipeline.wait(pipeline.start(pipeline.run(Command.EPHEMERAL, "pr-28", pull_request=28, ttl_seconds=3600)))
    pipeline.script("pr-28", "destroy", error="DestroyFailed", cause="Error: deleting S3 bucket: BucketNotEmpty")
    destroy = pipeline.start(pipeline.run(Command.DESTROY, "pr-28", pull_request=28, key="closed"))

    assert pipeline.wait(destroy)["status"] == "FAILED"
    assert pipeline.events(destroy)[-1] == ("done", "failed")
    assert "failed-to-destroy" in pipeline.event_bodies(destroy)[-1]["message"]
    assert pipeline.deps.runs.get_environment("acme/infra", "pr-28").state == "destroy-failed"
    assert pipeline.lock("pr-28") is None


@pytest.mark.parametrize("error, number", [("InitFailed", 36), ("PlanFailed", 37)])
def test_a_broken_commit_leaves_the_environment_as_it_was_with_scripted_job_standin(pipeline, error, number):
    environment = f"pr-{number}"
    up = pipeline.start(pipeline.run(Command.EPHEMERAL, environment, sha=GOOD_SHA, pull_request=number,
                                     ttl_seconds=3600))
    assert pipeline.wait(up)["status"] == "SUCCEEDED"
    pipeline.script(environment, "plan-apply", sha=NEWER_SHA, error=error, cause="Error: Invalid expression")
    broken = pipeline.start(pipeline.run(Command.EPHEMERAL, environment, sha=NEWER_SHA, key="broken",
                                         pull_request=number, ttl_seconds=3600))

    assert pipeline.wait(broken)["status"] == "FAILED"
    assert [j["action"] for j in pipeline.jobs(broken)] == ["plan-apply"]  # nothing destroyed
    message = pipeline.event_bodies(broken)[-1]["message"]
    assert message.startswith(f"apply of {NEWER_SHA[:7]} to {environment} failed before it changed anything ({error}")
    assert message.endswith(f"nothing was destroyed: {environment} still runs {GOOD_SHA[:7]}")
    record = pipeline.deps.runs.get_environment("acme/infra", environment)
    assert (record.state, record.destroy_input["request"]["sha"]) == ("active", GOOD_SHA)  # its TTL destroy too
    assert schedule_of(pipeline, environment) is not None
    assert pipeline.lock(environment) is None


def test_a_commit_that_fails_before_creating_anything_says_so_with_scripted_job_standin(pipeline):
    pipeline.script("pr-39", "plan-apply", error="InitFailed", cause="Error: Unsupported block type")
    run = pipeline.start(pipeline.run(Command.EPHEMERAL, "pr-39", pull_request=39))

    assert pipeline.wait(run)["status"] == "FAILED"
    assert pipeline.jobs(run)[-1]["action"] == "plan-apply"
    message = pipeline.event_bodies(run)[-1]["message"]
    assert message.startswith(f"apply of {SHA[:7]} to pr-39 failed before it changed anything (InitFailed")
    assert message.endswith("nothing was created or destroyed")
    assert "failed too" not in message and "destroyed (" not in message
    assert pipeline.deps.runs.get_environment("acme/infra", "pr-39") is None
    assert pipeline.lock("pr-39") is None


def test_destroy_uses_the_environments_last_good_commit_not_the_closing_head_with_scripted_job_standin(pipeline):
    up = pipeline.start(pipeline.run(Command.EPHEMERAL, "pr-38", sha=GOOD_SHA, pull_request=38, ttl_seconds=3600))
    assert pipeline.wait(up)["status"] == "SUCCEEDED"
    # The pull request is closed at a head that never applied (its own apply failed at init).
    closed = pipeline.start(pipeline.run(Command.DESTROY, "pr-38", sha=NEWER_SHA, key="closed", pull_request=38))

    assert pipeline.wait(closed)["status"] == "SUCCEEDED"
    assert [(j["action"], j["sha"]) for j in pipeline.jobs(closed)] == [("destroy", GOOD_SHA)]
    history = pipeline.deps.audit_log.history("acme/infra", "pr-38")
    assert [(r.action, r.sha, r.result) for r in history][-1] == ("destroy", GOOD_SHA, "destroyed")
    assert pipeline.deps.runs.get_environment("acme/infra", "pr-38") is None


def test_a_long_lived_destroy_nobody_approves_times_out_destroying_nothing_with_scripted_job_standin(pipeline):
    with pipeline.changed_settings(TFPIPE_APPROVAL_TIMEOUT="2s"):
        run = pipeline.start(pipeline.run(Command.DESTROY, "e2e-keep", key="unanswered"))
        pipeline.wait_for_approval(run)
        assert pipeline.wait(run)["status"] == "FAILED"
    assert pipeline.events(run)[-1] == ("done", "timed-out")
    assert pipeline.event_bodies(run)[-1]["message"] == "nobody approved the destroy of e2e-keep in time; nothing destroyed"
    assert [j["action"] for j in pipeline.jobs(run)] == ["plan-destroy"]
    assert pipeline.lock("e2e-keep") is None


def test_an_approved_destroy_applies_the_stored_destroy_plan_and_a_stale_one_destroys_nothing_with_scripted_job_standin(
        pipeline):
    pipeline.script("e2e-stale-destroy", "apply", error="StalePlan", cause="Saved plan is stale")
    run = pipeline.start(pipeline.run(Command.DESTROY, "e2e-stale-destroy", key="stale"))
    pipeline.wait_for_approval(run)
    approval.decide(pipeline.deps, run.run_id, True, "lead@example.com")

    assert pipeline.wait(run)["status"] == "FAILED"
    planned, applied = pipeline.jobs(run)
    assert (planned["action"], applied["action"]) == ("plan-destroy", "apply")
    assert applied["plan_key"] == f"{planned['artifacts_prefix']}plan.bin" and applied["sha"] == planned["sha"]
    assert pipeline.events(run)[-2:] == [("approval", "succeeded"), ("done", "failed")]
    assert pipeline.event_bodies(run)[-1]["message"].startswith(
        "destroy of e2e-stale-destroy refused, nothing destroyed: StalePlan")
    assert pipeline.deps.audit_log.history("acme/infra", "e2e-stale-destroy") == []
    assert pipeline.lock("e2e-stale-destroy") is None


def test_a_destroy_plan_that_fails_destroys_nothing_and_releases_the_lock_with_scripted_job_standin(pipeline):
    pipeline.script("e2e-unplanned", "plan-destroy", error="PlanFailed", cause="Error: reading the state")
    run = pipeline.start(pipeline.run(Command.DESTROY, "e2e-unplanned", key="broken"))

    assert pipeline.wait(run)["status"] == "FAILED"
    assert pipeline.event_bodies(run)[-1]["message"] == (
        "planning the destroy of e2e-unplanned failed; nothing was destroyed: PlanFailed: Error: reading the state")
    assert [j["action"] for j in pipeline.jobs(run)] == ["plan-destroy"]
    assert pipeline.deps.runs.get(run.run_id).approval_state in (None, "")
    assert pipeline.lock("e2e-unplanned") is None

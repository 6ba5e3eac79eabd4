"""PLAN and CUSTOM on the embedded stack: read-only workflows that never take the environment lock."""

from __future__ import annotations

import pytest

from chalicelib.core.request import CustomCommand
from chalicelib.core.workflows import Command
from tests.workflows.conftest import SHA

pytestmark = pytest.mark.e2e


def test_plan_reports_the_plan_with_scripted_job_standin(pipeline):
    pipeline.script("e2e-plan", "plan", has_changes=True, add=3)
    run = pipeline.start(pipeline.run(Command.PLAN, "e2e-plan", pull_request=5))

    assert pipeline.wait(run)["status"] == "SUCCEEDED"
    assert pipeline.events(run) == [("queued", "started"), ("done", "succeeded")]
    done = pipeline.event_bodies(run)[-1]
    assert done["message"] == f"plan of {SHA[:7]} for e2e-plan: 3 to add, 0 to change, 0 to destroy"
    assert done["pull_request"] == 5 and done["artifacts"]["plan"] == f"runs/plan/{run.run_id}/plan.bin"


def test_plan_runs_while_the_environment_is_locked_with_scripted_job_standin(pipeline):
    pipeline.deps.locker.acquire("acme/infra", "e2e-busy", "some-plan-apply")
    run = pipeline.start(pipeline.run(Command.PLAN, "e2e-busy"))

    assert pipeline.wait(run)["status"] == "SUCCEEDED"
    assert "lock" not in {phase for phase, _ in pipeline.events(run)}
    assert pipeline.lock("e2e-busy").run_id == "some-plan-apply"


def test_failed_plan_is_reported_with_scripted_job_standin(pipeline):
    pipeline.script("e2e-planfail", "plan", error="PlanFailed", cause="Error: Unsupported argument")
    run = pipeline.start(pipeline.run(Command.PLAN, "e2e-planfail"))

    assert pipeline.wait(run)["status"] == "FAILED"
    assert pipeline.events(run)[-1] == ("done", "failed")
    assert "PlanFailed" in pipeline.event_bodies(run)[-1]["message"]


def test_custom_command_runs_the_allow_listed_subcommand_with_scripted_job_standin(pipeline):
    run = pipeline.start(pipeline.run(Command.CUSTOM, "pr-31", pull_request=31,
                                      custom=CustomCommand("state", ("list",))))

    assert pipeline.wait(run)["status"] == "SUCCEEDED"
    assert pipeline.events(run) == [("queued", "started"), ("done", "succeeded")]
    assert pipeline.event_bodies(run)[-1]["message"] == "terraform state list on pr-31 finished"
    assert [j["custom_args"] for j in pipeline.jobs(run)] == [["state", "list"]]


def test_custom_command_outside_the_allow_list_is_refused_and_runs_nothing(pipeline):
    run = pipeline.start(pipeline.run(Command.CUSTOM, "pr-32", pull_request=32,
                                      custom=CustomCommand("apply", ("-auto-approve",))))

    assert pipeline.wait(run)["status"] == "FAILED"
    refused = pipeline.event_bodies(run)[-1]
    assert (refused["phase"], refused["status"]) == ("done", "failed")
    assert "InvalidRequest" in refused["message"] and "allow-listed terraform subcommand" in refused["message"]
    assert pipeline.jobs(run) == []

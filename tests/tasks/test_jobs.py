"""What a Terraform job is told (JobSpec): which commit, which plan, which command; checked again here."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import InvalidRequest
from chalicelib.core.job import JobAction
from chalicelib.core.request import CustomCommand
from chalicelib.core.workflows import Workflow
from chalicelib.tasks import jobs
from chalicelib.tasks.event import TaskEvent
from tests.tasks.conftest import OLD_SHA, SHA, make_run, task_event


def spec(deps, run, action, rollback=False, **state):
    return jobs.job_spec(deps, TaskEvent.parse(task_event(run, state=state), "test"), action, rollback)


def test_apply_job_applies_exactly_the_stored_plan_of_the_run(deps):
    run = make_run()
    job = spec(deps, run, JobAction.APPLY, plan={"artifacts": {"plan": f"runs/{run.run_id}/plan.bin"}})
    assert (job.sha, job.plan_key, job.workspace) == (SHA, f"runs/{run.run_id}/plan.bin", "default")
    assert job.clone_url.startswith("file://") and job.clone_url.endswith("/acme/infra.git")
    assert job.artifacts_prefix == f"runs/{run.run_id}/"


def test_apply_job_without_a_stored_plan_is_refused(deps):
    with pytest.raises(InvalidRequest, match=r"plan\.artifacts\.plan"):
        spec(deps, make_run(), JobAction.APPLY, plan={"has_changes": True})


def test_rollback_job_plans_and_applies_the_last_good_commit_under_its_own_prefix(deps):
    run = make_run()
    job = spec(deps, run, JobAction.PLAN_APPLY, rollback=True, last_good={"sha": OLD_SHA})
    assert (job.sha, job.action, job.artifacts_prefix) == (OLD_SHA, JobAction.PLAN_APPLY, f"runs/{run.run_id}/rollback/")


def test_ephemeral_jobs_work_in_the_environments_own_workspace(deps):
    job = spec(deps, make_run(Workflow.APPLY_EPHEMERAL, "pr-7", pull_request=7), JobAction.PLAN_APPLY)
    assert (job.workspace, job.pull_request) == ("pr-7", 7)


def test_custom_job_carries_the_argument_list(deps):
    run = make_run(Workflow.CUSTOM, "pr-7", custom=CustomCommand("state", ("list",)))
    assert spec(deps, run, JobAction.CUSTOM).custom_args == ["state", "list"]


@pytest.mark.parametrize("custom", [CustomCommand("apply", ("-auto-approve",)), CustomCommand("state", ("rm", "x")),
                                    CustomCommand("output", ("-chdir=/etc",)), None])
def test_custom_job_outside_the_allow_list_is_refused_even_when_started_by_hand(deps, custom):
    run = make_run(Workflow.CUSTOM, "pr-7", custom=custom)
    with pytest.raises(InvalidRequest, match="args"):
        spec(deps, run, JobAction.CUSTOM)


def test_submit_refuses_an_unknown_action_and_a_missing_token(deps):
    with pytest.raises(InvalidRequest, match="action: got 'import'"):
        jobs.submit(deps, task_event(make_run(), action="import", task_token="t"))
    with pytest.raises(InvalidRequest, match="task_token"):
        jobs.submit(deps, task_event(make_run(), action="plan"))


def test_destroy_job_works_at_the_environments_last_good_commit_not_the_one_that_asked(deps):
    run = make_run(Workflow.DESTROY, "pr-7", sha=SHA, pull_request=7)  # a closed pull request's head
    event = TaskEvent.parse(task_event(run, state={"last_good": {"sha": OLD_SHA}}, commit="last-good"), "test")
    assert jobs.job_spec(deps, event, JobAction.DESTROY, False).sha == OLD_SHA
    nothing_known = TaskEvent.parse(task_event(run, state={"last_good": {"sha": None}}, commit="last-good"), "test")
    assert jobs.job_spec(deps, nothing_known, JobAction.DESTROY, False).sha == SHA


def test_a_job_asked_for_an_unknown_commit_is_refused_by_name(deps):
    event = TaskEvent.parse(task_event(make_run(Workflow.DESTROY, "pr-7"), commit="newest"), "test")
    with pytest.raises(InvalidRequest, match="commit: got 'newest'; accepted: request, last-good"):
        jobs.job_spec(deps, event, JobAction.DESTROY, False)

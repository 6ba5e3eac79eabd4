"""What a Terraform job is told (JobSpec): which commit, which plan, which command; checked again here."""

from __future__ import annotations

import json
from dataclasses import replace

import boto3
import pytest

from chalicelib.core.errors import InvalidRequest
from chalicelib.core.job import JOB_ENV, TASK_TOKEN_ENV, JobAction, JobSpec, token_key
from chalicelib.core.request import CustomCommand
from chalicelib.core.tiers import Tier
from chalicelib.core.workflows import Workflow
from chalicelib.tasks import jobs
from chalicelib.tasks.event import TaskEvent
from chalicelib.wiring import Container
from tests.tasks.conftest import OLD_SHA, SHA, make_run, task_event


def spec(deps, run, action, rollback=False, **state):
    return jobs.job_spec(deps, TaskEvent.parse(task_event(run, state=state), "test"), action, rollback)


def test_apply_job_applies_exactly_the_stored_plan_of_the_run(deps):
    run = make_run()
    job = spec(deps, run, JobAction.APPLY, plan={"artifacts": {"plan": f"runs/apply/{run.run_id}/plan.bin"}})
    assert (job.sha, job.plan_key, job.workspace) == (SHA, f"runs/apply/{run.run_id}/plan.bin", "default")
    assert job.clone_url.startswith("file://") and job.clone_url.endswith("/acme/infra.git")
    assert (job.tier, job.artifacts_prefix) == (Tier.APPLY, f"runs/apply/{run.run_id}/")


def test_apply_job_without_a_stored_plan_is_refused(deps):
    with pytest.raises(InvalidRequest, match=r"plan\.artifacts\.plan"):
        spec(deps, make_run(), JobAction.APPLY, plan={"has_changes": True})


def test_rollback_job_plans_and_applies_the_last_good_commit_under_its_own_prefix(deps):
    run = make_run()
    job = spec(deps, run, JobAction.PLAN_APPLY, rollback=True, last_good={"sha": OLD_SHA})
    assert (job.sha, job.action, job.artifacts_prefix) == (OLD_SHA, JobAction.PLAN_APPLY, f"runs/apply/{run.run_id}/rollback/")


def test_ephemeral_jobs_work_in_the_environments_own_workspace(deps):
    job = spec(deps, make_run(Workflow.APPLY_EPHEMERAL, "pr-7", pull_request=7), JobAction.PLAN_APPLY)
    assert (job.workspace, job.pull_request) == ("pr-7", 7)
    assert (job.tier, job.artifacts_prefix) == (Tier.PREVIEW, f"runs/preview/{job.run_id}/")


def test_custom_job_carries_the_argument_list(deps):
    run = make_run(Workflow.CUSTOM, "pr-7", custom=CustomCommand("state", ("list",)))
    job = spec(deps, run, JobAction.CUSTOM)
    assert job.custom_args == ["state", "list"]
    assert (job.tier, job.artifacts_prefix) == (Tier.PLAN, f"runs/plan/{run.run_id}/")


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


def tiered(deps, moto_endpoint) -> dict[Tier, tuple[str, str]]:
    """A job definition per tier and the two queues (Spot for plans), in moto; the settings naming them."""
    batch = boto3.client("batch", endpoint_url=moto_endpoint, region_name="us-east-1")
    role = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1").create_role(
        RoleName="batch", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    compute = batch.create_compute_environment(computeEnvironmentName="local", type="UNMANAGED", state="ENABLED",
                                               serviceRole=role)["computeEnvironmentArn"]
    queues = {name: batch.create_job_queue(jobQueueName=name, state="ENABLED", priority=1, computeEnvironmentOrder=[
        {"order": 1, "computeEnvironment": compute}])["jobQueueArn"] for name in ("jobs", "jobs-spot")}
    targets = {}
    for tier in Tier:
        definition = batch.register_job_definition(
            jobDefinitionName=f"executor-{tier.value}", type="container",
            containerProperties={"image": "tfpipe-executor", "vcpus": 1, "memory": 512})["jobDefinitionArn"]
        targets[tier] = (definition, queues["jobs-spot" if tier is Tier.PLAN else "jobs"])
    return targets


def with_tiers(deps, targets):
    settings = replace(deps.settings, job_definition_arns={t.value: d for t, (d, _) in targets.items()},
                       job_queue_arns={t.value: q for t, (_, q) in targets.items()})
    return Container(settings)


def test_a_plan_runs_on_the_plan_tiers_definition_and_queue_whatever_the_run_was_started_with(deps, moto_endpoint):
    targets = tiered(deps, moto_endpoint)
    deps = with_tiers(deps, targets)
    run = make_run(Workflow.PLAN, "prod", pull_request=5)
    run = replace(run, request=replace(run.request, job_definition_arn="", job_queue_arn=""))
    answer = jobs.submit(deps, task_event(run, action="plan", task_token="token-1"))
    [job] = deps.clients.batch.describe_jobs(jobs=[answer["job_id"]])["jobs"]
    assert (job["jobDefinition"], job["jobQueue"]) == targets[Tier.PLAN]
    assert '"tier": "plan"' in job["container"]["environment"][0]["value"]


def test_a_run_naming_another_tiers_job_definition_is_refused_before_any_job_starts(deps, moto_endpoint):
    targets = tiered(deps, moto_endpoint)
    deps = with_tiers(deps, targets)
    run = make_run(Workflow.PLAN, "prod", pull_request=5)
    run = replace(run, request=replace(run.request, job_definition_arn=targets[Tier.APPLY][0],
                                       job_queue_arn=targets[Tier.PLAN][1]))
    with pytest.raises(InvalidRequest, match=r"job_definition_arn: .*the plan tier's job definition"):
        jobs.submit(deps, task_event(run, action="plan", task_token="token-1"))
    assert deps.clients.batch.list_jobs(jobQueue=targets[Tier.PLAN][1])["jobSummaryList"] == []


def test_secrets_declared_in_the_settings_for_the_repository_and_environment_go_into_the_job_spec(deps):
    from chalicelib.core.repository_secrets import RepositorySecrets

    declared = RepositorySecrets.parse({"acme/infra": {"*": {"db_password": "db", "api_key": "api"},
                                                       "pr-*": {"db_password": "preview/db"},
                                                       "prod": {"api_key": "prod/api"}},
                                        "acme/other": {"*": {"token": "t"}}}, "tfpipe/test/repos/")
    deps = Container(replace(deps.settings, repository_secrets=declared))
    prod = spec(deps, make_run(Workflow.PLAN, "prod", pull_request=5), JobAction.PLAN)
    assert prod.secrets == {"api_key": "tfpipe/test/repos/acme/infra/prod/api",
                            "db_password": "tfpipe/test/repos/acme/infra/db"}
    preview = spec(deps, make_run(Workflow.APPLY_EPHEMERAL, "pr-7", pull_request=7), JobAction.PLAN_APPLY)
    assert preview.secrets == {"api_key": "tfpipe/test/repos/acme/infra/api",
                               "db_password": "tfpipe/test/repos/acme/infra/preview/db"}


def plan_run():
    """A PLAN run that leaves the job definition and queue to the pipeline (as intake starts one)."""
    run = make_run(Workflow.PLAN, "prod", pull_request=5)
    return replace(run, request=replace(run.request, job_definition_arn="", job_queue_arn=""))


def test_batch_describe_jobs_shows_no_task_token_and_the_job_fetches_it_by_its_key(deps, moto_endpoint):
    targets = tiered(deps, moto_endpoint)
    deps = with_tiers(deps, targets)
    token = "AQCEAAAAKgAAAAMAAAAAAAAAAaskTokenThatApprovesAStep"  # a stand-in task token
    run = plan_run()
    answer = jobs.submit(deps, task_event(run, action="plan", task_token=token))
    [job] = deps.clients.batch.describe_jobs(jobs=[answer["job_id"]])["jobs"]
    assert token not in json.dumps(job, default=str)
    listed = deps.clients.batch.list_jobs(jobQueue=targets[Tier.PLAN][1])["jobSummaryList"]
    assert listed and token not in json.dumps(listed, default=str)
    env = {e["name"]: e["value"] for e in job["container"]["environment"]}
    assert TASK_TOKEN_ENV not in env
    submitted = JobSpec.from_json(env[JOB_ENV])
    assert submitted.run_id == run.run_id and len(submitted.job_key) == 32
    # What the job reads with its key (and deletes once it answered).
    assert deps.job_tokens.get(token_key(submitted)).task_token == token


def test_each_job_gets_its_own_unguessable_token_key(deps, moto_endpoint):
    deps = with_tiers(deps, tiered(deps, moto_endpoint))
    run = plan_run()
    keys = set()
    for token in ("token-1", "token-2"):  # a retried job gets a new token, under a new key
        answer = jobs.submit(deps, task_event(run, action="plan", task_token=token))
        [job] = deps.clients.batch.describe_jobs(jobs=[answer["job_id"]])["jobs"]
        submitted = JobSpec.from_json(job["container"]["environment"][0]["value"])
        assert deps.job_tokens.get(token_key(submitted)).task_token == token
        keys.add(submitted.job_key)
    assert len(keys) == 2

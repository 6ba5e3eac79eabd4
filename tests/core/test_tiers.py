"""The pipeline, not the requester, chooses a run's trust tier: its job definition, queue and role."""

from __future__ import annotations

import pytest

from chalicelib.core.durations import TtlBounds
from chalicelib.core.errors import InvalidRequest
from chalicelib.core.request import RequestDefaults, parse_pipeline_request
from chalicelib.core.tiers import JobTarget, Tier, tier_for
from chalicelib.core.workflows import Workflow

ARN = "arn:aws:batch:us-east-1:123456789012"
TARGETS = {tier: JobTarget(f"{ARN}:job-definition/tfpipe-dev-executor-{tier.value}:3",
                           f"{ARN}:job-queue/tfpipe-dev-jobs" + ("-spot" if tier is Tier.PLAN else ""))
           for tier in Tier}
DEFAULTS = RequestDefaults("", "", {"prod": "333333333333"}, "222222222222", TARGETS)
BOUNDS = TtlBounds(minimum=15 * 60, maximum=7 * 86400, default=4 * 3600)


def request(command: str, environment: str, **fields):
    return parse_pipeline_request({"repository": "acme/infra", "commit": "a" * 40, "environment": environment,
                                   "command": command, "user_email": "dev@acme.io", **fields}, DEFAULTS, BOUNDS)


@pytest.mark.parametrize(("workflow", "environment", "tier"), [
    (Workflow.PLAN, "prod", Tier.PLAN),  # a pull request's speculative plan against production
    (Workflow.PLAN, "pr-7", Tier.PLAN),
    (Workflow.CUSTOM, "pr-7", Tier.PLAN),
    (Workflow.CUSTOM, "prod", Tier.PLAN),
    (Workflow.APPLY_EPHEMERAL, "pr-7", Tier.PREVIEW),
    (Workflow.DESTROY, "pr-7", Tier.PREVIEW),
    (Workflow.PLAN_APPLY, "pr-7", Tier.PREVIEW),
    (Workflow.PLAN_APPLY, "prod", Tier.APPLY),
    (Workflow.DESTROY, "prod", Tier.APPLY),
])
def test_the_tier_follows_from_the_workflow_and_the_environments_class(workflow, environment, tier):
    assert tier_for(workflow, environment.startswith("pr-")) is tier


@pytest.mark.parametrize(("command", "environment", "tier"), [
    ("plan", "prod", Tier.PLAN), ("ephemeral", "pr-7", Tier.PREVIEW), ("apply", "prod", Tier.APPLY)])
def test_a_request_that_names_no_job_definition_gets_its_tiers(command, environment, tier):
    parsed = request(command, environment)
    assert (parsed.job_definition_arn, parsed.job_queue_arn) == (TARGETS[tier].definition_arn, TARGETS[tier].queue_arn)


def test_a_request_may_name_its_own_tiers_definition_at_any_revision():
    parsed = request("apply", "prod", job_definition_arn=f"{ARN}:job-definition/tfpipe-dev-executor-apply:1")
    assert parsed.job_definition_arn.endswith("executor-apply:1")


def test_a_plan_asking_for_the_apply_tiers_definition_is_refused_saying_who_chooses():
    with pytest.raises(InvalidRequest) as caught:
        request("plan", "prod", job_definition_arn=TARGETS[Tier.APPLY].definition_arn)
    [error] = caught.value.errors
    assert error.field == "job_definition_arn"
    assert "the plan tier's job definition" in error.accepted and "the pipeline chooses it" in error.accepted


def test_an_ephemeral_apply_asking_for_another_queue_is_refused():
    with pytest.raises(InvalidRequest) as caught:
        request("ephemeral", "pr-7", job_queue_arn=TARGETS[Tier.PLAN].queue_arn)
    assert [e.field for e in caught.value.errors] == ["job_queue_arn"]

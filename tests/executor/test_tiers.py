"""The executor works as its tier says: a speculative plan (plan tier) assumes the read-only plan role,
takes no state lock and creates no workspace; a job on another tier's job definition stops before it
assumes anything. Real Terraform, state in moto's S3."""

from __future__ import annotations

import json

import pytest

from chalicelib.core.job import JobAction
from chalicelib.core.tiers import Tier
from tests.executor.conftest import STATE_BUCKET, make_spec, run_executor

pytestmark = pytest.mark.terraform

LOCK_KEY = "acme/infra/env/staging/terraform.tfstate.tflock"
HELD = json.dumps({"ID": "4a7a1e2c-0000-0000-0000-000000000000", "Operation": "OperationTypeApply",
                   "Who": "an-apply@tfpipe", "Version": "1.11.4", "Created": "2026-01-01T00:00:00Z",
                   "Path": "tfpipe-test-state/acme/infra/env/staging/terraform.tfstate"})


def test_a_speculative_plan_runs_as_the_plan_role_and_takes_no_lock_while_an_apply_holds_one(aws, infra):
    aws.s3.put_object(Bucket=STATE_BUCKET, Key=LOCK_KEY, Body=HELD.encode())
    sha = infra.commit("a pull request's change")

    speculative = run_executor(aws, make_spec(infra, sha, JobAction.PLAN, tier=Tier.PLAN),
                               TFPIPE_JOB_TIER="plan")
    assert speculative.returncode == 0, speculative.stdout[-3000:]
    assert speculative.answer["has_changes"] is True
    log = aws.text("tfpipe-test-artifacts", speculative.answer["artifacts"]["log"])
    assert "working as role tfpipe-plan of account" in log
    assert aws.text(STATE_BUCKET, LOCK_KEY) == HELD  # the apply's lock, untouched

    locking = run_executor(aws, make_spec(infra, sha, JobAction.PLAN, run_id="run-2", tier=Tier.APPLY))
    assert locking.answer["error"] == "PlanFailed"
    assert "lock" in locking.answer["cause"].lower()


def test_the_plan_tier_reads_an_ephemeral_workspace_but_never_creates_one(aws, infra):
    sha = infra.commit("a pull request's change")
    spec = make_spec(infra, sha, JobAction.CUSTOM, environment="pr-9", tier=Tier.PLAN, custom_args=["state", "list"])
    listed = run_executor(aws, spec)
    assert listed.answer["error"] == "InitFailed"
    assert "selecting workspace pr-9" in listed.answer["cause"]
    assert aws.keys(STATE_BUCKET) == []


def test_a_job_on_another_tiers_job_definition_stops_before_assuming_a_role(aws, infra):
    sha = infra.commit("a change")
    stopped = run_executor(aws, make_spec(infra, sha, JobAction.PLAN, tier=Tier.APPLY), TFPIPE_JOB_TIER="plan")
    assert stopped.answer["error"] == "InitFailed"
    assert "apply-tier job on the plan tier's job definition" in stopped.answer["cause"]
    assert "working as role" not in aws.text("tfpipe-test-artifacts", "runs/run-1/plan/log.txt")

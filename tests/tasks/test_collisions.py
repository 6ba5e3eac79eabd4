"""The check_collisions task (shared-account APPLY EPHEMERAL): the preview's plan JSON from the artifacts
bucket against the long-lived states in the state bucket, on moto."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from chalicelib.core.errors import PreviewCollision
from chalicelib.core.workflows import Workflow
from chalicelib.settings import SharedAccount
from chalicelib.tasks import collisions, runs
from chalicelib.wiring import Container
from tests.tasks.conftest import make_run, task_event

SHARED = "111122223333"  # make_run's account: pr-7 and the environments declared below
PLAN_KEY = "runs/preview/run-1/plan.json"
QUEUE = {"address": "aws_sqs_queue.jobs", "mode": "managed", "type": "aws_sqs_queue", "name": "jobs",
         "change": {"actions": ["create"], "after": {"name": "orders"}}}


def state_with_queue(name: str) -> str:
    return json.dumps({"version": 4, "resources": [{"mode": "managed", "type": "aws_sqs_queue", "name": "jobs",
                                                    "instances": [{"attributes": {"name": name}}]}]})


@pytest.fixture
def shared(deps):
    s3 = deps.clients.s3
    for bucket in ("tfpipe-test-artifacts", "tfpipe-test-tfstate"):
        s3.create_bucket(Bucket=bucket)
    settings = replace(deps.settings, artifacts_bucket="tfpipe-test-artifacts", state_bucket="tfpipe-test-tfstate",
                       environments={"prod": SHARED, "staging": "444455556666"}, ephemeral_account_id=SHARED,
                       ephemeral_shared_account=SharedAccount.ALLOW)
    container = Container(settings)
    container.artifacts.put_text(PLAN_KEY, json.dumps({"resource_changes": [QUEUE]}))
    return container


def check(deps) -> dict:
    run = make_run(Workflow.APPLY_EPHEMERAL, "pr-7", pull_request=7)
    return collisions.check(deps, task_event(run, state={"plan": {"artifacts": {"plan_json": PLAN_KEY}}}))


def test_a_preview_plan_creating_prods_queue_is_refused_naming_both(shared):
    shared.clients.s3.put_object(Bucket="tfpipe-test-tfstate", Key="acme/infra/env/prod/terraform.tfstate",
                                 Body=state_with_queue("orders"))

    with pytest.raises(PreviewCollision) as caught:
        check(shared)

    assert 'aws_sqs_queue.jobs (name = "orders") is prod\'s aws_sqs_queue.jobs; nothing was applied' in str(caught.value)
    assert f"pr-7 shares account {SHARED} with prod" in str(caught.value)


def test_environments_in_other_accounts_or_never_applied_are_not_compared(shared):
    shared.clients.s3.put_object(Bucket="tfpipe-test-tfstate", Key="acme/infra/env/staging/terraform.tfstate",
                                 Body=state_with_queue("orders"))  # staging is in another account

    assert check(shared) == {"environments": ["prod"], "compared": []}  # prod has no state yet


def test_only_an_ephemeral_run_sharing_a_long_lived_account_is_told_to_check(shared):
    assert runs.start(shared, task_event(make_run(Workflow.APPLY_EPHEMERAL, "pr-7", pull_request=7)))["shared_account"]
    assert not runs.start(shared, task_event(make_run(Workflow.PLAN_APPLY, "prod", key="d2")))["shared_account"]

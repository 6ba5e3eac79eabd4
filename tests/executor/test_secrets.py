"""Secrets and task tokens reach the job from the pipeline, never from the pull request: the real
executor (`python -m executor`) and Terraform, on moto."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from chalicelib.core.job import JobAction, token_key
from tests.executor.conftest import (
    ARTIFACTS_BUCKET,
    finished_execution,
    make_spec,
    run_executor,
    token_execution,
)

pytestmark = pytest.mark.terraform
GITHUB_TOKEN_SECRET = "tfpipe/dev/github-token"  # the pipeline's own token, as names.json names it


def texts_of(aws, done) -> list[str]:
    texts = [done.stdout, done.stderr]
    texts += [aws.text(ARTIFACTS_BUCKET, key) for key in aws.keys(ARTIFACTS_BUCKET) if not key.endswith(".tfplan")]
    return texts + [json.dumps(e) for e in aws.status_events()]


def test_a_pull_requests_tfpipe_yml_naming_the_github_token_secret_is_refused_and_nothing_is_read(aws, infra):
    canary = f"ghp_{uuid.uuid4().hex}"
    aws.secrets.create_secret(Name=GITHUB_TOKEN_SECRET, SecretString=canary)
    infra.write("tfpipe.yml", f"secrets:\n  api_key: {GITHUB_TOKEN_SECRET}\n")
    sha = infra.commit("a pull request asking for the pipeline's GitHub token")
    # The settings declare a secret for this repository that does not exist: reading it would fail
    # the job at init, so a BuildFailed at checkout shows no secret was read before the refusal.
    spec = make_spec(infra, sha, JobAction.PLAN, secrets={"api_key": "tfpipe/dev/repos/acme/infra/missing"})

    done = run_executor(aws, spec, TFPIPE_GITHUB_TOKEN_SECRET_NAME=GITHUB_TOKEN_SECRET)
    assert done.returncode == 1
    assert done.answer["error"] == "BuildFailed"
    assert "`secrets:` is refused" in done.answer["cause"] and "TFPIPE_REPOSITORY_SECRETS" in done.answer["cause"]
    log = aws.text(ARTIFACTS_BUCKET, "runs/run-1/plan/log.txt")
    assert "reading secret" not in log and "terraform init" not in log
    assert [t[:80] for t in texts_of(aws, done) if canary in t] == []


def test_a_secret_outside_the_repositorys_prefix_is_never_read_even_when_a_spec_names_it(aws, infra):
    canary = f"ghp_{uuid.uuid4().hex}"
    aws.secrets.create_secret(Name=GITHUB_TOKEN_SECRET, SecretString=canary)
    sha = infra.commit("plain")
    for name in (GITHUB_TOKEN_SECRET, "tfpipe/dev/repos/acme/other/db", "tfpipe/dev/repos/acme/infra/../../github"):
        done = run_executor(aws, make_spec(infra, sha, JobAction.PLAN, secrets={"api_key": name}))
        assert done.answer["error"] == "InitFailed", done.stdout[-2000:]
        assert "only secrets under tfpipe/dev/repos/acme/infra/ are handed to this repository" in done.answer["cause"]
        assert [t[:80] for t in texts_of(aws, done) if canary in t] == []


def test_the_job_fetches_its_task_token_from_the_tokens_table_and_deletes_it_once_answered(aws, infra):
    dynamodb = boto3.client("dynamodb", endpoint_url=aws.endpoint, region_name="us-east-1")
    dynamodb.create_table(TableName="tfpipe-test-tokens", BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    sha = infra.commit("plain")
    execution, token = token_execution(aws, "from-the-table")
    spec = make_spec(infra, sha, JobAction.PLAN, job_key=uuid.uuid4().hex)
    key = {"pk": {"S": token_key(spec)}}
    dynamodb.put_item(TableName="tfpipe-test-tokens", Item={**key, "task_token": {"S": token}})

    done = run_executor(aws, spec, TFPIPE_TOKENS_TABLE="tfpipe-test-tokens")  # no TFPIPE_TASK_TOKEN
    assert done.returncode == 0, done.stdout[-3000:]
    assert finished_execution(aws, execution)["status"] == "SUCCEEDED"
    assert "Item" not in dynamodb.get_item(TableName="tfpipe-test-tokens", Key=key)
    assert [t[:80] for t in texts_of(aws, done) if token in t] == []


def test_a_job_told_a_job_key_but_not_the_tokens_table_refuses_to_start_instead_of_running_unanswerable(aws, infra):
    sha = infra.commit("plain")
    done = run_executor(aws, make_spec(infra, sha, JobAction.PLAN, job_key=uuid.uuid4().hex))
    assert done.returncode == 2  # Batch marks it FAILED; batch_job_failed fails its token from the table
    assert "TFPIPE_TOKENS_TABLE is not set" in done.stdout
    assert aws.keys(ARTIFACTS_BUCKET) == []  # nothing ran

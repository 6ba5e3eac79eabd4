"""The real Chalice app, through chalice.test.Client, against moto over HTTP."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import boto3
import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.core.errors import NotFound
from chalicelib.core.signature import sign
from chalicelib.core.workflows import Workflow
from chalicelib.settings import Settings
from tests.twins import GitHubTwin
from tfpipe.local.github.oidc import ActionsOidc, serving_alone

ACCOUNT = "123456789012"
PREVIEW_ACCOUNT = "210987654321"
WEBHOOK_SECRET = "whsec-test-" + "x" * 20
PASS_DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


@dataclass
class Pipeline:
    client: Client
    github: GitHubTwin
    settings: Settings
    secret: str
    oidc: ActionsOidc  # GitHub Actions' token issuer, stood in on loopback (TFPIPE_OIDC_ISSUER)

    def post(self, path: str, body: bytes, headers: dict):
        return self.client.http.post(path, headers={"Content-Type": "application/json", **headers}, body=body)

    def webhook(self, event: str, payload: dict | bytes, delivery: str | None = None, secret: str | None = None,
                extra_headers: dict | None = None):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
                   "X-Hub-Signature-256": sign(secret or self.secret, body), **(extra_headers or {})}
        return self.post("/webhooks/github", body, headers)

    def actions_token(self, request: dict, **claims) -> str:
        """The token a workflow on the default branch gets when it dispatches `request`'s commit (for a
        request that names no repository or commit that resolves, one of acme/infra at no commit)."""
        repository = request.get("repository") if isinstance(request.get("repository"), str) else "acme/infra"
        try:
            sha = self.github.resolve_commit(repository, request.get("commit"))
        except (NotFound, TypeError):
            sha = "0" * 40
        claims = {"repository": repository, "ref": "refs/heads/main", "sha": sha, **claims}
        return self.oidc.mint(claims.pop("repository"), claims.pop("ref"), claims.pop("sha"), **claims)

    def dispatch(self, request: dict, token: str | None = None):
        """POST /dispatch as GitHub Actions sends it: with the job's OIDC token (a right one by default)."""
        body = json.dumps(request).encode()
        return self.post("/dispatch", body, {"Authorization": f"Bearer {token or self.actions_token(request)}"})

    def executions(self) -> list[dict]:
        """Every execution started, with its state machine's workflow and parsed input."""
        sfn = boto3.client("stepfunctions")
        found = []
        for workflow, arn in self.settings.state_machines.items():
            for execution in sfn.list_executions(stateMachineArn=arn)["executions"]:
                detail = sfn.describe_execution(executionArn=execution["executionArn"])
                found.append({"workflow": workflow, "name": execution["name"],
                              "input": json.loads(detail["input"])})
        return sorted(found, key=lambda e: (e["workflow"], e["name"]))


def provision(stage: str = "test") -> dict[str, str]:
    secrets = boto3.client("secretsmanager")
    secrets.create_secret(Name=f"tfpipe/{stage}/github-webhook-secret", SecretString=WEBHOOK_SECRET)
    secrets.create_secret(Name=f"tfpipe/{stage}/github-token", SecretString="ghp_" + "t" * 36)
    boto3.client("dynamodb").create_table(
        TableName=f"tfpipe-{stage}-deliveries", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "delivery", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "delivery", "AttributeType": "S"}])
    boto3.client("dynamodb").create_table(
        TableName=f"tfpipe-{stage}-runs", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    sfn = boto3.client("stepfunctions")
    env = {}
    for workflow in Workflow:
        arn = sfn.create_state_machine(name=f"tfpipe-{stage}-{workflow.value}", definition=PASS_DEFINITION,
                                       roleArn=f"arn:aws:iam::{ACCOUNT}:role/tfpipe-sfn")["stateMachineArn"]
        env[f"TFPIPE_STATE_MACHINE_{workflow.settings_key}"] = arn
    return env


def settings_env(stage: str = "test", **overrides) -> dict[str, str]:
    env = {
        "TFPIPE_STAGE": stage, "AWS_REGION": "us-east-1",
        "TFPIPE_DELIVERIES_TABLE": f"tfpipe-{stage}-deliveries",
        "TFPIPE_RUNS_TABLE": f"tfpipe-{stage}-runs",
        "TFPIPE_WEBHOOK_SECRET_NAME": f"tfpipe/{stage}/github-webhook-secret",
        "TFPIPE_GITHUB_TOKEN_SECRET_NAME": f"tfpipe/{stage}/github-token",
        "TFPIPE_JOB_DEFINITION_ARN": f"arn:aws:batch:us-east-1:{ACCOUNT}:job-definition/tfpipe-executor:1",
        "TFPIPE_JOB_QUEUE_ARN": f"arn:aws:batch:us-east-1:{ACCOUNT}:job-queue/tfpipe",
        "TFPIPE_ALLOWED_REPOSITORIES": "Codertocat/*,octo-org/octo-repo,acme/infra",
        "TFPIPE_ENVIRONMENTS": json.dumps({"prod": ACCOUNT}),
        "TFPIPE_EPHEMERAL_ACCOUNT_ID": PREVIEW_ACCOUNT,  # previews in an account of their own (settings.py)
        "TFPIPE_DEFAULT_ENVIRONMENT": "prod",
        "TFPIPE_MAX_BODY_BYTES": str(256 * 1024),
    }
    env.update(overrides)
    return env


@pytest.fixture(scope="session")
def actions_oidc():
    """GitHub Actions' OIDC issuer on loopback: the intake fetches its configuration and keys over HTTP."""
    with serving_alone() as issuer:
        yield issuer


@pytest.fixture
def make_pipeline(moto_endpoint, actions_oidc):
    def make(**overrides) -> Pipeline:
        env = {**settings_env(), **provision()} if not overrides.pop("_skip_provision", False) else settings_env()
        env["TFPIPE_OIDC_ISSUER"] = actions_oidc.issuer
        env.update(overrides)
        settings = Settings.from_env(env)
        container = wiring.reset(settings)
        twin = GitHubTwin()
        container.vcs = twin  # GitHub's API cannot be reached here: the twin stands in for it
        from app import app
        return Pipeline(Client(app, stage_name="dev"), twin, settings, WEBHOOK_SECRET, actions_oidc)
    yield make
    wiring.reset(Settings())


@pytest.fixture
def pipeline(make_pipeline) -> Pipeline:
    return make_pipeline()

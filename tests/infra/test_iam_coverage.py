"""Least privilege that still works: every AWS operation the code calls is granted to the role it runs
with. Operations are found in the source (client method calls whose names are operations of the
services the pipeline uses, per botocore's own service models), actions in the role's .tf file."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name

from tests.infra.terraform_cli import REPO

# botocore service name -> IAM action prefix, for the services the pipeline's code talks to.
SERVICES = {"dynamodb": "dynamodb", "sqs": "sqs", "s3": "s3", "batch": "batch", "scheduler": "scheduler",
            "secretsmanager": "secretsmanager", "stepfunctions": "states", "sts": "sts", "logs": "logs"}
CALL = re.compile(r"\.([a-z][a-z0-9_]+)(?=\s*[(,])")  # a call, or a method handed to a retry helper
ACTION = re.compile(r'"([a-z0-9-]+:[A-Za-z*]+)"')
# Helpers of the S3 transfer manager that are not API operations themselves, mapped to what they call.
TRANSFER = {"upload_file": ["s3:PutObject"], "download_file": ["s3:GetObject"], "upload_fileobj": ["s3:PutObject"]}


def operations() -> dict[str, set[str]]:
    session = botocore.session.get_session()
    found: dict[str, set[str]] = {}
    for service, prefix in SERVICES.items():
        for name in session.get_service_model(service).operation_names:
            found.setdefault(xform_name(name), set()).add(f"{prefix}:{name}")
    for method, actions in TRANSFER.items():
        found.setdefault(method, set()).update(actions)
    return found


def called_actions(paths: list[Path]) -> dict[str, set[str]]:
    ops = operations()
    called: dict[str, set[str]] = {}
    for path in paths:
        for method in CALL.findall(path.read_text()):
            if method in ops:
                called.setdefault(method, set()).update(ops[method])
    return called


def granted(tf_file: str) -> set[str]:
    return set(ACTION.findall((REPO / "terraform" / tf_file).read_text()))


def ungranted(called: dict[str, set[str]], allowed: set[str]) -> list[str]:
    return sorted(f"{method} ({' or '.join(sorted(actions))})" for method, actions in called.items()
                  if not any(fnmatchcase(a, pattern) for a in actions for pattern in allowed))


def test_the_lambda_role_grants_every_operation_the_chalice_app_calls():
    sources = [*REPO.glob("app.py"), *(p for p in (REPO / "chalicelib").rglob("*.py"))]
    called = called_actions(sources)
    assert {"put_item", "start_execution", "send_message"} <= set(called), "the scan found too little to mean anything"
    assert ungranted(called, granted("iam_lambda.tf")) == []


def test_the_job_role_grants_every_operation_the_executor_calls():
    executor = list((REPO / "executor" / "executor").rglob("*.py"))
    if not executor:
        pytest.skip("executor/executor not written yet")
    # The executor reaches AWS through these chalicelib adapters (executor/executor/__main__.py).
    adapters = [REPO / "chalicelib" / "adapters" / f"{name}.py"
                for name in ("artifacts", "secret_store", "status_queue", "task_callbacks")]
    assert [a.name for a in adapters if not a.exists()] == [], "an adapter the executor uses was renamed"
    called = called_actions([*executor, *adapters])
    assert {"assume_role", "get_secret_value", "send_task_success"} <= set(called)
    # Every tier's job role gets both policies of iam_job.tf (the tier's own and the common one), so
    # whatever the file grants, each tier's executor has.
    source = (REPO / "terraform" / "iam_job.tf").read_text()
    for policy in ("job_tier", "job"):
        attachment = f'resource "aws_iam_role_policy" "{policy}" {{\n  for_each = local.tiers\n'
        assert attachment in source, f"the {policy} policy is no longer attached to every tier's job role"
    assert ungranted(called, granted("iam_job.tf")) == []


# Step Functions service integrations (Resource arn:aws:states:::<integration>[.<pattern>]) -> IAM action.
INTEGRATIONS = {"lambda:invoke": "lambda:InvokeFunction", "states:startExecution": "states:StartExecution",
                "sqs:sendMessage": "sqs:SendMessage", "dynamodb:putItem": "dynamodb:PutItem",
                "dynamodb:getItem": "dynamodb:GetItem", "dynamodb:updateItem": "dynamodb:UpdateItem",
                "dynamodb:deleteItem": "dynamodb:DeleteItem", "batch:submitJob": "batch:SubmitJob",
                "events:putEvents": "events:PutEvents", "sns:publish": "sns:Publish"}


def test_the_states_role_grants_every_integration_the_state_machines_use():
    resources = set()
    for path in (REPO / "statemachines").glob("*.asl.json"):
        resources |= set(re.findall(r'"Resource":\s*"arn:aws:states:::([^"]+)"', path.read_text()))
    integrations = {r.removesuffix(".sync").removesuffix(".waitForTaskToken").removesuffix(".sync:2") for r in resources}
    unknown = {i for i in integrations if i not in INTEGRATIONS and not i.startswith("aws-sdk:")}
    assert unknown == set(), "map these Step Functions integrations to IAM actions in INTEGRATIONS"
    needed = {INTEGRATIONS.get(i) or "{}:{}".format(*i.split(":")[1:3]) for i in integrations}
    allowed = {p.lower() for p in granted("iam_services.tf")}  # IAM action names are case-insensitive
    assert sorted(a for a in needed if not any(fnmatchcase(a.lower(), p) for p in allowed)) == []

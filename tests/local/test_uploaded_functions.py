"""Functions uploaded to moto run in their own process with their configuration; their function
URLs are served on loopback. The sample app (examples/app) is the real code under test."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]

PROBE = '''
import os

def handler(event, context):
    if event.get("fail"):
        raise KeyError("no such thing")
    return {"pid": os.getpid(), "colour": os.environ["COLOUR"], "function": context.function_name,
            "endpoint": os.environ.get("AWS_ENDPOINT_URL", "")}
'''


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _create(stack, name: str, files: dict[str, str], handler: str, environment: dict[str, str]) -> None:
    iam = stack.client("iam")
    try:
        role = iam.get_role(RoleName="function")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="function", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    stack.client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler=handler, Code={"ZipFile": _zip(files)},
        Timeout=10, Environment={"Variables": environment})


def test_uploaded_function_runs_in_its_own_process_with_its_environment(stack):
    _create(stack, "probe", {"probe.py": PROBE}, "probe.handler", {"COLOUR": "teal"})

    answer = stack.client("lambda").invoke(FunctionName="probe", Payload=b"{}")

    result = json.loads(answer["Payload"].read())
    assert result["pid"] != os.getpid()
    assert result["colour"] == "teal"
    assert result["function"] == "probe"
    assert result["endpoint"] == stack.aws_url


def test_uploaded_function_error_is_unhandled_with_the_runtime_payload(stack):
    _create(stack, "probe", {"probe.py": PROBE}, "probe.handler", {"COLOUR": "red"})

    answer = stack.client("lambda").invoke(FunctionName="probe", Payload=json.dumps({"fail": True}))

    assert answer["FunctionError"] == "Unhandled"
    assert json.loads(answer["Payload"].read())["errorType"] == "KeyError"


@pytest.fixture
def guestbook(stack):
    """The sample app as Terraform would deploy it: its table, its function, its function URL."""
    stack.client("dynamodb").create_table(
        TableName="guestbook-pr-1", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}])
    files = {p.name: p.read_text() for p in (REPO_ROOT / "examples" / "app").glob("*.py")}
    _create(stack, "guestbook-pr-1", files, "handler.handler", {"TABLE_NAME": "guestbook-pr-1", "ENVIRONMENT": "pr-1"})
    moto_url = stack.client("lambda").create_function_url_config(FunctionName="guestbook-pr-1", AuthType="NONE")[
        "FunctionUrl"]
    return moto_url


def test_sample_app_function_url_is_served_on_loopback(stack, guestbook):
    url = stack.function_url("guestbook-pr-1")

    first = requests.get(url, timeout=30)
    second = requests.get(url, timeout=30)

    assert first.status_code == 200
    assert first.headers["content-type"] == "application/json"
    assert first.json() == {"visits": 1, "environment": "pr-1"}
    assert second.json()["visits"] == 2
    assert guestbook == url  # what moto (so Terraform's output) answers is the loopback address
    stack_json = json.loads((stack.state_dir / "stack.json").read_text())
    assert stack_json["function_urls"]["guestbook-pr-1"] == {"function_url": guestbook, "local_url": url}


def test_function_url_passes_method_path_and_body(stack, guestbook):
    url = stack.function_url("guestbook-pr-1")

    signed = requests.post(url + "messages", json={"name": "ada", "text": "hello"}, timeout=30)
    listed = requests.get(url + "messages", timeout=30)

    assert signed.status_code in (200, 201)
    assert [(m["name"], m["text"]) for m in listed.json()["messages"]] == [("ada", "hello")]

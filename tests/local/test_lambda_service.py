"""The local Lambda service answers boto3's Invoke like AWS, running the Chalice app's handlers."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from tests.local import stack_test_app


def test_request_response_runs_the_chalice_handler_by_its_deployed_name(stack):
    answer = stack.client("lambda").invoke(FunctionName="tfpipe-test-greet", Payload=json.dumps({"who": "ops"}))

    assert answer["StatusCode"] == 200
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"greeting": "hello ops", "function": "tfpipe-test-greet"}


def test_function_arn_with_qualifier_names_the_same_function(stack):
    arn = f"arn:aws:lambda:us-east-1:{stack.account_id}:function:tfpipe-test-greet:$LATEST"

    answer = stack.client("lambda").invoke(FunctionName=arn, Payload=b"{}")

    assert json.loads(answer["Payload"].read())["greeting"] == "hello nobody"


def test_unhandled_exception_answers_with_the_runtime_error_payload(stack):
    answer = stack.client("lambda").invoke(FunctionName="tfpipe-test-refuse", Payload=json.dumps({"environment": "prod"}))

    assert answer["StatusCode"] == 200
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == "DeployRefused"
    assert error["errorMessage"] == "refusing to deploy prod"
    assert any("stack_test_app.py" in frame for frame in error["stackTrace"])


def test_event_invocation_is_accepted_and_runs_in_the_background(stack):
    stack_test_app.recorder.clear()

    answer = stack.client("lambda").invoke(FunctionName="tfpipe-test-greet", InvocationType="Event",
                                           Payload=json.dumps({"who": "later"}))

    assert answer["StatusCode"] == 202
    assert stack_test_app.recorder.wait_for("greet") == [{"who": "later"}]


def test_unknown_function_is_resource_not_found(stack):
    with pytest.raises(ClientError) as raised:
        stack.client("lambda").invoke(FunctionName="tfpipe-test-nope", Payload=b"{}")

    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_other_lambda_calls_are_answered_by_moto(stack):
    assert stack.client("lambda").list_functions()["Functions"] == []


def test_failed_event_invocation_is_retried_twice_like_lambda(stack):
    stack_test_app.recorder.clear()
    stack.lambda_service.retry_delays = (0.1, 0.2)  # Lambda waits about 1 and 2 minutes

    stack.client("lambda").invoke(FunctionName="tfpipe-test-flaky", InvocationType="Event", Payload=b'{"n": 1}')

    assert stack_test_app.recorder.wait_for("flaky", count=3) == [{"n": 1}] * 3
    time.sleep(0.5)
    assert len(stack_test_app.recorder.seen("flaky")) == 3

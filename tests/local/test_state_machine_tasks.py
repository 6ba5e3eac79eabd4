"""Step Functions Task states reach the local Lambda service through the front door on moto's port."""

from __future__ import annotations

import json
import time

ROLE = "arn:aws:iam::123456789012:role/tfpipe-states"


def _run(stack, name: str, definition: dict, execution_input: dict) -> dict:
    sfn = stack.client("stepfunctions")
    machine = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps(execution_input))["executionArn"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError(f"execution {execution} still running")


def _invoke(function: str, catch: list | None = None) -> dict:
    state = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
             "Parameters": {"FunctionName": function, "Payload.$": "$"},
             "ResultSelector": {"answer.$": "$.Payload"}, "End": True}
    if catch:
        state["Catch"] = catch
    return state


def test_lambda_invoke_task_runs_the_chalice_handler(stack):
    definition = {"StartAt": "Greet", "States": {"Greet": _invoke("tfpipe-test-greet")}}

    execution = _run(stack, "greet", definition, {"who": "state machine"})

    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"]) == {
        "answer": {"greeting": "hello state machine", "function": "tfpipe-test-greet"}}


def test_handler_that_raises_is_caught_by_its_error_type(stack):
    definition = {"StartAt": "Refuse", "States": {
        "Refuse": _invoke("tfpipe-test-refuse", catch=[
            {"ErrorEquals": ["DeployRefused"], "ResultPath": "$.error", "Next": "Refused"}]),
        "Refused": {"Type": "Pass", "End": True},
    }}

    execution = _run(stack, "refuse", definition, {"environment": "prod"})

    assert execution["status"] == "SUCCEEDED"
    error = json.loads(execution["output"])["error"]
    assert error["Error"] == "DeployRefused"
    assert json.loads(error["Cause"])["errorMessage"] == "refusing to deploy prod"


def test_uncaught_handler_error_fails_the_execution_with_it(stack):
    definition = {"StartAt": "Refuse", "States": {"Refuse": _invoke("tfpipe-test-refuse")}}

    execution = _run(stack, "refuse-uncaught", definition, {"environment": "dev"})

    assert execution["status"] == "FAILED"
    assert execution["error"] == "DeployRefused"

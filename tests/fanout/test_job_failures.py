"""A Batch job that FAILED ends its workflow's task at once: a real state machine waiting on a task
token in moto's Step Functions engine, the token failed from the job's environment, the status on
a real SQS queue."""

import json
import time

import boto3
import pytest

from chalicelib.adapters.status_queue import SqsStatusPublisher
from chalicelib.adapters.task_callbacks import StepFunctionsCallbacks, TokenClosed
from chalicelib.core.errors import DependencyFailed
from chalicelib.core.status import StatusEvent
from chalicelib.job_failures import job_failed
from tests.core.test_batch_events import batch_event_detail, spec

ROLE = "arn:aws:iam::123456789012:role/tfpipe-states"


@pytest.fixture
def sfn(moto_endpoint, monkeypatch):
    # moto's Step Functions engine makes its service integrations' calls to localhost:$MOTO_PORT
    monkeypatch.setenv("MOTO_PORT", moto_endpoint.rsplit(":", 1)[1])
    return boto3.client("stepfunctions", region_name="us-east-1")


@pytest.fixture
def sqs(moto_endpoint):
    return boto3.client("sqs", region_name="us-east-1")


def waiting_execution(sfn, sqs) -> tuple[str, str]:
    """Start an execution whose Task waits for a token (handed out through a queue, as a job gets it)."""
    tokens = sqs.create_queue(QueueName="tokens")["QueueUrl"]
    definition = {"StartAt": "Job", "States": {"Job": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "HeartbeatSeconds": 3600,
        "Parameters": {"QueueUrl": tokens, "MessageBody": {"token.$": "$$.Task.Token"}}, "End": True}}}
    machine = sfn.create_state_machine(name="job", definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=tokens, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            return execution, json.loads(messages[0]["Body"])["token"]
    raise AssertionError("the execution never handed out its task token")


def wait_for_end(sfn, execution: str) -> dict:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.2)
    raise AssertionError("the execution is still running")


def test_a_failed_job_fails_its_task_token_at_once_and_publishes_the_status(sfn, sqs):
    execution, token = waiting_execution(sfn, sqs)
    status_queue = sqs.create_queue(QueueName="status")["QueueUrl"]
    detail = batch_event_detail(spec(), token=token)
    answer = job_failed(detail, "2026-11-25T04:00:00Z", StepFunctionsCallbacks(sfn), SqsStatusPublisher(sqs, status_queue))
    assert answer["token"] == "failed"
    ended = wait_for_end(sfn, execution)
    assert ended["status"] == "FAILED"
    assert ended.get("error") == "JobFailed"  # the error is what Catch matches
    body = sqs.receive_message(QueueUrl=status_queue)["Messages"][0]["Body"]
    event = StatusEvent.from_json(body)
    assert (event.run_id, event.phase.value, event.status.value) == (spec().run_id, "apply", "failed")
    assert token not in body  # the token stays out of the status


def test_a_failed_job_whose_token_waits_in_the_tokens_table_is_failed_from_there_and_the_item_goes(sfn, sqs):
    from chalicelib.adapters.tokens_table import DynamoDbJobTokens
    from chalicelib.core.job import token_key
    from chalicelib.ports import HeldTokens

    execution, token = waiting_execution(sfn, sqs)
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(TableName="tokens", BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    tokens = DynamoDbJobTokens(dynamodb, "tokens")
    job = spec(job_key="9f" * 16)
    tokens.put(token_key(job), HeldTokens(token))
    status_queue = sqs.create_queue(QueueName="status")["QueueUrl"]
    detail = batch_event_detail(job, token=None)  # as submit_job submits it: no token in the job
    answer = job_failed(detail, "t", StepFunctionsCallbacks(sfn), SqsStatusPublisher(sqs, status_queue), tokens)
    assert answer["token"] == "failed"
    assert wait_for_end(sfn, execution).get("error") == "JobFailed"
    assert tokens.get(token_key(job)) is None


class ClosedTokens:
    """Step Functions answering TaskTimedOut for a token its task no longer waits on; moto 5.2 accepts
    a second SendTaskFailure silently, so the closed token is stood in for here."""

    def fail(self, token, error, cause):
        raise TokenClosed("sending task failure JobFailed: TaskTimedOut")


def test_a_job_whose_token_is_already_closed_publishes_nothing_with_closed_token_standin(sqs):
    status_queue = sqs.create_queue(QueueName="status")["QueueUrl"]
    answer = job_failed(batch_event_detail(spec()), "t", ClosedTokens(), SqsStatusPublisher(sqs, status_queue))
    assert answer["token"] == "already closed"
    assert sqs.receive_message(QueueUrl=status_queue).get("Messages", []) == []


def test_step_functions_unreachable_is_raised_so_the_invocation_is_retried_with_unreachable_standin(sqs):
    class Unreachable:
        def fail(self, token, error, cause):
            raise DependencyFailed("sending task failure JobFailed: connection refused")

    status_queue = sqs.create_queue(QueueName="status")["QueueUrl"]
    with pytest.raises(DependencyFailed):
        job_failed(batch_event_detail(spec()), "t", Unreachable(), SqsStatusPublisher(sqs, status_queue))
    assert sqs.receive_message(QueueUrl=status_queue).get("Messages", []) == []


def test_a_job_without_a_token_is_left_alone(sfn, sqs):
    status_queue = sqs.create_queue(QueueName="status")["QueueUrl"]
    answer = job_failed(batch_event_detail(None, token=None), "t", StepFunctionsCallbacks(sfn),
                        SqsStatusPublisher(sqs, status_queue))
    assert answer == {"job_id": "4c7599ae", "token": "none"}


def test_a_failed_job_that_answered_its_token_already_publishes_nothing(sqs):
    from chalicelib.adapters.tokens_table import DynamoDbJobTokens

    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(TableName="tokens", BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    status_queue = sqs.create_queue(QueueName="status")["QueueUrl"]
    # The executor failed its token precisely, deleted its item, then exited 1: Batch says FAILED.
    detail = batch_event_detail(spec(job_key="ab" * 16), token=None)
    answer = job_failed(detail, "t", ClosedTokens(), SqsStatusPublisher(sqs, status_queue),
                        DynamoDbJobTokens(dynamodb, "tokens"))
    assert answer["token"] == "already closed"
    assert sqs.receive_message(QueueUrl=status_queue).get("Messages", []) == []

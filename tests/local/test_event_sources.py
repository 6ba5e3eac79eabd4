"""The Chalice app's event sources and EventBridge (Scheduler) deliveries on the running stack."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from tests.local import stack_test_app
from tests.local.stack_test_app import PARTIAL_QUEUE, WORK_QUEUE, recorder
from tfpipe.local.stack import Stack

ROLE = "arn:aws:iam::123456789012:role/tfpipe-scheduler"


def _queue(stack, name: str, **attributes) -> str:
    return stack.client("sqs").create_queue(QueueName=name, Attributes={k: str(v) for k, v in attributes.items()})["QueueUrl"]


def _queue_arn(stack, url: str) -> str:
    return stack.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _drain(stack, url: str, timeout: float = 5) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = stack.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if messages:
            return [m["Body"] for m in messages]
        time.sleep(0.1)
    return []


def test_message_whose_handler_keeps_failing_ends_in_the_dlq_after_max_receives(stack):
    recorder.clear()
    dlq = _queue(stack, f"{WORK_QUEUE}-dlq")
    work = _queue(stack, WORK_QUEUE, VisibilityTimeout=1,
                  RedrivePolicy=json.dumps({"deadLetterTargetArn": _queue_arn(stack, dlq), "maxReceiveCount": 2}))
    sqs = stack.client("sqs")

    sqs.send_message(QueueUrl=work, MessageBody="please fail")
    sqs.send_message(QueueUrl=work, MessageBody="fine")

    assert _drain(stack, dlq, timeout=8) == ["please fail"]
    assert recorder.seen("work").count("please fail") == 2
    assert recorder.seen("work").count("fine") == 1
    assert sqs.get_queue_attributes(QueueUrl=work, AttributeNames=["All"])["Attributes"][
        "ApproximateNumberOfMessages"] == "0"


def test_partial_batch_failure_returns_only_the_failed_message(stack):
    recorder.clear()
    queue = _queue(stack, PARTIAL_QUEUE, VisibilityTimeout=1)
    stack.client("sqs").send_message_batch(QueueUrl=queue, Entries=[
        {"Id": str(i), "MessageBody": body} for i, body in enumerate(["a", "fail-b", "c"])])

    seen = recorder.wait_for("partial", count=4, timeout=8)

    assert seen.count("a") == 1
    assert seen.count("c") == 1
    assert seen.count("fail-b") >= 2


def test_at_schedule_starts_its_execution_within_a_second_and_is_deleted(stack):
    sfn = stack.client("stepfunctions")
    machine = sfn.create_state_machine(name="destroy", roleArn=ROLE, definition=json.dumps(
        {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    scheduler = stack.client("scheduler")
    scheduler.create_schedule_group(Name="ttl")
    due = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)

    scheduler.create_schedule(
        Name="ttl-pr-7", GroupName="ttl", ScheduleExpression=f"at({due:%Y-%m-%dT%H:%M:%S})",
        FlexibleTimeWindow={"Mode": "OFF"}, ActionAfterCompletion="DELETE",
        Target={"Arn": machine, "RoleArn": ROLE, "Input": json.dumps({"environment": "pr-7"})})

    deadline = time.monotonic() + 8
    executions = []
    while not executions and time.monotonic() < deadline:
        executions = sfn.list_executions(stateMachineArn=machine)["executions"]
        time.sleep(0.05)
    assert executions, "the schedule never started its execution"
    started = executions[0]["startDate"]
    assert timedelta(0) <= started - due < timedelta(seconds=1)
    assert json.loads(sfn.describe_execution(executionArn=executions[0]["executionArn"])["input"]) == {
        "environment": "pr-7"}
    time.sleep(0.3)
    assert scheduler.list_schedules(GroupName="ttl")["Schedules"] == []


def test_at_schedule_invokes_a_lambda_target_with_its_input(stack):
    recorder.clear()
    due = datetime.now(UTC).replace(microsecond=0)
    stack.client("scheduler").create_schedule(
        Name="now", ScheduleExpression=f"at({due:%Y-%m-%dT%H:%M:%S})", FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": f"arn:aws:lambda:us-east-1:{stack.account_id}:function:tfpipe-test-greet", "RoleArn": ROLE,
                "Input": json.dumps({"who": "scheduler"})})

    assert recorder.wait_for("greet") == [{"who": "scheduler"}]


def test_event_matching_a_chalice_cw_event_pattern_invokes_the_function(stack):
    recorder.clear()
    stack.client("events").put_events(Entries=[
        {"Source": "tfpipe.test", "DetailType": "Ping", "Detail": json.dumps({"n": 1})},
        {"Source": "tfpipe.test", "DetailType": "Other", "Detail": json.dumps({"n": 2})}])

    seen = recorder.wait_for("on_ping")
    time.sleep(0.2)

    assert [event["detail"] for event in recorder.seen("on_ping")] == [{"n": 1}]
    assert seen[0]["detail-type"] == "Ping"


def test_rule_with_a_constant_input_delivers_it_to_a_lambda_target(stack):
    recorder.clear()
    events = stack.client("events")
    events.put_rule(Name="greet-on-deploy", EventPattern=json.dumps({"source": ["tfpipe.deploy"]}))
    events.put_targets(Rule="greet-on-deploy", Targets=[{
        "Id": "greet", "Arn": f"arn:aws:lambda:us-east-1:{stack.account_id}:function:tfpipe-test-greet",
        "Input": json.dumps({"who": "rule"})}])

    events.put_events(Entries=[{"Source": "tfpipe.deploy", "DetailType": "Deployed", "Detail": "{}"}])

    assert recorder.wait_for("greet") == [{"who": "rule"}]


def test_chalice_schedule_fires_on_its_rate(tmp_path):
    recorder.clear()
    with Stack(app=stack_test_app.app, stage="test", state_dir=tmp_path, clock_speed=240):  # 1 minute = 0.25 s
        events = recorder.wait_for("every_minute", count=2, timeout=5)

    assert events[0]["detail-type"] == "Scheduled Event"
    assert events[0]["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/tfpipe-test-every_minute-event"]


def test_two_schedules_into_one_state_machine_start_two_executions(stack):
    sfn = stack.client("stepfunctions")
    machine = sfn.create_state_machine(name="sweep", roleArn=ROLE, definition=json.dumps(
        {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    due = datetime.now(UTC).replace(microsecond=0)
    for name in ("first", "second"):
        stack.client("scheduler").create_schedule(
            Name=name, ScheduleExpression=f"at({due:%Y-%m-%dT%H:%M:%S})", FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": machine, "RoleArn": ROLE, "Input": "{}"})

    deadline = time.monotonic() + 5
    while len(sfn.list_executions(stateMachineArn=machine)["executions"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)

    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 2


def test_one_time_schedule_kept_after_completion_fires_only_once(stack):
    recorder.clear()
    due = datetime.now(UTC).replace(microsecond=0)
    stack.client("scheduler").create_schedule(
        Name="once", ScheduleExpression=f"at({due:%Y-%m-%dT%H:%M:%S})", FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="NONE",
        Target={"Arn": f"arn:aws:lambda:us-east-1:{stack.account_id}:function:tfpipe-test-greet", "RoleArn": ROLE,
                "Input": json.dumps({"who": "once"})})

    recorder.wait_for("greet")
    time.sleep(1.0)  # five scheduler ticks

    assert recorder.seen("greet") == [{"who": "once"}]
    assert [s["Name"] for s in stack.client("scheduler").list_schedules()["Schedules"]] == ["once"]

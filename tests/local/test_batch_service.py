"""The local Batch service runs real subprocesses with AWS Batch's statuses, logs and events."""

from __future__ import annotations

import json
import sys
import time

import pytest

from tfpipe.local.batch_job import DEFAULT_LOG_GROUP as LOG_GROUP


@pytest.fixture
def batch(stack):
    """A job queue and definition in moto, and an EventBridge rule that copies Batch events to a queue."""
    client = stack.client("batch")
    role = stack.client("iam").create_role(RoleName="batch-service", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    environment = client.create_compute_environment(computeEnvironmentName="local", type="UNMANAGED",
                                                    state="ENABLED", serviceRole=role)["computeEnvironmentArn"]
    queue = client.create_job_queue(jobQueueName="jobs", state="ENABLED", priority=1, computeEnvironmentOrder=[
        {"order": 1, "computeEnvironment": environment}])["jobQueueArn"]
    definition = client.register_job_definition(
        jobDefinitionName="runner", type="container", platformCapabilities=["FARGATE"],
        containerProperties={"image": "tfpipe-executor", "command": [sys.executable, "-c", "print('default')"],
                             "environment": [{"name": "GREETING", "value": "from definition"},
                                             {"name": "TARGET", "value": "definition"}],
                             "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}]},
    )["jobDefinitionArn"]
    sqs = stack.client("sqs")
    events_queue = sqs.create_queue(QueueName="batch-events")["QueueUrl"]
    events_arn = sqs.get_queue_attributes(QueueUrl=events_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = stack.client("events")
    events.put_rule(Name="batch-changes", EventPattern=json.dumps({"source": ["aws.batch"]}))
    events.put_targets(Rule="batch-changes", Targets=[{"Id": "q", "Arn": events_arn}])
    return {"client": client, "queue": queue, "definition": definition, "events_queue": events_queue, "sqs": sqs}


def _submit(batch, command: list[str], **overrides) -> str:
    return batch["client"].submit_job(jobName="job", jobQueue=batch["queue"], jobDefinition=batch["definition"],
                                      containerOverrides={"command": command, **overrides})["jobId"]


def _wait(batch, job_id: str, statuses=("SUCCEEDED", "FAILED"), timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = batch["client"].describe_jobs(jobs=[job_id])["jobs"][0]
        if job["status"] in statuses:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {statuses}")


def _event_statuses(batch, job_id: str) -> list[str]:
    statuses = []
    while True:
        messages = batch["sqs"].receive_message(QueueUrl=batch["events_queue"], MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return statuses
        for message in messages:
            event = json.loads(message["Body"])
            assert event["detail-type"] == "Batch Job State Change"
            if event["detail"]["jobId"] == job_id:
                statuses.append(event["detail"]["status"])


def test_job_runs_its_command_with_definition_environment_plus_overrides(stack, batch):
    script = "import os; print(os.environ['GREETING'], '->', os.environ['TARGET'])"
    job_id = _submit(batch, [sys.executable, "-c", script], environment=[{"name": "TARGET", "value": "override"}])

    job = _wait(batch, job_id)

    assert job["status"] == "SUCCEEDED"
    assert job["container"]["exitCode"] == 0
    assert job["startedAt"] <= job["stoppedAt"]
    logged = stack.client("logs").get_log_events(logGroupName=LOG_GROUP, logStreamName=job["container"]["logStreamName"])
    assert [e["message"] for e in logged["events"]] == ["from definition -> override"]
    assert _event_statuses(batch, job_id) == ["RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"]


def test_failing_command_fails_the_job_with_its_exit_code(batch):
    job_id = _submit(batch, [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"])

    job = _wait(batch, job_id)

    assert job["status"] == "FAILED"
    assert job["container"]["exitCode"] == 3
    assert job["statusReason"] == "Essential container in task exited"
    assert _event_statuses(batch, job_id)[-1] == "FAILED"


def test_command_that_cannot_start_fails_the_job(batch):
    job = _wait(batch, _submit(batch, ["/nonexistent/terraform-runner"]))

    assert job["status"] == "FAILED"
    assert job["statusReason"].startswith("CannotStartContainerError")


def test_terminate_sends_sigterm_to_a_running_job(batch):
    job_id = _submit(batch, [sys.executable, "-c", "import time; print('working', flush=True); time.sleep(60)"])
    _wait(batch, job_id, statuses=("RUNNING",))

    batch["client"].terminate_job(jobId=job_id, reason="operator stopped it")
    job = _wait(batch, job_id)

    assert job["status"] == "FAILED"
    assert job["statusReason"] == "operator stopped it"
    assert job["container"]["exitCode"] == 128 + 15


def test_terminate_kills_a_job_that_ignores_sigterm_after_the_stop_timeout(stack, batch):
    stack.batch_service.stop_timeout = 0.5
    script = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
              "print('stubborn', flush=True); time.sleep(60)")
    job_id = _submit(batch, [sys.executable, "-c", script])
    _wait(batch, job_id, statuses=("RUNNING",))
    time.sleep(0.2)  # let the child install its handler

    batch["client"].terminate_job(jobId=job_id, reason="no more waiting")
    job = _wait(batch, job_id)

    assert job["container"]["exitCode"] == 128 + 9


def test_no_more_jobs_run_at_once_than_the_concurrency_allows(stack, batch):
    hold = [sys.executable, "-c", "import time; time.sleep(60)"]
    running = [_submit(batch, hold) for _ in range(stack.batch_concurrency)]
    for job_id in running:
        _wait(batch, job_id, statuses=("RUNNING",))

    waiting = _submit(batch, hold)
    time.sleep(0.3)

    assert batch["client"].describe_jobs(jobs=[waiting])["jobs"][0]["status"] == "RUNNABLE"
    listed = batch["client"].list_jobs(jobQueue=batch["queue"], jobStatus="RUNNABLE")["jobSummaryList"]
    assert [j["jobId"] for j in listed] == [waiting]
    batch["client"].terminate_job(jobId=running[0], reason="make room")
    assert _wait(batch, waiting, statuses=("RUNNING",))["status"] == "RUNNING"
    for job_id in [*running[1:], waiting]:
        batch["client"].terminate_job(jobId=job_id, reason="done")


def test_unknown_job_definition_is_a_client_error(batch):
    with pytest.raises(batch["client"].exceptions.ClientException, match="does not exist"):
        batch["client"].submit_job(jobName="x", jobQueue=batch["queue"], jobDefinition="missing")


def test_job_running_past_its_attempt_duration_is_stopped(batch):
    job_id = batch["client"].submit_job(
        jobName="slow", jobQueue=batch["queue"], jobDefinition=batch["definition"], timeout={"attemptDurationSeconds": 1},
        containerOverrides={"command": [sys.executable, "-c", "import time; time.sleep(60)"]})["jobId"]

    job = _wait(batch, job_id)

    assert job["status"] == "FAILED"
    assert job["statusReason"] == "Job attempt duration exceeded timeout"
    assert job["container"]["exitCode"] == 128 + 15


def test_shutting_down_stops_running_jobs_and_refuses_new_ones(stack, batch):
    import os

    job_id = _submit(batch, [sys.executable, "-c", "import time; time.sleep(60)"])
    _wait(batch, job_id, statuses=("RUNNING",))
    pid = stack.batch_service.get(job_id).process.pid

    stack.batch_service.close()

    assert stack.batch_service.get(job_id).status == "FAILED"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(batch["client"].exceptions.ClientException, match="shutting down"):
        _submit(batch, ["true"])

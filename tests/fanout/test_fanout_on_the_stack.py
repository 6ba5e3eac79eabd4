"""The pipeline's own app on the embedded stack: status events put on the provisioned status queue
reach the `status_fanout` function through the stack's SQS event source and end as one PR comment,
commit statuses and a deployment in the GitHub stand-in and messages in the Slack stand-in; a Batch job
that dies fails its workflow's task token through the `batch_job_failed` rule within seconds.

Until chalicelib/wiring.py builds the fan-out's adapters, this module builds them the same way from the
stack's settings (`_with_fanout_wired_in_test`)."""

from __future__ import annotations

import json
import time

import pytest

from chalicelib.adapters.runs_table import DynamoDbRunsTable
from chalicelib.adapters.status_queue import SqsStatusPublisher
from chalicelib.core.job import JOB_ENV, TASK_TOKEN_ENV
from chalicelib.core.run_records import RunRecord
from chalicelib.wiring import Container
from tests.core.test_batch_events import spec
from tests.local.github_helpers import Clone
from tests.status_events import status_event
from tfpipe.local.testing import stack_fixture

REPO = "acme/infra"



def registered_stage() -> str:
    """The stage whose status queue the app's consumer was registered on when app.py was imported
    (`<app>-<stage>-status`): the stack must provision that one for the consumer to read it."""
    from app import app

    [queue] = [e.queue for e in app.event_sources if e.name == "status_fanout"]
    prefix, suffix = f"{app.app_name}-", "-status"
    assert queue.startswith(prefix) and queue.endswith(suffix), queue
    return queue[len(prefix):-len(suffix)]


stack = stack_fixture(app="app:app", stage=registered_stage(), provision=True, scope="module",
                      extra_env={"TFPIPE_ALLOWED_REPOSITORIES": "nobody/nothing"})  # pushes start no runs here


def _wired(name):
    def build(self):
        from chalicelib.adapters.artifacts import S3ArtifactStore
        from chalicelib.adapters.dead_letters import SqsDeadLetters
        from chalicelib.adapters.progress_marks import DynamoDbProgressMarks
        from chalicelib.adapters.slack import SlackWebhookNotifier
        from chalicelib.adapters.task_callbacks import StepFunctionsCallbacks
        from chalicelib.fanout import StatusFanout

        s = self.settings
        if name == "task_callbacks":
            return StepFunctionsCallbacks(self.clients.stepfunctions)
        notifier = SlackWebhookNotifier(lambda: self.secrets.get(s.slack_webhook_secret_name))
        return StatusFanout(self.vcs, notifier, self.delivery_ledger, S3ArtifactStore(self.clients.s3, s.artifacts_bucket),
                            dead_letters=SqsDeadLetters(self.clients.sqs, s.status_dlq_url) if s.status_dlq_url else None,
                            max_receives=s.status_max_receives, artifact_link=s.artifact_link,
                            marks=DynamoDbProgressMarks(self.clients.dynamodb, s.deliveries_table))
    return property(build)


@pytest.fixture(scope="module")
def wired():
    patch = pytest.MonkeyPatch()
    for name in ("status_fanout", "task_callbacks"):
        if name not in vars(Container):
            patch.setattr(Container, name, _wired(name), raising=False)
    yield
    patch.undo()


@pytest.fixture(scope="module")
def pull_request(stack, tmp_path_factory):
    work = Clone(stack.create_repository(REPO), tmp_path_factory.mktemp("work"))
    work.commit("main.tf", "", "Initial commit")
    work.push("main")
    work.git("checkout", "--quiet", "-b", "feature")
    head = work.commit("a.tf", "", "feature")
    work.push("feature")
    pr, _ = stack.github().open(REPO, head="feature", user="ada")
    return pr["number"], head


def wait_for(what, check, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.2)


def test_status_events_on_the_queue_reach_github_and_slack_with_fanout_wired_in_test(stack, wired, pull_request):
    number, head = pull_request
    publisher = SqsStatusPublisher(stack.client("sqs"), stack.env["TFPIPE_STATUS_QUEUE_URL"])
    common = dict(run_id="plan-apply-prod-e2e", workflow="plan-apply", repository=REPO, sha=head,
                  environment="prod", pull_request=number)
    # As start_run and publish_status record it: the fan-out shows the run's success only when its record agrees.
    runs = DynamoDbRunsTable(stack.client("dynamodb"), stack.env["TFPIPE_RUNS_TABLE"])
    runs.start(RunRecord(run_id=common["run_id"], workflow="plan-apply", repository=REPO, environment="prod", sha=head,
                         actor="ada@example.test", execution_arn="arn:e2e", started_at="2026-11-25T05:00:00+00:00",
                         pull_request=number))
    runs.finish(common["run_id"], "succeeded")
    for i, (phase, status) in enumerate([("queued", "started"), ("approval", "pending"), ("apply", "started"),
                                         ("apply", "succeeded"), ("done", "succeeded")]):
        publisher.publish(status_event(phase=phase, status=status, timestamp=f"2026-11-25T05:00:0{i}+00:00",
                                       message=f"{phase} {status}", details={"final": phase == "done"}, **common))

    def shown():
        pr = stack.github().show(REPO, number)
        done = [s for s in pr["statuses"] if s["state"] == "success"]
        return pr if done and len(stack.slack.messages()) >= 3 else None

    pr = wait_for("the run's statuses, comment and Slack messages", shown)
    comments = [c["body"] for c in pr["comments"] if "tfpipe:comment workflow=plan-apply" in c["body"]]
    assert len(comments) == 1 and "**Succeeded**" in comments[0]
    assert [s["state"] for s in pr["statuses"] if s["context"] == "tfpipe/plan-apply/prod"][-1] == "success"
    [deployment] = [d for d in pr["deployments"] if d["environment"] == "prod"]
    assert [s["state"] for s in deployment["statuses"]][-1] == "success"
    texts = [m["message"]["text"] for m in stack.slack.messages()]
    assert any("approval needed" in t for t in texts) and any("applied" in t for t in texts)


def test_a_batch_job_that_dies_fails_its_task_token_within_seconds_with_fanout_wired_in_test(stack, wired):
    sfn, sqs, batch = stack.client("stepfunctions"), stack.client("sqs"), stack.client("batch")
    tokens = sqs.create_queue(QueueName="e2e-tokens")["QueueUrl"]
    definition = {"StartAt": "Job", "States": {"Job": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "HeartbeatSeconds": 3600,
        "Parameters": {"QueueUrl": tokens, "MessageBody": {"token.$": "$$.Task.Token"}}, "End": True}}}
    machine = sfn.create_state_machine(name="e2e-job", definition=json.dumps(definition),
                                       roleArn=f"arn:aws:iam::{stack.account_id}:role/x")["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    token = wait_for("the task token", lambda: [json.loads(m["Body"])["token"] for m in
                                                sqs.receive_message(QueueUrl=tokens).get("Messages", [])])[0]
    started = time.monotonic()
    batch.submit_job(jobName="e2e-dies", jobQueue=stack.env["TFPIPE_JOB_QUEUE_ARN_APPLY"],
                     jobDefinition=stack.env["TFPIPE_JOB_DEFINITION_ARN_APPLY"],
                     containerOverrides={"command": ["false"], "environment": [
                         {"name": JOB_ENV, "value": spec().to_json()}, {"name": TASK_TOKEN_ENV, "value": token}]})
    ended = wait_for("the execution to fail", lambda: (lambda d: d if d["status"] != "RUNNING" else None)(
        sfn.describe_execution(executionArn=execution)))
    assert ended["status"] == "FAILED" and ended["error"] == "JobFailed"
    assert time.monotonic() - started < 20  # seconds, not the heartbeat's hour

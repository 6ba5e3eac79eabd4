"""The two Lambda entry points as Lambda calls them: an SQS event into the status consumer (its answer
is the partial batch response), a Batch Job State Change event into the job-failure handler."""

import json

import pytest

from chalicelib import wiring
from chalicelib.fanout import StatusFanout
from chalicelib.settings import Settings
from tests.core.test_batch_events import batch_event_detail, spec
from tests.fanout.conftest import MAX_RECEIVES
from tests.status_events import status_event
from tests.twins import GitHubTwin


@pytest.fixture
def deps(aws, ledger, notifier):
    container = wiring.reset(Settings(status_queue_url=aws.queue_url))
    container.vcs = GitHubTwin()
    container.status_fanout = StatusFanout(container.vcs, notifier, ledger, None, max_receives=MAX_RECEIVES)
    yield container
    wiring.reset(Settings())


def test_the_sqs_handler_answers_with_the_failed_message_ids(deps, poller, slack):
    import app

    slack.fail_next = 1
    poller.sqs.send_message(QueueUrl=poller.queue_url, MessageBody=status_event(phase="done", status="succeeded").to_json())
    records = poller.records()
    answer = app.status_fanout({"Records": records}, None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
    poller.settle(records, answer)
    retried = poller.records()
    assert app.status_fanout({"Records": retried}, None) == {"batchItemFailures": []}
    assert len(slack.messages) == 1 and len(deps.vcs.statuses) == 1


def test_the_status_consumer_reads_the_queue_named_in_settings(aws):
    from chalicelib.settings import status_queue_name_from_env

    assert Settings(status_queue_url=aws.queue_url).status_queue_name == "tfpipe-status"
    assert Settings(stage="prod").status_queue_name == "tfpipe-prod-status"
    assert status_queue_name_from_env({"TFPIPE_STAGE": "prod", "TFPIPE_TTL_DEFAULT": "not a duration"}) == \
        "tfpipe-prod-status"
    assert status_queue_name_from_env({"TFPIPE_STATUS_QUEUE_URL": aws.queue_url}) == "tfpipe-status"


def test_the_batch_rule_handler_fails_the_token_and_publishes_with_recording_callbacks_standin(aws, deps):
    import app
    from chalicelib.adapters.status_queue import SqsStatusPublisher

    failed = []

    class Callbacks:  # the real Step Functions round trip is in test_job_failures.py
        def fail(self, token, error, cause):
            failed.append((token, error))

    deps.task_callbacks = Callbacks()
    deps.status_publisher = SqsStatusPublisher(aws.sqs, aws.queue_url)
    event = {"version": "0", "id": "c8f9c4b5", "detail-type": "Batch Job State Change", "source": "aws.batch",
             "account": "123456789012", "time": "2026-11-25T04:00:00Z", "region": "us-east-1",
             "resources": ["arn:aws:batch:us-east-1:123456789012:job/4c7599ae"], "detail": batch_event_detail(spec())}
    answer = app.batch_job_failed(event, None)
    assert answer["token"] == "failed" and failed == [("token-1", "JobFailed")]
    body = json.loads(aws.sqs.receive_message(QueueUrl=aws.queue_url)["Messages"][0]["Body"])
    assert body["timestamp"] == "2026-11-25T04:00:00Z" and body["status"] == "failed"

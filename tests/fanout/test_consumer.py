"""The status consumer on real SQS, DynamoDB, S3 and Secrets Manager (moto over HTTP), a real HTTP
Slack receiver, and GitHub through the in-memory twin (GitHub's API cannot be reached here)."""

import json
import logging

import pytest

from chalicelib.adapters.dead_letters import REASON_ATTRIBUTE, SqsDeadLetters
from chalicelib.adapters.progress_marks import DynamoDbProgressMarks
from chalicelib.core.batch_events import failed_job, failure_status
from chalicelib.core.comments import marker
from chalicelib.core.fanout import progress_key
from chalicelib.core.status import StatusEvent
from chalicelib.fanout import StatusFanout
from tests.core.test_batch_events import batch_event_detail, spec
from tests.fanout.conftest import MAX_RECEIVES, SLACK_PATH
from tests.fixtures.plans import plan_json, plan_text
from tests.status_events import status_event
from tests.twins import GitHubTwin

REPO = "acme/infra"


@pytest.fixture
def github():
    return GitHubTwin()


@pytest.fixture
def consumer(github, notifier, ledger, artifacts, aws):
    return StatusFanout(github, notifier, ledger, artifacts, dead_letters=SqsDeadLetters(aws.sqs, aws.dlq_url),
                        max_receives=MAX_RECEIVES, artifact_link=lambda key: f"https://artifacts.example/{key}",
                        marks=DynamoDbProgressMarks(aws.dynamodb, aws.table))


def publish(aws, *events) -> None:
    for event in events:
        aws.sqs.send_message(QueueUrl=aws.queue_url, MessageBody=event.to_json())


def upload_plan(aws, run: str, name: str) -> dict:
    """The plan's artifacts as the executor stores them (with their checksums)."""
    from chalicelib.adapters.artifacts import S3ArtifactStore

    store = S3ArtifactStore(aws.s3, aws.bucket)
    keys = {"plan_json": f"runs/{run}/plan.json", "plan_text": f"runs/{run}/plan.txt", "log": f"runs/{run}/plan.log"}
    store.put_text(keys["plan_json"], json.dumps(plan_json(name)))
    store.put_text(keys["plan_text"], plan_text(name))
    store.put_text(keys["log"], "log")
    return keys


def drain(poller, consumer, rounds: int = 10) -> list[list[str]]:
    failures = []
    for _ in range(rounds):
        got, failed = poller.round(consumer)
        if not got:
            break
        failures.append(failed)
    return failures


def a_plan_apply_run(aws, plan: str = "mixed") -> list:
    """A PLAN-APPLY's events as the workflow and its jobs publish them (the run's last is `done`, final)."""
    run = "plan-apply-prod-0a1b2c3-5f0e9d8c7b6a"
    keys = upload_plan(aws, run, plan)
    times = iter(f"2026-11-25T04:00:0{i}+00:00" for i in range(10))
    counts = {"has_changes": True, "add": 2, "change": 3, "destroy": 2}
    url = {"outputs": {"url": "http://127.0.0.1:8080/"}, "url": "http://127.0.0.1:8080/"}
    return [
        status_event(run_id=run, phase="queued", status="started", message="PLAN-APPLY started", timestamp=next(times)),
        status_event(run_id=run, phase="plan", status="started", timestamp=next(times)),
        status_event(run_id=run, phase="plan", status="succeeded", artifacts=keys, details=counts, timestamp=next(times)),
        status_event(run_id=run, phase="approval", status="pending", artifacts=keys, details=counts, timestamp=next(times)),
        status_event(run_id=run, phase="approval", status="succeeded", artifacts=keys, timestamp=next(times)),
        status_event(run_id=run, phase="apply", status="started", artifacts=keys, timestamp=next(times)),
        status_event(run_id=run, phase="apply", status="succeeded", artifacts=keys, details=url, timestamp=next(times)),
        status_event(run_id=run, phase="done", status="succeeded", artifacts=keys, timestamp=next(times),
                     details={**counts, **url, "final": True}),
    ]


def test_a_run_shows_as_one_updating_comment_statuses_one_deployment_and_slack_messages(aws, poller, consumer, github, slack):
    events = a_plan_apply_run(aws)
    for event in events:  # one at a time, in order, as the workflow publishes them
        publish(aws, event)
        assert drain(poller, consumer) == [[]]
    comments = github.comments_on(REPO, 7)
    assert len(comments) == 1
    assert comments[0].startswith(marker("plan-apply"))
    assert "✅ tfpipe PLAN-APPLY" in comments[0] and "| `aws_sqs_queue` | 0 | 0 | 0 | 1 |" in comments[0]
    assert "[log](https://artifacts.example/runs/" in comments[0]
    assert [s["state"] for s in github.statuses] == ["pending"] * 7 + ["success"]
    assert {s["context"] for s in github.statuses} == {"tfpipe/plan-apply/prod"}
    assert len(github.deployments) == 1 and github.deployments[0]["transient"] is False
    assert [(d["state"], d["environment_url"]) for d in github.deployment_statuses] == [
        ("in_progress", None), ("in_progress", "http://127.0.0.1:8080/"), ("success", "http://127.0.0.1:8080/")]
    news = [":arrow_forward: tfpipe plan-apply started:", ":raised_hand: tfpipe plan-apply approval needed:",
            ":white_check_mark: tfpipe plan-apply applied:"]
    assert len(slack.messages) == len(news)
    assert all(m["text"].startswith(n) for m, n in zip(slack.messages, news, strict=True))


def test_slack_down_while_github_works_retries_only_slack(aws, poller, consumer, github, slack):
    slack.fail_next = 2
    event = status_event(phase="approval", status="pending")
    publish(aws, event)
    failures = drain(poller, consumer)
    assert len(failures) == 3 and failures[0] == failures[1] != [] and failures[2] == []
    assert len(github.comments_on(REPO, 7)) == 1
    assert len(github.statuses) == 1  # GitHub was told once, not once per retry
    assert len(slack.messages) == 1 and slack.attempts == 3


def test_github_answering_5xx_then_recovering_does_not_repeat_slack(aws, poller, consumer, github, slack):
    github.fail_next = 3  # receive 1: the comment and the status fail; receive 2: the comment again
    publish(aws, status_event(phase="done", status="succeeded"))
    failures = drain(poller, consumer)
    assert len(failures) == 3 and failures[-1] == []
    assert len(slack.messages) == 1
    assert len(github.comments_on(REPO, 7)) == 1
    assert len(github.statuses) == 1
    assert github.deployments == []  # the run's end settles a deployment; this run never started one


def test_a_deployment_started_by_the_apply_is_settled_by_the_runs_end_once(aws, poller, consumer, github):
    github.fail_next = 1
    publish(aws, status_event(phase="apply", status="started", timestamp="2026-11-25T04:00:01+00:00"))
    drain(poller, consumer)  # the comment failed once and came back; the deployment was made once
    publish(aws, status_event(phase="done", status="succeeded", timestamp="2026-11-25T04:00:02+00:00",
                              details={"url": "http://127.0.0.1:8080/"}))
    drain(poller, consumer)
    assert len(github.deployments) == 1
    assert [(d["state"], d["environment_url"]) for d in github.deployment_statuses] == [
        ("in_progress", None), ("success", "http://127.0.0.1:8080/")]


def test_a_redelivered_message_is_not_delivered_twice(aws, poller, consumer, github, slack):
    event = status_event(phase="done", status="succeeded")
    publish(aws, event, event)  # SQS standard queues may deliver a message twice: same event, same records
    drain(poller, consumer)
    assert len(slack.messages) == 1
    assert len(github.statuses) == 1
    assert len(github.comments_on(REPO, 7)) == 1


def test_a_sink_that_never_recovers_sends_the_message_to_the_dlq_with_the_reason(aws, poller, consumer, github, slack):
    slack.fail_next = 100
    publish(aws, status_event(phase="done", status="failed", message="apply failed"))
    failures = drain(poller, consumer)
    assert len(failures) == MAX_RECEIVES
    assert failures[-1] == []  # the last receive hands it to the DLQ itself, with the reason
    dead = aws.sqs.receive_message(QueueUrl=aws.dlq_url, MessageAttributeNames=["All"])["Messages"]
    assert len(dead) == 1
    reason = dead[0]["MessageAttributes"][REASON_ATTRIBUTE]["StringValue"]
    assert reason.startswith(f"after {MAX_RECEIVES} receives: slack: posting to Slack: HTTP 500")
    assert json.loads(dead[0]["Body"])["message"] == "apply failed"
    assert len(github.statuses) == 1
    assert poller.records() == []


def test_without_a_dlq_writer_the_queues_redrive_policy_still_keeps_the_message(aws, poller, github, notifier, ledger, slack):
    consumer = StatusFanout(github, notifier, ledger, None, max_receives=MAX_RECEIVES)
    slack.fail_next = 100
    publish(aws, status_event(phase="done", status="failed"))
    failures = drain(poller, consumer)
    assert len(failures) == MAX_RECEIVES and all(failures)
    dead = aws.sqs.receive_message(QueueUrl=aws.dlq_url)["Messages"]
    assert len(dead) == 1


def test_a_message_that_is_not_a_status_event_ends_in_the_dlq_saying_why(aws, poller, consumer, github):
    aws.sqs.send_message(QueueUrl=aws.queue_url, MessageBody='{"run_id": "x"}')
    drain(poller, consumer)
    dead = aws.sqs.receive_message(QueueUrl=aws.dlq_url, MessageAttributeNames=["All"])["Messages"]
    assert "parse: not a status event" in dead[0]["MessageAttributes"][REASON_ATTRIBUTE]["StringValue"]
    assert github.statuses == []


def test_one_bad_message_does_not_hold_back_the_rest_of_its_batch(aws, poller, consumer, github, slack):
    aws.sqs.send_message(QueueUrl=aws.queue_url, MessageBody="not json")
    publish(aws, status_event(phase="done", status="succeeded"))
    records = poller.records()
    assert len(records) == 2
    response = consumer.consume(records)
    bad = next(r["messageId"] for r in records if r["body"] == "not json")
    assert response == {"batchItemFailures": [{"itemIdentifier": bad}]}
    assert len(slack.messages) == 1


def test_a_plan_over_githubs_limit_is_posted_as_several_comments_and_shrinks_back(aws, poller, consumer, github):
    run = "plan-pr7"
    big = upload_plan(aws, run, "large")
    small = upload_plan(aws, "plan-pr7-again", "no-changes")
    publish(aws, status_event(run_id=run, workflow="plan", phase="plan", status="succeeded", artifacts=big))
    drain(poller, consumer)
    parts = github.comments_on(REPO, 7)
    assert len(parts) >= 5 and all(len(p) <= 65536 for p in parts)
    publish(aws, status_event(run_id="plan-pr7-again", workflow="plan", phase="plan", status="succeeded",
                              artifacts=small))
    drain(poller, consumer)
    assert len(github.comments_on(REPO, 7)) == 1
    assert "**No changes.**" in github.comments_on(REPO, 7)[0]


def test_an_ephemeral_environment_is_a_transient_deployment_and_is_marked_inactive_when_destroyed(aws, poller, consumer, github):
    url = "http://127.0.0.1:8181/"
    publish(aws, status_event(run_id="eph", workflow="apply-ephemeral", environment="pr-7", phase="apply", status="started"),
            status_event(run_id="eph", workflow="apply-ephemeral", environment="pr-7", phase="schedule",
                         status="succeeded", details={"outputs": {"url": url}}, timestamp="2026-11-25T04:00:05Z"),
            status_event(run_id="gone", workflow="destroy", environment="pr-7", phase="destroy", status="succeeded"),
            status_event(run_id="gone", workflow="destroy", environment="pr-7", phase="done", status="succeeded",
                         timestamp="2026-11-25T04:00:09Z"))
    drain(poller, consumer)
    assert [d["transient"] for d in github.deployments] == [True, True]
    ephemeral, destroy = (d["id"] for d in github.deployments)
    def states(deployment: int) -> list[tuple]:
        return [(s["state"], s["environment_url"]) for s in github.deployment_statuses if s["deployment_id"] == deployment]
    assert states(ephemeral) == [("in_progress", None), ("success", url), ("inactive", None)]  # retired by the destroy
    assert states(destroy)[-1] == ("inactive", None)


def our_log(caplog) -> str:
    """Everything logged at DEBUG and up, except the AWS SDK's own wire dumps (botocore logs response
    bodies, Secrets Manager's included, at DEBUG; Lambda runs at INFO)."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("botocore", "urllib3")))


def test_the_slack_webhook_url_never_reaches_the_logs(aws, poller, consumer, slack, caplog):
    caplog.set_level(logging.DEBUG)
    slack.fail_next = 1
    publish(aws, status_event(phase="done", status="succeeded"))
    drain(poller, consumer)
    assert len(slack.messages) == 1
    ours = our_log(caplog)
    assert "posting to Slack: HTTP 500" in ours  # the failure is logged ...
    assert SLACK_PATH not in ours and "sEcReTtOkEn" not in ours  # ... without the secret


def test_an_unreachable_slack_is_reported_without_its_url(aws, poller, github, ledger, caplog):
    from chalicelib.adapters.slack import SlackWebhookNotifier

    caplog.set_level(logging.DEBUG)
    dead_url = "http://127.0.0.1:9/services/T0/B0/aNoThErSeCrEt"
    consumer = StatusFanout(github, SlackWebhookNotifier(lambda: dead_url, timeout=2), ledger, None)
    publish(aws, status_event(phase="done", status="succeeded"))
    _, failed = poller.round(consumer)
    assert failed
    assert "posting to Slack: URLError" in our_log(caplog)
    assert "aNoThErSeCrEt" not in our_log(caplog)


def test_a_batch_that_arrives_out_of_order_leaves_the_comment_of_the_runs_last_event(aws, poller, consumer, github):
    events = a_plan_apply_run(aws)
    publish(aws, *events)
    records = poller.records()
    assert len(records) == len(events)
    backwards = sorted(records, key=lambda r: progress_key(StatusEvent.from_json(r["body"])), reverse=True)
    poller.settle(records, consumer.consume(backwards))
    assert "✅ tfpipe PLAN-APPLY" in github.comments_on(REPO, 7)[0]
    assert "**Succeeded**" in github.comments_on(REPO, 7)[0]
    assert github.statuses[-1]["state"] == "success"


def test_an_event_retried_after_newer_ones_does_not_put_the_older_state_back(aws, poller, consumer, github, slack):
    planned = status_event(phase="plan", status="succeeded", message="plan ready", timestamp="2026-11-25T04:00:01Z")
    applying = status_event(phase="apply", status="started", message="applying now", timestamp="2026-11-25T04:00:02Z")
    github.fail_next = 1  # the first comment update answers 502
    publish(aws, planned)
    first = poller.records()
    assert consumer.consume(first)["batchItemFailures"]  # held back; invisible for now
    publish(aws, applying)
    assert drain(poller, consumer) == [[]]  # only the newer event was visible
    assert "applying now" in github.comments_on(REPO, 7)[0]
    poller.settle(first, {"batchItemFailures": [{"itemIdentifier": first[0]["messageId"]}]})  # visible again
    assert drain(poller, consumer) == [[]]
    assert "applying now" in github.comments_on(REPO, 7)[0]
    assert "plan ready" not in github.comments_on(REPO, 7)[0]


def test_a_retried_pending_status_does_not_undo_the_runs_success(aws, poller, consumer, github):
    github.fail_next = 2  # the comment and the commit status of the first event
    publish(aws, status_event(phase="plan", status="succeeded", timestamp="2026-11-25T04:00:01Z"))
    first = poller.records()
    consumer.consume(first)
    publish(aws, status_event(phase="done", status="succeeded", timestamp="2026-11-25T04:00:09Z"))
    drain(poller, consumer)
    poller.settle(first, {"batchItemFailures": [{"itemIdentifier": first[0]["messageId"]}]})
    drain(poller, consumer)
    assert [s["state"] for s in github.statuses] == ["success"]


def test_a_custom_commands_output_artifact_lands_in_its_comment(aws, poller, consumer, github):
    from chalicelib.adapters.artifacts import S3ArtifactStore

    S3ArtifactStore(aws.s3, aws.bucket).put_text("runs/c1/custom/output.txt", "aws_s3_bucket.site\n")
    publish(aws, status_event(run_id="c1", workflow="custom", phase="done", status="succeeded",
                              artifacts={"output": "runs/c1/custom/output.txt"}))
    drain(poller, consumer)
    [comment] = github.comments_on(REPO, 7)
    assert "<details><summary>Command output</summary>" in comment and "aws_s3_bucket.site" in comment


def a_failed_apply(aws):
    """The apply job's precise failure (the executor's), the run's end, and Batch's later "job died"."""
    run = "plan-apply-prod-0a1b2c3-5f0e9d8c7b6a"
    diagnostics = [{"summary": "creating S3 Bucket", "text": "Error: creating S3 Bucket\n\n  on main.tf line 3:",
                    "file": "main.tf", "line": 3}]
    failed = {"error_class": "ApplyFailed", "diagnostics": diagnostics}
    precise = status_event(run_id=run, phase="apply", status="failed", timestamp="2026-11-25T04:00:01Z",
                           message="terraform apply for prod failed (exit 1): Error: creating S3 Bucket (main.tf:3)",
                           artifacts={"log": f"runs/{run}/apply/log.txt"}, details=failed)
    end = status_event(run_id=run, phase="done", status="failed", timestamp="2026-11-25T04:00:02Z",
                       message="apply of 0a1b2c3 to prod failed (ApplyFailed: terraform apply ...)",
                       artifacts={"log": f"runs/{run}/apply/log.txt"}, details={**failed, "final": True})
    died = failure_status(failed_job(batch_event_detail(spec(sha=precise.sha))), "2026-11-25T04:00:05Z")
    return precise, end, died


def test_batchs_later_job_died_report_leaves_the_precise_failure_on_the_comment_and_commit_status(
        aws, poller, consumer, github):
    precise, end, died = a_failed_apply(aws)
    for event in (precise, end, died):  # one after the other, as they happened
        publish(aws, event)
        assert drain(poller, consumer) == [[]]
    [comment] = github.comments_on(REPO, 7)
    assert "on main.tf line 3" in comment and "ApplyFailed" in comment and "died" not in comment
    assert [s["description"] for s in github.statuses] == [precise.message, end.message]


def test_a_precise_failure_arriving_after_batchs_report_replaces_it(aws, poller, consumer, github):
    precise, _, died = a_failed_apply(aws)
    publish(aws, died)  # SQS handed Batch's report over first
    drain(poller, consumer)
    assert "died" in github.comments_on(REPO, 7)[0]
    publish(aws, precise)
    drain(poller, consumer)
    [comment] = github.comments_on(REPO, 7)
    assert "on main.tf line 3" in comment and "died" not in comment
    assert github.statuses[-1]["description"] == precise.message

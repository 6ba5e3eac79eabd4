"""The fan-out through the pipeline's own PyGithub adapter into the embedded stack's GitHub stand-in
(its REST API over HTTP, its store), with DynamoDB, S3 and SQS on the stack's moto: one comment per
workflow updated in place, split and shrunk back, statuses and deployments as GitHub keeps them."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace

import pytest

from chalicelib.adapters.artifacts import S3ArtifactStore
from chalicelib.adapters.audit_git import GitAuditLog
from chalicelib.adapters.deliveries_table import DynamoDbDeliveryLedger
from chalicelib.adapters.github import GitHubVcs
from chalicelib.adapters.progress_marks import DynamoDbProgressMarks
from chalicelib.adapters.runs_table import DynamoDbRunsTable
from chalicelib.core.audit import AUDIT_BRANCH, AuditRecord
from chalicelib.core.comments import MAX_COMMENT_CHARS
from chalicelib.core.run_records import RunRecord
from chalicelib.fanout import StatusFanout
from tests.fixtures.plans import plan_json, plan_text
from tests.local.github_helpers import Clone
from tests.local.stack_test_app import recorder
from tests.status_events import status_event
from tfpipe.local.testing import stack_fixture

REPO = "acme/infra"
TABLE, BUCKET, RUNS = "tfpipe-test-deliveries", "tfpipe-test-artifacts", "tfpipe-test-runs"

stack = stack_fixture(app="tests.local.stack_test_app:app", stage="test", scope="module")


@pytest.fixture(scope="module")
def setup(stack, tmp_path_factory):
    work = Clone(stack.create_repository(REPO), tmp_path_factory.mktemp("work"))
    work.commit("main.tf", "", "Initial commit")
    work.push("main")
    work.git("checkout", "--quiet", "-b", "feature")
    head = work.commit("a.tf", "", "feature")
    work.push("feature")
    pr, _ = stack.github().open(REPO, head="feature", user="ada")
    dynamodb, s3 = stack.client("dynamodb"), stack.client("s3")
    dynamodb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "delivery", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "delivery", "AttributeType": "S"}])
    dynamodb.create_table(TableName=RUNS, BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    s3.create_bucket(Bucket=BUCKET)
    store = S3ArtifactStore(s3, BUCKET)
    vcs = GitHubVcs(lambda: "local-token", stack.github_url, str(stack.git_root))
    fanout = StatusFanout(vcs, None, DynamoDbDeliveryLedger(dynamodb, TABLE), store,
                          marks=DynamoDbProgressMarks(dynamodb, TABLE))
    runs = DynamoDbRunsTable(dynamodb, RUNS)
    # As the wiring builds it: what an event claims is checked against the run's record.
    checked = StatusFanout(vcs, None, DynamoDbDeliveryLedger(dynamodb, TABLE), store,
                           marks=DynamoDbProgressMarks(dynamodb, TABLE), runs=runs)
    return {"pr": pr["number"], "head": head, "fanout": fanout, "store": store, "checked": checked, "runs": runs}


def upload(store, run: str, name: str) -> dict:
    keys = {"plan_json": f"runs/{run}/plan.json", "plan_text": f"runs/{run}/plan.txt"}
    store.put_text(keys["plan_json"], json.dumps(plan_json(name)))
    store.put_text(keys["plan_text"], plan_text(name))
    return keys


def deliver(fanout, *events) -> None:
    records = [{"messageId": f"m{i}", "body": e.to_json(), "attributes": {"ApproximateReceiveCount": "1"}}
               for i, e in enumerate(events)]
    assert fanout.consume(records) == {"batchItemFailures": []}


def tfpipe_comments(stack, number: int, workflow: str) -> list[str]:
    shown = stack.github().show(REPO, number)
    return [c["body"] for c in shown["comments"] if f"workflow={workflow} -->" in c["body"]]


def test_a_plan_over_the_limit_is_split_then_shrinks_back_in_place_on_github_standin(stack, setup):
    number, head = setup["pr"], setup["head"]
    event = dict(workflow="plan", environment="prod", sha=head, pull_request=number, repository=REPO)
    deliver(setup["fanout"], status_event(run_id="plan-1", phase="plan", status="succeeded",
                                          artifacts=upload(setup["store"], "plan-1", "large"), **event))
    parts = tfpipe_comments(stack, number, "plan")
    assert len(parts) >= 5 and all(len(p) <= MAX_COMMENT_CHARS for p in parts)
    first_id = stack.github().show(REPO, number)["comments"][0]["id"]

    deliver(setup["fanout"], status_event(run_id="plan-2", phase="plan", status="succeeded",
                                          timestamp="2026-11-25T05:00:00Z",
                                          artifacts=upload(setup["store"], "plan-2", "no-changes"), **event))
    [only] = tfpipe_comments(stack, number, "plan")
    assert "**No changes.**" in only
    assert stack.github().show(REPO, number)["comments"][0]["id"] == first_id  # edited, not re-posted


def test_a_run_leaves_statuses_and_one_deployment_with_its_url_on_github_standin(stack, setup):
    number, head = setup["pr"], setup["head"]
    event = dict(run_id="eph-1", workflow="apply-ephemeral", environment=f"pr-{number}", sha=head,
                 pull_request=number, repository=REPO)
    url = "http://127.0.0.1:9/"
    up = {"outputs": {"url": url}, "url": url, "expires_at": "2026-11-25T09:00:00+00:00"}  # as the run publishes it
    deliver(setup["fanout"],
            status_event(phase="apply", status="started", timestamp="2026-11-25T05:00:01+00:00", **event),
            status_event(phase="apply", status="succeeded", timestamp="2026-11-25T05:00:02+00:00", **event),
            status_event(phase="schedule", status="succeeded", timestamp="2026-11-25T05:00:03+00:00", details=up,
                         **event),
            status_event(phase="done", status="succeeded", timestamp="2026-11-25T05:00:03+00:00",
                         details={**up, "final": True}, **event))
    shown = stack.github().show(REPO, number)
    mine = [s for s in shown["statuses"] if s["context"] == f"tfpipe/apply-ephemeral/pr-{number}"]
    assert [s["state"] for s in mine] == ["pending", "pending", "pending", "success"]
    [deployment] = [d for d in shown["deployments"] if d["environment"] == f"pr-{number}"]
    assert deployment["transient_environment"] is True
    assert [(s["state"], s["environment_url"] or None) for s in deployment["statuses"]] == [
        ("in_progress", None), ("in_progress", None), ("success", url), ("success", url)]
    [comment] = tfpipe_comments(stack, number, "apply-ephemeral")
    assert f"Environment URL: <{url}>" in comment


def test_a_success_forged_as_a_job_would_send_it_leaves_no_success_status_on_github_standin(stack, setup):
    """A job role may send to the status queue (its progress), and a pull request's code runs in some
    jobs: a forged "run succeeded" for a run still running, then failed, sets no success commit status
    (which branch protection trusts), no live deployment, no result comment; the run's real end does."""
    number, head, runs = setup["pr"], setup["head"], setup["runs"]
    context = "tfpipe/plan-apply/prod"
    runs.start(RunRecord(run_id="apply-9", workflow="plan-apply", repository=REPO, environment="prod", sha=head,
                         actor="ada@example.test", execution_arn="arn:x", started_at="2026-11-25T06:00:00+00:00",
                         pull_request=number))
    event = dict(run_id="apply-9", workflow="plan-apply", environment="prod", sha=head, pull_request=number,
                 repository=REPO, message="applied (forged)")
    forged = [status_event(phase="done", status="succeeded", timestamp="2026-11-25T06:00:01+00:00",
                           details={"final": True}, **event),
              status_event(phase="apply", status="succeeded", timestamp="2026-11-25T06:00:01+00:00",
                           **{**event, "message": "apply succeeded"})]  # progress: delivered, pending
    deliver(setup["checked"], *forged)  # while the run is running
    runs.finish("apply-9", "failed")
    deliver(setup["checked"], *[replace(e, timestamp="2026-11-25T06:00:09+00:00") for e in forged])
    shown = stack.github().show(REPO, number)
    assert {s["state"] for s in shown["statuses"] if s["context"] == context} <= {"pending"}
    assert [d for d in shown["deployments"] if d["environment"] == "prod" and
            any(s["state"] == "success" for s in d["statuses"])] == []
    assert not any("applied (forged)" in body for body in tfpipe_comments(stack, number, "plan-apply"))

    # The same event for a run whose record says it succeeded (publish_status records that first).
    runs.start(RunRecord(run_id="apply-10", workflow="plan-apply", repository=REPO, environment="prod", sha=head,
                         actor="ada@example.test", execution_arn="arn:y", started_at="2026-11-25T07:00:00+00:00",
                         pull_request=number))
    runs.finish("apply-10", "succeeded")
    deliver(setup["checked"], replace(forged[0], run_id="apply-10", timestamp="2026-11-25T07:00:01+00:00"))
    shown = stack.github().show(REPO, number)
    assert [s["state"] for s in shown["statuses"] if s["context"] == context][-1] == "success"


def test_audit_records_in_the_stacks_repository_send_no_push_webhook(stack, setup):
    recorder.clear()
    log = GitAuditLog(stack.git_root)
    record = AuditRecord(run_id="r1", workflow="plan-apply", action="apply", environment="prod",
                         account_id="123456789012", repository=REPO, sha=setup["head"], actor="ada@example.test",
                         result="applied", started_at="2026-11-25T05:00:00+00:00",
                         finished_at="2026-11-25T05:01:00+00:00")
    log.append(record)
    assert log.last_good_commit(REPO, "prod") == setup["head"]
    assert recorder.seen("webhook") == []  # update-ref is not a push: no hook, no webhook, no run
    path = stack.git_root / "acme" / "infra.git"
    branches = subprocess.run(["git", "--git-dir", str(path), "branch", "--list"], capture_output=True,
                              text=True, check=True).stdout.split()
    assert AUDIT_BRANCH in branches and "main" in branches

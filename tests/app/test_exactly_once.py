"""The same delivery reaching two Lambdas at once, and a claim whose holder died."""

from __future__ import annotations

import json
import threading

import boto3

from chalicelib.adapters.deliveries_table import DynamoDbDeliveryLedger
from chalicelib.core.signature import sign
from chalicelib.wiring import Container
from tests.conftest import load_fixture
from tests.twins import GitHubTwin


def lambda_container(settings) -> Container:
    container = Container(settings)  # its own clients and caches, like a second Lambda container
    # The fixture's pull request is opened by the repository's owner, whom GitHub answers `admin`.
    container.vcs = GitHubTwin(permissions={("Codertocat/Hello-World", "Codertocat"): "admin"})
    return container


def test_one_delivery_reaching_two_lambdas_at_once_starts_its_runs_once(pipeline):
    body = json.dumps(load_fixture("pull_request", "opened.payload.json")).encode()
    headers = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "7f1c-concurrent",
               "X-Hub-Signature-256": sign(pipeline.secret, body)}
    intakes = [lambda_container(pipeline.settings).intake for _ in range(4)]
    barrier = threading.Barrier(len(intakes))
    answers = []

    def deliver(intake):
        barrier.wait()
        answers.append(intake.webhook(headers, body))

    threads = [threading.Thread(target=deliver, args=(i,)) for i in intakes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(a.status for a in answers) == [202] * 4
    assert len(pipeline.executions()) == 2
    assert sum(1 for a in answers if not a.body.get("duplicate")) == 1


def test_a_claim_whose_holder_died_is_taken_over_after_its_lease(pipeline):
    now = [1_000_000.0]
    ledger = DynamoDbDeliveryLedger(boto3.client("dynamodb"), pipeline.settings.deliveries_table,
                                    lease_seconds=120, clock=lambda: now[0])
    assert ledger.claim("webhook:crashed").first is True  # ...and its Lambda died before completing
    assert ledger.claim("webhook:crashed").first is False  # a twin inside the lease waits
    now[0] += 121
    assert ledger.claim("webhook:crashed").first is True  # the redelivery after the lease does the work


def test_a_completed_delivery_returns_its_recorded_answer(pipeline):
    ledger = DynamoDbDeliveryLedger(boto3.client("dynamodb"), pipeline.settings.deliveries_table)
    ledger.claim("webhook:done")
    ledger.complete("webhook:done", {"runs": [{"run_id": "plan-prod-abc"}]})
    claim = ledger.claim("webhook:done")
    assert (claim.first, claim.response) == (False, {"runs": [{"run_id": "plan-prod-abc"}]})


def test_a_failure_while_acting_leaves_the_delivery_retryable(pipeline):
    pipeline.github.permissions[("Codertocat/Hello-World", "Codertocat")] = "write"
    pipeline.github.refs[("Codertocat/Hello-World", "refs/pull/1/head")] = "e" * 40
    pipeline.github.fail_next = 1  # GitHub is down for the permission check
    payload = load_fixture("issue_comment", "created.payload.json")
    payload["comment"]["body"] = "/destroy"
    payload["issue"]["pull_request"] = {"url": "x"}
    assert pipeline.webhook("issue_comment", payload, delivery="d-retry").status_code == 502
    assert pipeline.webhook("issue_comment", payload, delivery="d-retry").status_code == 202
    assert [e["workflow"] for e in pipeline.executions()] == ["destroy"]

"""Approving reviews, from GitHub's real pull_request_review payload (tests/fixtures/github-webhooks),
through the real Chalice app: a review of the head approves the pull request's runs waiting at it, with
the same rules as `/approve`; anything else approves nothing. GitHub's API (permissions, replies) cannot
be reached here: these tests use the GitHub twin."""

from __future__ import annotations

import copy
import json

import pytest

from chalicelib import wiring
from chalicelib.core.run_records import RunRecord
from tests.conftest import load_fixture

REPO = "Codertocat/Hello-World"
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"  # the fixture's pull_request.head.sha and review.commit_id
OLDER = "1" * 40


def review(state: str = "approved", commit_id: str = HEAD, login: str = "Codertocat", action: str = "submitted") -> dict:
    payload = copy.deepcopy(load_fixture("pull_request_review", "submitted.payload.json"))
    payload["action"] = action
    payload["review"].update(state=state, commit_id=commit_id)
    payload["review"]["user"]["login"] = payload["sender"]["login"] = login
    return payload


@pytest.fixture
def writer_pipeline(pipeline):
    pipeline.github.permissions[(REPO, "Codertocat")] = "write"
    return pipeline


def waiting_run(requested_by=()) -> RunRecord:
    """A run of pull request #2 at the head, waiting for approval of its plan."""
    record = RunRecord(run_id="plan-apply-prod-ec26c3e-000000000001", workflow="plan-apply", repository=REPO,
                       environment="prod", sha=HEAD, actor="dev@example.com", execution_arn="arn:aws:states:::x",
                       started_at="2026-12-03T10:00:00+00:00", pull_request=2, requested_by=tuple(requested_by))
    runs = wiring.container().runs
    runs.start(record)
    runs.save_approval(record.run_id, "token-of-a-finished-execution")
    return record


def test_an_approving_review_of_the_head_decides_the_run_waiting_at_it_with_github_twin(writer_pipeline):
    run = waiting_run()
    response = writer_pipeline.webhook("pull_request_review", review())
    assert response.status_code == 202
    [reply] = writer_pipeline.github.comments_on(REPO, 2)
    # The decision reached Step Functions (whose token here belongs to no execution): not refused.
    assert reply.startswith(f"Nothing was approved: approving run {run.run_id}: its approval is no longer open")


def test_an_approving_review_of_the_head_with_no_run_waiting_approves_nothing_and_says_so_with_github_twin(
        writer_pipeline):
    writer_pipeline.webhook("pull_request_review", review())
    [reply] = writer_pipeline.github.comments_on(REPO, 2)
    assert reply == ("@Codertocat's approving review of ec26c3e approved nothing: no run of pull request #2 waits "
                     "for approval at ec26c3e.")


def test_an_approving_review_of_an_older_commit_approves_nothing_and_says_why_with_github_twin(writer_pipeline):
    run = waiting_run()
    response = writer_pipeline.webhook("pull_request_review", review(commit_id=OLDER))
    assert response.status_code == 202
    [reply] = writer_pipeline.github.comments_on(REPO, 2)
    assert reply == ("@Codertocat's approving review is of 1111111, not of the head ec26c3e: it approved nothing. "
                     "Review the head again, or comment `/approve`.")
    assert wiring.container().runs.get(run.run_id).approval_state == "pending"


def test_the_author_of_the_pull_request_cannot_approve_its_run_by_review_with_github_twin(writer_pipeline):
    run = waiting_run(requested_by=("codertocat",))
    writer_pipeline.webhook("pull_request_review", review())
    [reply] = writer_pipeline.github.comments_on(REPO, 2)
    assert reply.startswith(f"Nothing was approved: approving run {run.run_id}: @Codertocat triggered this run")
    assert wiring.container().runs.get(run.run_id).approval_state == "pending"


def test_a_review_by_a_user_without_write_access_approves_nothing_with_github_twin(writer_pipeline):
    run = waiting_run()
    writer_pipeline.github.permissions[(REPO, "stranger")] = "read"
    writer_pipeline.webhook("pull_request_review", review(login="stranger"))
    [reply] = writer_pipeline.github.comments_on(REPO, 2)
    assert "@stranger needs write access" in reply
    assert wiring.container().runs.get(run.run_id).approval_state == "pending"


@pytest.mark.parametrize("state, action", [("commented", "submitted"), ("changes_requested", "submitted"),
                                           ("approved", "dismissed"), ("approved", "edited")])
def test_reviews_that_do_not_approve_are_ignored_without_asking_github_with_github_twin(writer_pipeline, state, action):
    run = waiting_run()
    response = writer_pipeline.webhook("pull_request_review", review(state=state, action=action))
    assert response.status_code == 202 and "approves nothing" in json.loads(response.body)["message"]
    assert writer_pipeline.github.permission_calls == 0 and writer_pipeline.github.comments == []
    assert wiring.container().runs.get(run.run_id).approval_state == "pending"


def test_a_review_of_a_closed_pull_request_approves_nothing_with_github_twin(writer_pipeline):
    payload = review()
    payload["pull_request"]["state"] = "closed"
    response = writer_pipeline.webhook("pull_request_review", payload)
    assert "not open, approves nothing" in json.loads(response.body)["message"]

"""Pushes to the local bare repository and `tfpipe pr` actions reach the intake as signed webhooks
shaped like GitHub's (compared with the recorded payloads in tests/fixtures/github-webhooks)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from tests.conftest import load_fixture
from tests.local.github_helpers import Clone, missing_keys
from tests.local.stack_test_app import recorder
from tfpipe.local.github.shapes import ZERO_SHA

REPO = "acme/infra"
IGNORED = {"$.installation"}  # GitHub Apps only; webhooks of a repository hook carry none


def _deliveries(count: int) -> list[tuple[str, dict, dict]]:
    seen = recorder.wait_for("webhook", count=count)
    return [(d["headers"]["x-github-event"], d["headers"], json.loads(d["body"])) for d in seen]


def _assert_signed(stack, headers: dict, body: dict, raw: str) -> None:
    expected = "sha256=" + hmac.new(stack.webhook_secret.encode(), raw.encode(), hashlib.sha256).hexdigest()
    assert headers["x-hub-signature-256"] == expected
    assert len(headers["x-github-delivery"]) == 36


@pytest.fixture
def clone(stack, tmp_path):
    recorder.clear()
    origin = stack.create_repository(REPO)
    work = Clone(origin, tmp_path / "work")
    work.commit("main.tf", "# infra\n", "Initial commit")
    work.push("main")
    recorder.wait_for("webhook")
    recorder.clear()
    return work


def test_push_sends_a_signed_push_webhook_shaped_like_githubs(stack, clone):
    before = clone.git("rev-parse", "HEAD").strip()
    after = clone.commit("variables.tf", "variable \"x\" {}\n", "Add a variable")

    output = clone.push("main")

    assert "push webhook for refs/heads/main answered 200" in output
    [(event, headers, payload)] = _deliveries(1)
    _assert_signed(stack, headers, payload, recorder.seen("webhook")[0]["body"])
    assert event == "push"
    assert (payload["ref"], payload["before"], payload["after"]) == ("refs/heads/main", before, after)
    assert payload["repository"]["full_name"] == REPO
    assert payload["repository"]["default_branch"] == "main"
    assert payload["pusher"]["email"] == "ada@example.test"
    assert [c["id"] for c in payload["commits"]] == [after]
    assert payload["head_commit"]["added"] == ["variables.tf"]
    reference = load_fixture("push", "with-new-branch.payload.json")
    assert [k for k in missing_keys(reference, payload) if k not in IGNORED] == []


def test_new_branch_push_is_created_and_branch_deletion_is_deleted(stack, clone):
    clone.git("checkout", "--quiet", "-b", "feature")
    sha = clone.commit("a.tf", "", "feature work")
    clone.push("feature")
    clone.push("--delete", "feature")

    (_, _, created), (_, _, deleted) = [(e, h, p) for e, h, p in _deliveries(2)]
    assert created["created"] is True and created["before"] == ZERO_SHA and created["after"] == sha
    assert [c["id"] for c in created["commits"]] == [sha]
    assert deleted["deleted"] is True and deleted["after"] == ZERO_SHA and deleted["head_commit"] is None


def test_pull_request_lifecycle_sends_githubs_events(stack, clone):
    clone.git("checkout", "--quiet", "-b", "feature")
    first = clone.commit("a.tf", "", "feature work")
    clone.push("feature")
    github = stack.github()

    pr, status = github.open(REPO, head="feature", user="ada", title="Add a")
    second = clone.commit("b.tf", "", "more work")
    clone.push("feature")  # push + synchronize, as GitHub sends both
    github.comment(REPO, pr["number"], "/plan", user="bob")
    closed, _ = github.close(REPO, pr["number"], user="ada", merge=True)

    events = [(e, p.get("action")) for e, _, p in _deliveries(7)]
    assert events == [("push", None), ("pull_request", "opened"), ("push", None), ("pull_request", "synchronize"),
                      ("issue_comment", "created"), ("push", None), ("pull_request", "closed")]
    payloads = [p for _, _, p in _deliveries(7)]
    assert status == 200
    assert payloads[1]["pull_request"]["head"]["sha"] == first
    assert payloads[3]["pull_request"]["head"]["sha"] == second and payloads[3]["before"] == first
    assert payloads[4]["comment"]["body"] == "/plan" and payloads[4]["sender"]["login"] == "bob"
    assert payloads[4]["issue"]["number"] == pr["number"] and "pull_request" in payloads[4]["issue"]
    merge_push = payloads[5]
    assert merge_push["ref"] == "refs/heads/main" and merge_push["after"] == closed["merge_commit_sha"]
    assert payloads[6]["pull_request"]["merged"] is True
    for (event, action), payload in zip([("pull_request", "opened"), ("issue_comment", "created")],
                                        [payloads[1], payloads[4]], strict=True):
        reference = load_fixture(event, f"{action}.payload.json")
        assert [k for k in missing_keys(reference, payload) if k not in IGNORED] == [], event


def test_push_without_a_running_stack_succeeds_and_says_so(tmp_path):
    from tfpipe.local.github import git_repos

    origin = git_repos.create_repository(tmp_path / "state" / "git", REPO)
    work = Clone(origin, tmp_path / "work")
    work.commit("main.tf", "", "Initial commit")

    output = work.push("main")

    assert "no embedded stack is running" in output
    assert git_repos.resolve(origin, "refs/heads/main") == work.git("rev-parse", "HEAD").strip()


def test_a_review_sends_a_signed_pull_request_review_webhook_shaped_like_githubs(stack, clone):
    clone.git("checkout", "--quiet", "-b", "reviewed")
    head = clone.commit("r.tf", "", "to review")
    clone.push("reviewed")
    github = stack.github()
    pr, _ = github.open(REPO, head="reviewed", user="ada")
    recorder.wait_for("webhook", count=2)
    recorder.clear()

    _, status = github.review(REPO, pr["number"], user="bob")

    [(event, _, payload)] = _deliveries(1)
    assert (event, payload["action"], status) == ("pull_request_review", "submitted", 200)
    assert (payload["review"]["state"], payload["review"]["commit_id"]) == ("approved", head)
    assert payload["review"]["user"]["login"] == payload["sender"]["login"] == "bob"
    assert payload["pull_request"]["number"] == pr["number"] and payload["pull_request"]["head"]["sha"] == head
    reference = load_fixture("pull_request_review", "submitted.payload.json")
    assert [k for k in missing_keys(reference, payload) if k not in IGNORED] == []

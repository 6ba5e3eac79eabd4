"""Untrusted pull requests through the real app: a head in a fork, or an author without write access,
starts nothing that runs its code until a writer comments `/plan` (a read-only plan of that head) or
`/ephemeral`.

Payloads are the recorded ones: `opened.payload.json` (head in the repository, opened by its owner)
and `opened.from-fork.derived.json` (that payload with its head in the fork octocat/Hello-World).
GitHub's API (permissions, the pull request's head, comments) cannot be reached here: these tests use
the GitHub twin.
"""

from __future__ import annotations

import copy
import json
import time

import boto3
import pytest

from chalicelib.adapters.runs_table import DynamoDbRunsTable
from chalicelib.core.request import parse_pipeline_request
from chalicelib.core.run_records import EnvironmentRecord
from chalicelib.core.runs import Run
from chalicelib.core.workflows import Workflow
from tests.app.conftest import ACCOUNT
from tests.conftest import load_fixture

REPO = "Codertocat/Hello-World"
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"  # the recorded payloads' head
PUSHED = "b" * 40
WRITER, STRANGER = "Codertocat", "stranger"
PLAN_DEFINITION = f"arn:aws:batch:us-east-1:{ACCOUNT}:job-definition/tfpipe-test-executor-plan:1"
TIERS = {"TFPIPE_JOB_DEFINITION_ARN_PLAN": PLAN_DEFINITION,
         "TFPIPE_JOB_DEFINITION_ARN_PREVIEW": f"arn:aws:batch:us-east-1:{ACCOUNT}:job-definition/tfpipe-test-executor-preview:1",
         "TFPIPE_JOB_DEFINITION_ARN_APPLY": f"arn:aws:batch:us-east-1:{ACCOUNT}:job-definition/tfpipe-test-executor-apply:1"}


@pytest.fixture
def pipeline(make_pipeline):
    pipeline = make_pipeline(**TIERS)
    pipeline.github.permissions[(REPO, WRITER)] = "admin"  # the repository's owner
    pipeline.github.permissions[(REPO, STRANGER)] = "read"
    return pipeline


def fork_pull_request(action: str = "opened", sha: str = HEAD) -> dict:
    payload = copy.deepcopy(load_fixture("pull_request", "opened.from-fork.derived.json"))
    payload["action"] = action
    payload["pull_request"]["head"]["sha"] = sha
    return payload


def strangers_pull_request(action: str = "opened", sha: str = HEAD) -> dict:
    """The recorded pull request, head in the repository itself, opened (and pushed to) by a reader."""
    payload = copy.deepcopy(load_fixture("pull_request", "opened.payload.json"))
    payload["action"] = action
    payload["pull_request"]["head"]["sha"] = sha
    for actor in (payload["pull_request"]["user"], payload["sender"]):
        actor.update(login=STRANGER, id=4242)
    return payload


UNTRUSTED = {"fork": fork_pull_request, "author without write access": strangers_pull_request}


def comment(body: str, login: str = WRITER, number: int = 2) -> dict:
    payload = copy.deepcopy(load_fixture("issue_comment", "created.payload.json"))
    payload["comment"]["body"] = body
    payload["sender"]["login"] = login
    payload["issue"]["number"] = number
    payload["issue"]["pull_request"] = {"url": f"https://api.github.com/repos/{REPO}/pulls/{number}"}
    return payload


def started(pipeline) -> list[tuple[str, str, str]]:
    return [(e["workflow"], e["input"]["request"]["environment"]["name"], e["input"]["request"]["sha"])
            for e in pipeline.executions()]


@pytest.mark.parametrize("untrusted", UNTRUSTED.values(), ids=UNTRUSTED.keys())
def test_an_untrusted_pull_request_starts_nothing_and_gets_one_comment_naming_plan_and_its_sha_with_github_twin(
        pipeline, untrusted):
    response = pipeline.webhook("pull_request", untrusted())
    assert response.status_code == 202
    body = json.loads(response.body)
    assert body["runs"] == [] and body["message"].startswith("untrusted: ")
    assert started(pipeline) == []
    [asked] = pipeline.github.comments_on(REPO, 2)
    assert "`/plan`" in asked and HEAD in asked and "ran nothing" in asked

    # Redelivered, reopened, marked ready: the same head is asked about once.
    pipeline.webhook("pull_request", untrusted("reopened"))
    pipeline.webhook("pull_request", untrusted("ready_for_review"))
    assert pipeline.github.comments_on(REPO, 2) == [asked]
    assert started(pipeline) == []


@pytest.mark.parametrize("untrusted", UNTRUSTED.values(), ids=UNTRUSTED.keys())
def test_a_writers_plan_plans_exactly_the_head_in_the_plan_tier_and_a_push_needs_it_again_with_github_twin(
        pipeline, untrusted):
    pipeline.webhook("pull_request", untrusted())
    pipeline.github.refs[(REPO, "refs/pull/2/head")] = HEAD  # the head when the writer comments

    pipeline.webhook("issue_comment", comment("/plan"))
    [plan] = pipeline.executions()
    request = plan["input"]["request"]
    assert (plan["workflow"], request["environment"]["name"], request["sha"]) == ("plan", "prod", HEAD)
    assert request["job_definition_arn"] == PLAN_DEFINITION  # read-only, like every PLAN
    assert request["pull_request"] == 2

    # A push moves the head: nothing runs again until a writer trusts the new head, and no
    # preview environment was ever started.
    pipeline.webhook("pull_request", untrusted("synchronize", sha=PUSHED))
    assert started(pipeline) == [("plan", "prod", HEAD)]
    asked = pipeline.github.comments_on(REPO, 2)
    assert len(asked) == 2 and PUSHED in asked[1] and "`/plan`" in asked[1]


def test_a_pull_request_by_a_login_github_does_not_know_as_a_collaborator_is_untrusted_with_github_twin(pipeline):
    pipeline.github.unknown_users.add(STRANGER)  # GitHub answers 404 (a deleted account, some bots)
    response = pipeline.webhook("pull_request", strangers_pull_request())
    assert response.status_code == 202
    assert started(pipeline) == [] and len(pipeline.github.comments_on(REPO, 2)) == 1


def test_a_plan_from_a_user_without_write_access_does_not_trust_the_head_with_github_twin(pipeline):
    pipeline.webhook("pull_request", strangers_pull_request())
    pipeline.github.refs[(REPO, "refs/pull/2/head")] = HEAD
    pipeline.webhook("issue_comment", comment("/plan", login=STRANGER))
    assert started(pipeline) == []
    assert any(f"@{STRANGER} needs write access" in c for c in pipeline.github.comments_on(REPO, 2))


def test_a_writers_ephemeral_builds_the_preview_environment_of_an_untrusted_pull_request_with_github_twin(pipeline):
    pipeline.webhook("pull_request", fork_pull_request())
    pipeline.github.refs[(REPO, "refs/pull/2/head")] = HEAD
    pipeline.webhook("issue_comment", comment("/ephemeral"))
    assert started(pipeline) == [("apply-ephemeral", "pr-2", HEAD)]


@pytest.mark.parametrize("untrusted", UNTRUSTED.values(), ids=UNTRUSTED.keys())
def test_ignore_starts_nothing_and_says_nothing_with_github_twin(make_pipeline, untrusted):
    pipeline = make_pipeline(TFPIPE_UNTRUSTED_PRS="ignore")
    pipeline.github.permissions[(REPO, STRANGER)] = "read"
    response = pipeline.webhook("pull_request", untrusted())
    assert response.status_code == 202
    assert "TFPIPE_UNTRUSTED_PRS=ignore" in json.loads(response.body)["message"]
    assert started(pipeline) == [] and pipeline.github.comments == []


def test_a_trusted_pull_request_is_planned_and_previewed_once_its_authors_write_access_is_known_with_github_twin(
        pipeline):
    pipeline.webhook("pull_request", load_fixture("pull_request", "opened.payload.json"))
    assert started(pipeline) == [("apply-ephemeral", "pr-2", HEAD), ("plan", "prod", HEAD)]
    assert pipeline.github.permission_calls == 1  # the author's, asked of GitHub
    assert pipeline.github.comments == []


def environment_is_up(pipeline, sha: str) -> None:
    """What APPLY EPHEMERAL records once it applied `sha` to pr-2: the DESTROY that removes it."""
    settings = pipeline.settings
    request = parse_pipeline_request({"repository": REPO, "commit": sha, "environment": "pr-2", "command": "destroy",
                                      "user_email": "c@example.test", "pull_request": 2},
                                     settings.request_defaults, settings.ttl_bounds).resolved(sha)
    destroy = Run.start(Workflow.DESTROY, request, "ttl", "schedule")
    DynamoDbRunsTable(boto3.client("dynamodb"), settings.runs_table).put_environment(
        EnvironmentRecord(REPO, "pr-2", int(time.time()) + 3600, "ttl-pr-2", destroy.to_dict()))


@pytest.mark.parametrize("untrusted", UNTRUSTED.values(), ids=UNTRUSTED.keys())
def test_closing_an_untrusted_pull_request_destroys_only_an_environment_a_writer_built_with_github_twin(
        pipeline, untrusted):
    response = pipeline.webhook("pull_request", untrusted("closed", sha=PUSHED))
    assert response.status_code == 202
    assert "pr-2 of Codertocat/Hello-World is not up" in json.loads(response.body)["message"]
    assert started(pipeline) == []  # no DESTROY that would run the closing head

    pipeline.webhook("pull_request", untrusted("reopened", sha=PUSHED))
    pipeline.github.refs[(REPO, "refs/pull/2/head")] = PUSHED
    pipeline.webhook("issue_comment", comment("/ephemeral"))
    environment_is_up(pipeline, PUSHED)
    pipeline.webhook("pull_request", untrusted("closed", sha=PUSHED))
    # DESTROY works at the environment's last applied commit (the workflow finds it).
    assert [w for w, _, _ in started(pipeline)] == ["apply-ephemeral", "destroy"]

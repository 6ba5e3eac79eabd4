"""Every real GitHub payload through the real app: exactly which executions start, or that none do."""

from __future__ import annotations

import copy
import json
import uuid

import pytest

from tests.conftest import FIXTURES, load_fixture

PLAN_ACTIONS = {"opened", "reopened", "synchronize", "ready_for_review"}


def the_owner_is_admin(pipeline, payload: dict) -> None:
    """The recorded payloads' pull requests are opened by the repository's owner (author_association
    OWNER), whom GitHub answers `admin`; the twin answers what it is told."""
    pipeline.github.permissions[(payload["repository"]["full_name"], payload["repository"]["owner"]["login"])] = "admin"


def expected_runs(event: str, payload: dict) -> list[tuple[str, str, str, int | None]]:
    """(workflow, environment, sha, pull request) of the runs a payload should start, from the mission's table."""
    if event == "pull_request":
        pr = payload["pull_request"]
        number, sha = pr["number"], pr["head"]["sha"]
        if pr["head"]["repo"]["full_name"] != payload["repository"]["full_name"]:
            return []  # a fork's head runs nothing until a writer's `/plan`; no environment to destroy
        if payload["action"] == "closed":
            return [("destroy", f"pr-{number}", sha, number)]
        if payload["action"] in PLAN_ACTIONS:
            runs = [("plan", "prod", sha, number)]
            if not pr.get("draft"):
                runs.append(("apply-ephemeral", f"pr-{number}", sha, number))
            return runs
    if event == "push":
        default = payload["repository"]["default_branch"]
        if payload["ref"] == f"refs/heads/{default}" and not payload["deleted"]:
            return [("plan-apply", "prod", payload["after"], None)]
    return []


FIXTURE_FILES = sorted(p.relative_to(FIXTURES) for p in FIXTURES.glob("*/*.json"))


def test_the_recorded_payloads_are_in_the_repository():
    # A missing folder would silently parametrize the test below over nothing.
    assert len(FIXTURE_FILES) >= 60, f"expected the recorded GitHub payloads under {FIXTURES}"
    assert {p.parts[0] for p in FIXTURE_FILES} >= {"ping", "pull_request", "push", "issue_comment",
                                                    "repository_dispatch", "workflow_dispatch"}


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=str)
def test_every_fixture_payload_starts_exactly_the_runs_its_event_calls_for(pipeline, path):
    event = path.parts[0]
    payload = load_fixture(event, path.name)
    if "repository" in payload:
        the_owner_is_admin(pipeline, payload)
    response = pipeline.webhook(event, payload)

    expected = expected_runs(event, payload)
    started = pipeline.executions()
    assert sorted((e["workflow"], e["input"]["request"]["environment"]["name"], e["input"]["request"]["sha"],
                   e["input"]["request"]["pull_request"]) for e in started) == sorted(expected)
    if event == "ping":
        assert response.status_code == 200
    else:
        assert response.status_code == 202
        body = json.loads(response.body)
        assert sorted(r["run_id"] for r in body["runs"]) == sorted(e["name"] for e in started)
        if not expected:
            assert body["message"].startswith(("ignored: ", "untrusted: "))
    for execution in started:
        assert execution["input"]["run_id"] == execution["name"]
        assert execution["input"]["request"]["repository"] == payload["repository"]["full_name"]


def test_a_push_to_the_default_branch_starts_plan_apply_as_the_pusher(pipeline):
    payload = load_fixture("push", "with-new-branch.payload.json")
    pipeline.webhook("push", payload)
    [execution] = pipeline.executions()
    assert execution["workflow"] == "plan-apply"
    assert execution["input"]["request"]["user_email"] == payload["pusher"]["email"]
    assert execution["input"]["request"]["command"] == "apply"


def test_a_push_of_a_merge_commit_is_a_run_of_the_merged_pull_request_with_github_twin(pipeline):
    from chalicelib.ports import AssociatedPullRequest

    payload = load_fixture("push", "with-new-branch.payload.json")
    key = (payload["repository"]["full_name"], payload["after"])
    pipeline.github.pulls_of_commits[key] = [AssociatedPullRequest(7, "ada", True, payload["after"])]
    pipeline.webhook("push", payload)
    [execution] = pipeline.executions()
    request = execution["input"]["request"]
    assert request["pull_request"] == 7  # its plan comment and `/approve` are on #7
    assert request["requested_by"] == ["Codertocat", "ada"]  # the pull request's author may not approve it


@pytest.mark.parametrize("github", ["no pull request", "fails"])
def test_a_push_without_a_merged_pull_request_still_starts_its_run_with_none_with_github_twin(pipeline, github):
    payload = load_fixture("push", "with-new-branch.payload.json")
    if github == "fails":
        pipeline.github.fail_next = 1
    response = pipeline.webhook("push", payload)
    assert response.status_code == 202
    [execution] = pipeline.executions()
    assert execution["input"]["request"]["pull_request"] is None


def test_a_push_to_another_branch_is_ignored_with_the_reason(pipeline):
    payload = load_fixture("push", "with-new-branch.payload.json")
    payload["ref"] = "refs/heads/feature/x"
    response = pipeline.webhook("push", payload)
    assert response.status_code == 202
    assert "not to the default branch master" in json.loads(response.body)["message"]
    assert pipeline.executions() == []


def test_a_draft_pull_request_is_planned_without_an_ephemeral_environment(pipeline):
    payload = load_fixture("pull_request", "opened.payload.json")
    payload["pull_request"]["draft"] = True
    the_owner_is_admin(pipeline, payload)
    pipeline.webhook("pull_request", payload)
    assert [e["workflow"] for e in pipeline.executions()] == ["plan"]


def test_an_ephemeral_environment_gets_the_default_ttl(pipeline):
    payload = load_fixture("pull_request", "opened.payload.json")
    the_owner_is_admin(pipeline, payload)
    pipeline.webhook("pull_request", payload)
    ephemeral = next(e for e in pipeline.executions() if e["workflow"] == "apply-ephemeral")
    assert ephemeral["input"]["request"]["ttl_seconds"] == 4 * 3600


def test_a_redelivery_is_answered_with_the_same_runs_and_starts_nothing_twice(pipeline):
    payload = load_fixture("pull_request", "opened.payload.json")
    the_owner_is_admin(pipeline, payload)
    delivery = str(uuid.uuid4())
    first = json.loads(pipeline.webhook("pull_request", payload, delivery=delivery).body)
    again = pipeline.webhook("pull_request", payload, delivery=delivery)
    assert again.status_code == 202
    body = json.loads(again.body)
    assert body["duplicate"] is True
    assert [r["run_id"] for r in body["runs"]] == [r["run_id"] for r in first["runs"]]
    assert len(pipeline.executions()) == 2


def test_a_new_delivery_of_the_same_event_is_a_new_run(pipeline):
    payload = load_fixture("push", "with-new-branch.payload.json")
    pipeline.webhook("push", payload)
    pipeline.webhook("push", payload)
    assert len(pipeline.executions()) == 2


@pytest.mark.parametrize("signature", [None, "", "sha256=" + "0" * 64, "sha1=abc", "sha256=zz", "garbage"])
def test_a_missing_or_wrong_signature_is_refused_and_changes_nothing(pipeline, signature):
    body = json.dumps(load_fixture("push", "with-new-branch.payload.json")).encode()
    headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": str(uuid.uuid4())}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    response = pipeline.post("/webhooks/github", body, headers)
    assert response.status_code == 401
    assert "X-Hub-Signature-256" in json.loads(response.body)["message"]
    assert pipeline.executions() == []


def test_a_payload_signed_with_another_secret_is_refused(pipeline):
    response = pipeline.webhook("push", load_fixture("push", "with-new-branch.payload.json"), secret="other")
    assert response.status_code == 401
    assert pipeline.executions() == []


def test_a_body_over_the_size_limit_is_refused_before_anything_else(pipeline):
    payload = load_fixture("push", "with-new-branch.payload.json")
    payload["padding"] = "x" * (300 * 1024)
    response = pipeline.webhook("push", payload)
    assert response.status_code == 413
    assert "over the limit" in json.loads(response.body)["message"]
    assert pipeline.executions() == []


def test_events_from_a_repository_off_the_allow_list_are_ignored_with_the_reason(make_pipeline):
    pipeline = make_pipeline(TFPIPE_ALLOWED_REPOSITORIES="acme/*")
    response = pipeline.webhook("push", load_fixture("push", "with-new-branch.payload.json"))
    assert response.status_code == 202
    assert "Codertocat/Hello-World is not on tfpipe's allow-list" in json.loads(response.body)["message"]
    assert pipeline.executions() == []


def test_a_payload_missing_a_field_the_pipeline_needs_is_a_400_naming_it(pipeline):
    payload = copy.deepcopy(load_fixture("pull_request", "opened.payload.json"))
    del payload["pull_request"]["head"]
    response = pipeline.webhook("pull_request", payload)
    assert response.status_code == 400
    assert "pull_request.head.sha" in json.loads(response.body)["message"]
    assert pipeline.executions() == []


def test_a_body_that_is_not_json_is_a_400(pipeline):
    response = pipeline.webhook("push", b"payload=%7B%7D")
    assert response.status_code == 400
    assert pipeline.executions() == []


def test_a_delivery_without_its_headers_is_a_400_naming_them(pipeline):
    body = b"{}"
    from chalicelib.core.signature import sign
    response = pipeline.post("/webhooks/github", body, {"X-Hub-Signature-256": sign(pipeline.secret, body)})
    assert response.status_code == 400
    message = json.loads(response.body)["message"]
    assert "X-GitHub-Event" in message and "X-GitHub-Delivery" in message


def test_a_push_records_who_pushed_and_who_authored_its_commits_so_neither_may_approve_it(pipeline):
    payload = copy.deepcopy(load_fixture("push", "with-new-branch.payload.json"))
    payload["commits"].append({**payload["commits"][0],
                               "author": {"name": "Ada", "email": "ada@acme.example", "username": "ada"}})
    pipeline.webhook("push", payload)
    [execution] = pipeline.executions()
    request = execution["input"]["request"]
    assert request["requested_by"] == ["Codertocat"]
    assert request["commit_authors"] == ["Codertocat", "21031067+Codertocat@users.noreply.github.com",
                                         "ada", "ada@acme.example"]


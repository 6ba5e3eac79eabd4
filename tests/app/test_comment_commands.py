"""Pull request comment commands, from real issue_comment payloads turned into commands on a PR.

GitHub's API (permissions, PR heads, replies) cannot be reached here: these tests use the GitHub twin.
"""

from __future__ import annotations

import copy
import json

import pytest

from tests.conftest import load_fixture

REPO = "Codertocat/Hello-World"
HEAD = "c" * 40


def comment(body: str, login: str = "Codertocat") -> dict:
    payload = copy.deepcopy(load_fixture("issue_comment", "created.payload.json"))
    payload["comment"]["body"] = body
    payload["sender"]["login"] = login
    payload["issue"]["pull_request"] = {"url": f"https://api.github.com/repos/{REPO}/pulls/1"}
    return payload


@pytest.fixture
def writer_pipeline(pipeline):
    pipeline.github.permissions[(REPO, "Codertocat")] = "write"
    pipeline.github.refs[(REPO, "refs/pull/1/head")] = HEAD
    return pipeline


def started(pipeline) -> list[tuple[str, str]]:
    return [(e["workflow"], e["input"]["request"]["environment"]["name"]) for e in pipeline.executions()]


def test_plan_comment_from_a_writer_plans_the_pull_request_head_with_github_twin(writer_pipeline):
    response = writer_pipeline.webhook("issue_comment", comment("/plan"))
    assert response.status_code == 202
    [execution] = writer_pipeline.executions()
    assert (execution["workflow"], execution["input"]["request"]["sha"]) == ("plan", HEAD)
    assert execution["input"]["request"]["pull_request"] == 1


def test_a_run_a_comment_starts_records_the_commenter_and_the_pull_requests_author_with_github_twin(writer_pipeline):
    payload = comment("/ephemeral")
    payload["issue"]["user"]["login"] = "ada"
    writer_pipeline.webhook("issue_comment", payload)
    [execution] = writer_pipeline.executions()
    assert execution["input"]["request"]["requested_by"] == ["Codertocat", "ada"]


@pytest.mark.parametrize("permission", ["read", "triage", "none"])
def test_a_command_from_a_user_without_write_access_runs_nothing_and_says_why_with_github_twin(
        writer_pipeline, permission):
    writer_pipeline.github.permissions[(REPO, "stranger")] = permission
    response = writer_pipeline.webhook("issue_comment", comment("/destroy", login="stranger"))
    assert response.status_code == 202
    assert writer_pipeline.executions() == []
    [reply] = writer_pipeline.github.comments_on(REPO, 1)
    assert "@stranger needs write access" in reply and "nothing ran" in reply


@pytest.mark.parametrize("body, workflow, environment", [
    ("/ephemeral", "apply-ephemeral", "pr-1"),
    ("/ephemeral ttl=2h", "apply-ephemeral", "pr-1"),
    ("/ttl 8h", "modify-cron", "pr-1"),
    ("/destroy", "destroy", "pr-1"),
    ("/terraform state list", "custom", "pr-1"),
    ("/PLAN\nplease", "plan", "prod"),
])
def test_each_comment_verb_starts_its_workflow_with_github_twin(writer_pipeline, body, workflow, environment):
    writer_pipeline.webhook("issue_comment", comment(body))
    assert started(writer_pipeline) == [(workflow, environment)]


def test_ttl_in_comments_reaches_the_run_with_github_twin(writer_pipeline):
    writer_pipeline.webhook("issue_comment", comment("/ttl 8h"))
    [execution] = writer_pipeline.executions()
    assert execution["input"]["request"]["ttl_seconds"] == 8 * 3600


@pytest.mark.parametrize("body, says", [
    ("/ttl forever", "between 15m and 7d"),
    ("/ttl", "takes one duration"),
    ("/ephemeral ttl=30d", "between 15m and 7d"),
    ("/ephemeral now", "takes only `ttl=<duration>`"),
    ("/terraform apply -auto-approve", "allow-listed terraform subcommand"),
    ("/terraform state rm aws_s3_bucket.site", "allow-listed terraform subcommand"),
    ("/aprove", "is not a tfpipe command (did you mean `/approve`?)"),
    ("/destory", "did you mean `/destroy`?"),
])
def test_a_bad_command_runs_nothing_and_the_reply_says_what_is_accepted_with_github_twin(writer_pipeline, body, says):
    response = writer_pipeline.webhook("issue_comment", comment(body))
    assert response.status_code == 202
    assert writer_pipeline.executions() == []
    [reply] = writer_pipeline.github.comments_on(REPO, 1)
    assert says in reply


def test_approve_without_a_waiting_run_says_so_with_github_twin(writer_pipeline):
    response = writer_pipeline.webhook("issue_comment", comment("/approve"))
    assert response.status_code == 202
    message = json.loads(response.body)["message"]
    assert "No run of pull request #1 waits for approval" in message and "Nothing was approved" in message
    assert writer_pipeline.executions() == []


def test_conversation_on_a_pull_request_is_ignored_without_asking_github_with_github_twin(writer_pipeline):
    response = writer_pipeline.webhook("issue_comment", comment("LGTM, /plan later"))
    assert response.status_code == 202
    assert writer_pipeline.github.permission_calls == 0
    assert writer_pipeline.github.comments == []


@pytest.mark.parametrize("body", ["/lgtm", "/cc @octocat", "/assign", "/deploy", "/retest"])
def test_other_bots_slash_commands_are_ignored_without_asking_github_with_github_twin(writer_pipeline, body):
    response = writer_pipeline.webhook("issue_comment", comment(body))
    assert response.status_code == 202
    assert writer_pipeline.executions() == []
    assert writer_pipeline.github.permission_calls == 0
    assert writer_pipeline.github.comments == []


def test_permissions_are_asked_once_per_user_within_the_cache_window_with_github_twin(writer_pipeline):
    writer_pipeline.webhook("issue_comment", comment("/plan"))
    writer_pipeline.webhook("issue_comment", comment("/destroy"))
    assert writer_pipeline.github.permission_calls == 1
    assert len(writer_pipeline.executions()) == 2


def test_a_redelivered_refusal_replies_only_once_with_github_twin(writer_pipeline):
    writer_pipeline.github.permissions[(REPO, "stranger")] = "read"
    payload = comment("/destroy", login="stranger")
    writer_pipeline.webhook("issue_comment", payload, delivery="d-1")
    writer_pipeline.webhook("issue_comment", payload, delivery="d-1")
    assert len(writer_pipeline.github.comments_on(REPO, 1)) == 1


def test_a_comment_on_an_unknown_pull_request_head_is_a_400_naming_the_commit_with_github_twin(pipeline):
    pipeline.github.permissions[(REPO, "Codertocat")] = "admin"
    response = pipeline.webhook("issue_comment", comment("/plan"))
    assert response.status_code == 400
    assert "refs/pull/1/head" in json.loads(response.body)["message"]
    assert pipeline.executions() == []


def test_terraform_env_prod_from_a_writer_reads_prod_at_the_pull_request_head_with_github_twin(writer_pipeline):
    writer_pipeline.webhook("issue_comment", comment("/terraform state list env=prod"))
    [execution] = writer_pipeline.executions()
    request = execution["input"]["request"]
    assert (execution["workflow"], request["environment"]["name"], request["sha"]) == ("custom", "prod", HEAD)
    assert request["custom"] == {"subcommand": "state", "args": ["list"]}  # `env=` is ours, not terraform's
    assert request["pull_request"] == 1  # its reply goes to the pull request


def test_terraform_env_prod_from_a_user_without_write_access_is_refused_saying_so_with_github_twin(writer_pipeline):
    writer_pipeline.github.permissions[(REPO, "stranger")] = "read"
    writer_pipeline.webhook("issue_comment", comment("/terraform state list env=prod", login="stranger"))
    assert writer_pipeline.executions() == []
    [reply] = writer_pipeline.github.comments_on(REPO, 1)
    assert reply == f"@stranger needs write access to {REPO} to read `prod` with `/terraform`; nothing ran."


@pytest.mark.parametrize("body, says", [
    ("/terraform fmt env=prod", "a read-only terraform subcommand on the long-lived environment prod"),
    ("/terraform providers lock env=prod", "a read-only terraform subcommand on the long-lived environment prod"),
    ("/terraform state list env=staging", "naming a long-lived environment (`prod`) or this pull request's own `pr-1`"),
    ("/terraform state list env=pr-2", "naming a long-lived environment (`prod`) or this pull request's own `pr-1`"),
    ("/terraform output env=prod env=pr-1", "takes at most one `env=<name>`"),
])
def test_terraform_on_a_long_lived_environment_runs_only_read_only_commands_with_github_twin(
        writer_pipeline, body, says):
    writer_pipeline.webhook("issue_comment", comment(body))
    assert writer_pipeline.executions() == []
    [reply] = writer_pipeline.github.comments_on(REPO, 1)
    assert reply.startswith("Nothing ran") and says in reply


def test_terraform_env_naming_the_pull_requests_own_environment_is_the_default_with_github_twin(writer_pipeline):
    writer_pipeline.webhook("issue_comment", comment("/terraform fmt -check env=pr-1"))
    [execution] = writer_pipeline.executions()
    request = execution["input"]["request"]
    assert (request["environment"]["name"], request["custom"]["args"]) == ("pr-1", ["-check"])

@pytest.mark.parametrize("body, verb", [("/ttl forever", "/ttl"), ("/terraform apply -auto-approve", "/terraform")])
def test_a_refused_comment_names_the_command_typed_and_says_what_is_accepted_once_with_github_twin(
        writer_pipeline, body, verb):
    writer_pipeline.webhook("issue_comment", comment(body))
    [reply] = writer_pipeline.github.comments_on(REPO, 1)
    assert f"reading `{verb}` on pull request #1" in reply
    assert "/cron" not in reply and "/custom" not in reply  # the commands the verbs submit are not the user's words
    # What is accepted is said once; the list of every command after it would say it again (`/ttl <duration>`).
    assert reply.count("accepted:") == 1 and "Usage" not in reply

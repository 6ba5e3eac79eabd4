"""Approvals: the token is kept against the run (DynamoDB on moto) and answered once. Who may answer
through the API is API Gateway's IAM authorization (tests/workflows, tests/app/test_operator_routes.py)."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from chalicelib.core.errors import Conflict, DependencyFailed, Forbidden, InvalidRequest, NotFound
from chalicelib.core.runs import Run
from chalicelib.core.workflows import Workflow
from chalicelib.settings import Settings, SettingsError
from chalicelib.tasks import approval, runs
from tests.tasks.conftest import make_run, published, task_event


@pytest.fixture
def waiting(deps):
    """A run whose approval step kept a token (moto answers it as unknown: no execution holds it)."""
    run = make_run()
    runs.start(deps, task_event(run))
    approval.request(deps, task_event(run, task_token="token-of-a-finished-execution"))
    return run


def test_requesting_approval_keeps_the_token_and_says_how_to_approve(deps, waiting):
    assert deps.runs.get(waiting.run_id).approval_state == "pending"
    pending = [e for e in published(deps) if e["phase"] == "approval"]
    assert [e["status"] for e in pending] == ["pending"]
    how = pending[0]["details"]["approve"]
    assert how["cli"] == f"tfpipe approve {waiting.run_id}  or  tfpipe reject {waiting.run_id}"
    assert f"/approve {waiting.run_id}" in how["comment"]
    assert "token" not in json.dumps(pending[0]).lower().replace("task_token", "")


def test_a_destroy_waiting_for_approval_says_it_is_a_destroy_and_what_its_plan_destroys(deps):
    run = make_run(Workflow.DESTROY, "prod")
    runs.start(deps, task_event(run))
    plan = {"has_changes": True, "add": 0, "change": 0, "destroy": 3}
    approval.request(deps, task_event(run, state={"plan": plan}, task_token="token-of-a-finished-execution"))
    [pending] = [e for e in published(deps) if e["phase"] == "approval"]
    assert pending["message"] == "approval needed to destroy prod: 0 to add, 0 to change, 3 to destroy"
    assert pending["details"]["approve"]["cli"] == f"tfpipe approve {run.run_id}  or  tfpipe reject {run.run_id}"


def test_a_decision_on_an_approval_that_timed_out_says_it_is_no_longer_open(deps, waiting):
    with pytest.raises(NotFound, match=f"approving run {waiting.run_id}: its approval is no longer open"):
        approval.decide(deps, waiting.run_id, True, "lead@example.com")


def test_an_approval_is_answered_once(deps, waiting):
    with pytest.raises(NotFound):
        approval.decide(deps, waiting.run_id, False, "lead@example.com")
    with pytest.raises(NotFound, match=f"rejecting run {waiting.run_id}: its approval is no longer open \\(expired\\)"):
        approval.decide(deps, waiting.run_id, False, "lead@example.com")
    record = deps.runs.get(waiting.run_id)
    assert (record.approval_state, record.approver) == ("expired", None)


def test_an_approval_still_open_when_its_run_ends_is_closed_and_no_longer_listed(deps, waiting):
    deps.runs.finish(waiting.run_id, "timed-out")
    assert deps.runs.get(waiting.run_id).approval_state == "expired"
    assert deps.runs.pending_approvals("acme/infra") == []
    with pytest.raises(NotFound, match=f"approving run {waiting.run_id}: its approval is no longer open \\(expired\\)"):
        approval.decide(deps, waiting.run_id, True, "late@example.com")


def test_deciding_a_run_that_never_asked_is_not_found(deps):
    with pytest.raises(NotFound):
        approval.decide(deps, "plan-apply-prod-0123456-000000000000", True, "lead@example.com")


def test_pull_request_comment_without_a_run_id_finds_no_waiting_run(deps, waiting):
    message = deps.approvals.decide_for_pull_request("acme/infra", 12, None, True, "octocat")
    assert message.startswith("No run of pull request #12 waits for approval")
    assert waiting.run_id in message and "Nothing was approved" in message


def test_pull_request_comment_naming_a_run_of_another_repository_decides_nothing(deps, waiting):
    message = deps.approvals.decide_for_pull_request("acme/other", 12, waiting.run_id, True, "octocat")
    assert message == f"Run {waiting.run_id} is not a run of acme/other; nothing was approved."
    assert deps.runs.get(waiting.run_id).approval_state == "pending"


def test_pull_request_comment_of_the_pull_request_that_waits_decides_it(deps):
    run = make_run(pull_request=12)
    runs.start(deps, task_event(run))
    approval.request(deps, task_event(run, task_token="token-of-a-finished-execution"))
    message = deps.approvals.decide_for_pull_request("acme/infra", 12, None, False, "octocat")
    assert message.startswith(f"Nothing was rejected: rejecting run {run.run_id}: its approval is no longer open")
    assert deps.runs.get(run.run_id).approval_state == "expired"


def test_a_decision_step_functions_could_not_take_leaves_the_approval_open(deps, waiting, monkeypatch):
    from botocore.config import Config

    from chalicelib.adapters import aws_clients
    from tfpipe.local.moto_server import free_port

    monkeypatch.setenv("AWS_ENDPOINT_URL_SFN", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    # One attempt: the behaviour is the same, without waiting for botocore's backoff between retries.
    monkeypatch.setattr(aws_clients, "_RETRIES", Config(retries={"max_attempts": 1}, connect_timeout=2))
    with pytest.raises(DependencyFailed, match=f"approving run {waiting.run_id}: EndpointConnectionError"):
        approval.decide(deps, waiting.run_id, True, "lead@example.com")
    assert deps.runs.get(waiting.run_id).approval_state == "pending"


OPERATOR = "arn:aws:iam::123456789012:user/dev"


def waiting_run(deps, pull_request: int | None = None, requested_by=(), commit_authors=()) -> Run:
    run = make_run(pull_request=pull_request)
    run = replace(run, request=replace(run.request, requested_by=requested_by, commit_authors=commit_authors))
    runs.start(deps, task_event(run))
    approval.request(deps, task_event(run, task_token="token-of-a-finished-execution"))
    return run


def test_the_iam_caller_who_started_a_run_cannot_approve_it_403_and_the_approval_stays_open(deps):
    run = waiting_run(deps, requested_by=(OPERATOR,))
    with pytest.raises(Forbidden) as refused:
        approval.decide(deps, run.run_id, True, OPERATOR.upper())  # IAM names are unique whatever their case
    assert refused.value.http_status == 403
    assert (f"approving run {run.run_id}: {OPERATOR.upper()} triggered this run; another user with write access "
            "must approve (TFPIPE_ALLOW_SELF_APPROVAL=true allows it for one-person teams)") in str(refused.value)
    assert deps.runs.get(run.run_id).approval_state == "pending"


def test_an_author_of_a_commit_being_applied_cannot_approve_it_by_comment(deps):
    run = waiting_run(deps, pull_request=12, requested_by=("octocat",), commit_authors=("Ada", "ada@acme.example"))
    message = deps.approvals.decide_for_pull_request("acme/infra", 12, run.run_id, True, "ada")
    assert message.startswith(f"Nothing was approved: approving run {run.run_id}: @ada authored a commit being "
                              "applied; another user with write access must approve")
    assert deps.runs.get(run.run_id).approval_state == "pending"


def test_the_author_of_a_change_may_still_reject_it(deps):
    run = waiting_run(deps, requested_by=(OPERATOR,))
    with pytest.raises(NotFound, match="its approval is no longer open"):  # reached Step Functions: not refused
        approval.decide(deps, run.run_id, False, OPERATOR)


def test_allow_self_approval_lets_a_one_person_team_approve_its_own_run(deps):
    run = waiting_run(deps, requested_by=(OPERATOR,), commit_authors=("dev",))
    deps.settings = replace(deps.settings, allow_self_approval=True)
    with pytest.raises(NotFound, match="its approval is no longer open"):  # reached Step Functions: not refused
        approval.decide(deps, run.run_id, True, OPERATOR)


def test_approve_comment_naming_a_run_of_another_pull_request_decides_nothing_and_says_where_to(deps):
    run = waiting_run(deps, pull_request=7)
    message = deps.approvals.decide_for_pull_request("acme/infra", 12, run.run_id, True, "octocat")
    assert message == (f"Run {run.run_id} belongs to pull request #7, not #12; nothing was approved. Decide it "
                       f"there, or with `tfpipe approve {run.run_id}`.")
    assert deps.runs.get(run.run_id).approval_state == "pending"


def test_approve_comment_naming_a_push_run_decides_nothing(deps):
    run = waiting_run(deps)
    message = deps.approvals.decide_for_pull_request("acme/infra", 12, run.run_id, True, "octocat")
    assert message.startswith(f"Run {run.run_id} belongs to no pull request, not #12; nothing was approved.")
    assert deps.runs.get(run.run_id).approval_state == "pending"


def test_self_approval_is_allowed_only_by_the_word_true_so_a_typo_never_loosens_it():
    assert Settings.from_env({}).allow_self_approval is False
    assert Settings.from_env({"TFPIPE_ALLOW_SELF_APPROVAL": "TRUE"}).allow_self_approval is True
    with pytest.raises(SettingsError, match="TFPIPE_ALLOW_SELF_APPROVAL: got 'yes'; accepted: true, false"):
        Settings.from_env({"TFPIPE_ALLOW_SELF_APPROVAL": "yes"})


PLAN = "ab" * 32  # the sha256 of the plan job's plan file (JobResult.plan_checksum)


def planned_and_waiting(deps, key: str = "d1", environment: str = "prod", plan: str = PLAN, started_at: float = 0.0,
                        pull_request: int | None = None) -> Run:
    run = make_run(key=key, environment=environment, pull_request=pull_request)
    runs.start(deps, task_event(run, started_at))
    approval.request(deps, task_event(run, started_at, state={"plan": {"has_changes": True, "plan_checksum": plan}},
                                      task_token=f"token-of-{key}"))
    return run


def test_the_approval_keeps_the_plans_sha256_and_the_pending_status_shows_it(deps):
    run = planned_and_waiting(deps)
    assert deps.runs.get(run.run_id).plan_sha256 == PLAN
    [pending] = [e for e in published(deps) if e["phase"] == "approval"]
    assert pending["details"]["plan_sha256"] == PLAN


def test_an_approval_naming_another_plan_is_refused_409_with_both_sha256s_and_stays_open(deps):
    run = planned_and_waiting(deps)
    with pytest.raises(Conflict) as refused:
        approval.decide(deps, run.run_id, True, "lead", plan_sha256="cd" * 32)
    assert refused.value.http_status == 409
    assert (f"approving run {run.run_id}: the approval names plan sha256 {'cd' * 32}, but run {run.run_id} waits "
            f"with plan sha256 {PLAN}") in str(refused.value)
    assert deps.runs.get(run.run_id).approval_state == "pending"


def test_an_api_approval_must_name_the_plan_it_approves(deps):
    run = planned_and_waiting(deps)
    with pytest.raises(InvalidRequest, match="plan_sha256: got None; accepted: the sha256 of the plan the run waits"):
        approval.decide_by_api(deps, run.run_id, True, OPERATOR, b"{}")
    assert deps.runs.get(run.run_id).approval_state == "pending"


def test_a_newer_plan_reaching_its_approval_step_supersedes_the_older_pending_approval_which_is_then_refused(deps):
    older = planned_and_waiting(deps, key="old", started_at=1_000.0)
    other_environment = planned_and_waiting(deps, key="stg", environment="staging", started_at=1_000.0)
    newer = planned_and_waiting(deps, key="new", plan="ef" * 32, started_at=2_000.0)

    record = deps.runs.get(older.run_id)
    assert (record.approval_state, record.superseded_by) == ("superseded", newer.run_id)
    assert deps.runs.get(other_environment.run_id).approval_state == "pending"  # another environment's plan
    assert deps.runs.get(newer.run_id).approval_state == "pending"
    with pytest.raises(Conflict, match=f"approving run {older.run_id}: its approval was superseded by run "
                                       f"{newer.run_id}, a newer plan for prod; approve that run instead"):
        approval.decide(deps, older.run_id, True, "lead")
    message = deps.approvals.decide_for_pull_request("acme/infra", None, older.run_id, True, "lead")
    assert f"superseded by run {newer.run_id}" in message and message.startswith("Nothing was approved")


def with_approvers(deps, *approvers: str):
    declared = {"prod": {"account_id": "111122223333", "approvers": list(approvers)}}
    deps.settings = Settings.from_env({"TFPIPE_ENVIRONMENTS": json.dumps(declared)})


def test_an_approver_not_in_the_environments_list_is_refused_403_naming_the_list_and_one_in_it_accepted(deps):
    run = planned_and_waiting(deps)
    with_approvers(deps, "Alice", OPERATOR)
    with pytest.raises(Forbidden) as refused:
        approval.decide(deps, run.run_id, True, "bob")
    assert refused.value.http_status == 403
    assert (f"approving run {run.run_id}: @bob is not an approver of prod; its approvers are @Alice, {OPERATOR} "
            "(TFPIPE_ENVIRONMENTS); the approval stays open") == str(refused.value)
    assert deps.runs.get(run.run_id).approval_state == "pending"
    for approver in (OPERATOR.upper(), "alice"):  # ARNs and logins in any case
        with pytest.raises(NotFound, match="its approval is no longer open"):  # reached Step Functions: not refused
            approval.decide(deps, run.run_id, True, approver, plan_sha256=PLAN)
        deps.runs.save_approval(run.run_id, "token-of-d1")  # open again for the next approver


def test_environments_read_the_plain_account_form_and_the_form_with_approvers():
    settings = Settings.from_env({"TFPIPE_ENVIRONMENTS": json.dumps(
        {"staging": "111122223333", "prod": {"account_id": "444455556666", "approvers": ["alice"]}})})
    assert settings.environments == {"staging": "111122223333", "prod": "444455556666"}
    assert (settings.approvers("prod"), settings.approvers("staging"), settings.approvers("pr-1")) == (("alice",), (), ())


@pytest.mark.parametrize("declared, says", [
    ({"prod": {"account_id": "111122223333", "approvers": "alice"}}, "TFPIPE_ENVIRONMENTS['prod'].approvers: got 'alice'"),
    ({"prod": {"account": "111122223333"}}, "TFPIPE_ENVIRONMENTS['prod']: got {'account': '111122223333'}"),
    ({"prod": 111122223333}, "TFPIPE_ENVIRONMENTS['prod']: got 111122223333"),
])
def test_a_malformed_environment_declaration_stops_the_pipeline_naming_the_entry(declared, says):
    with pytest.raises(SettingsError, match=re.escape(says)):
        Settings.from_env({"TFPIPE_ENVIRONMENTS": json.dumps(declared)})

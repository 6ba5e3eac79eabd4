"""`/approve` and `/reject` comments on a pull request, end to end on the provisioned embedded stack:
the GitHub stand-in sends the signed issue_comment webhook, the app's intake checks the commenter's
write access and hands the decision to the workflows' approvals, the waiting PLAN-APPLY moves on,
and the intake's reply lands on the pull request."""

from __future__ import annotations

import json

import pytest

from chalicelib import wiring
from chalicelib.core.request import Environment, PipelineRequest
from chalicelib.core.runs import Run
from chalicelib.core.tiers import Tier
from chalicelib.core.workflows import Command, Workflow
from tests.local.github_helpers import Clone
from tests.local.test_api_gateway import iam_user_key, signed_post
from tests.workflows.conftest import register_standin
from tfpipe.local.testing import stack_fixture
from tfpipe.operations import Operator
from tfpipe.target import Target

pytestmark = pytest.mark.e2e

REPO = "acme/infra"
stack = stack_fixture(app="app:app", stage="test", scope="module", provision=True)


@pytest.fixture(scope="module")
def pull_request(stack, tmp_path_factory):
    """acme/infra with an open pull request; the intake ignores the pushes and the opening (the
    repository is off the allow-list meanwhile), so only the runs a test starts exist."""
    workdir = tmp_path_factory.mktemp("standin")
    (workdir / "standin-script.json").write_text(json.dumps({}))
    (workdir / "standin-log.jsonl").write_text("")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TFPIPE_ALLOWED_REPOSITORIES", "someone-else/*")
        wiring.reset()
        work = Clone(stack.create_repository(REPO), tmp_path_factory.mktemp("work"))
        base = work.commit("main.tf", "", "Initial commit")
        work.push("main")
        work.git("checkout", "--quiet", "-b", "feature")
        head = work.commit("a.tf", "", "a change")
        work.push("feature")
        pr, _ = stack.github().open(REPO, head="feature", user="ada")
    wiring.reset()
    definition = register_standin(stack, workdir, wiring.container().settings.tokens_table)
    with pytest.MonkeyPatch.context() as patch:  # PLAN-APPLY's jobs (apply tier) run the scripted stand-in
        patch.setenv("TFPIPE_JOB_DEFINITION_ARN_APPLY", definition)
        wiring.reset()
        yield {"number": pr["number"], "head": head, "base": base, "definition": definition}
    wiring.reset()


def start_plan_apply(stack, pull_request, key: str, requested_by: tuple[str, ...] = ()) -> Run:
    settings = wiring.container().settings
    request = PipelineRequest(
        repository=REPO, commit=pull_request["head"], environment=Environment(f"e2e-{key}", stack.account_id),
        command=Command.APPLY, job_definition_arn=pull_request["definition"],
        job_queue_arn=settings.job_target(Tier.APPLY).queue_arn,
        user_email="ada@example.test", pull_request=pull_request["number"], sha=pull_request["head"],
        requested_by=requested_by)
    run = Run.start(Workflow.PLAN_APPLY, request, key, f"test:{key}")
    stack.client("stepfunctions").start_execution(stateMachineArn=settings.state_machine_arn(Workflow.PLAN_APPLY),
                                                  name=run.run_id, input=json.dumps(run.to_dict()))
    return run


def wait(what: str, check, timeout: float = 90):
    import time

    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.1)
    return value


def execution_status(stack, run: Run) -> str:
    arn = wiring.container().settings.state_machine_arn(Workflow.PLAN_APPLY).replace(":stateMachine:", ":execution:")
    return stack.client("stepfunctions").describe_execution(executionArn=f"{arn}:{run.run_id}")["status"]


def ended(stack, run: Run) -> str | None:
    status = execution_status(stack, run)
    return None if status == "RUNNING" else status


def pending(run: Run | str) -> bool:
    record = wiring.container().runs.get(run if isinstance(run, str) else run.run_id)
    return record is not None and record.approval_state == "pending"


def replies(stack, number: int) -> list[str]:
    return [c["body"] for c in stack.github().show(REPO, number)["comments"] if c["user"] != "acme"]


def test_approve_comment_from_a_user_with_write_access_applies_with_scripted_job_standin(stack, pull_request):
    run = start_plan_apply(stack, pull_request, "comment-ok")
    wait("the approval to be asked", lambda: pending(run))

    stack.github().comment(REPO, pull_request["number"], "/approve", user="acme")

    assert wait("the run to end", lambda: ended(stack, run)) == "SUCCEEDED"
    record = wiring.container().runs.get(run.run_id)
    assert record.approver == "acme"
    [reply] = wait("the intake's reply", lambda: [r for r in replies(stack, pull_request["number"])
                                                  if f"Run {run.run_id}" in r and "approved by acme" in r])
    assert f"plan sha256 `{record.plan_sha256[:12]}`" in reply  # the reply names the plan it approved


def test_reject_comment_naming_the_run_rejects_it_with_scripted_job_standin(stack, pull_request):
    run = start_plan_apply(stack, pull_request, "comment-no")
    wait("the approval to be asked", lambda: pending(run))

    stack.github().comment(REPO, pull_request["number"], f"/reject {run.run_id}", user="acme")

    assert wait("the run to end", lambda: ended(stack, run)) == "SUCCEEDED"
    assert wiring.container().runs.get(run.run_id).approval_state == "rejected"


def test_approve_comment_from_a_reader_decides_nothing_with_scripted_job_standin(stack, pull_request):
    run = start_plan_apply(stack, pull_request, "comment-reader")
    wait("the approval to be asked", lambda: pending(run))

    stack.github().comment(REPO, pull_request["number"], f"/approve {run.run_id}", user="mallory")

    wait("the intake's refusal", lambda: [r for r in replies(stack, pull_request["number"]) if "mallory" in r])
    assert pending(run) and execution_status(stack, run) == "RUNNING"
    stack.github().comment(REPO, pull_request["number"], f"/reject {run.run_id}", user="acme")
    assert wait("the run to end", lambda: ended(stack, run)) == "SUCCEEDED"


def test_the_writer_who_triggered_a_run_cannot_approve_it_another_writer_can_with_scripted_job_standin(
        stack, pull_request):
    stack.github_store.set_permission(REPO, "ada", "write")
    run = start_plan_apply(stack, pull_request, "comment-self", requested_by=("Ada",))
    wait("the approval to be asked", lambda: pending(run))

    stack.github().comment(REPO, pull_request["number"], f"/approve {run.run_id}", user="ada")  # logins: any case

    [refusal] = wait("the intake's refusal", lambda: [r for r in replies(stack, pull_request["number"])
                                                      if "@ada triggered this run" in r])
    assert "another user with write access must approve" in refusal and "TFPIPE_ALLOW_SELF_APPROVAL=true" in refusal
    assert pending(run) and execution_status(stack, run) == "RUNNING"
    stack.github().comment(REPO, pull_request["number"], f"/approve {run.run_id}", user="acme")
    assert wait("the run to end", lambda: ended(stack, run)) == "SUCCEEDED"
    assert wiring.container().runs.get(run.run_id).approver == "acme"


def test_the_iam_caller_who_requested_a_run_is_refused_403_approving_it_with_scripted_job_standin(stack, pull_request):
    arn, requester = iam_user_key(stack, "requester")
    body = json.dumps({"repository": REPO, "commit": pull_request["head"], "command": "apply",
                       "environment": {"name": "e2e-api-self", "account_id": stack.account_id},
                       "user_email": "ada@example.test", "request_id": "api-self"}).encode()
    started = signed_post(f"{stack.api_url}/runs", requester, body)
    assert started.status_code == 202, started.text
    [run] = started.json()["runs"]
    wait("the approval to be asked", lambda: pending(run["run_id"]))

    plan = wiring.container().runs.get(run["run_id"]).plan_sha256
    refused = signed_post(f"{stack.api_url}/runs/{run['run_id']}/approve", requester,
                          json.dumps({"plan_sha256": plan}).encode())

    assert refused.status_code == 403
    assert f"{arn} triggered this run; another user with write access must approve" in refused.json()["message"]
    assert pending(run["run_id"])
    approved = Operator(Target.from_state_dir(stack.state_dir)).decide(run["run_id"], True)  # the stack's operator
    assert approved.status == 200, approved.body


def test_an_approving_review_of_the_head_approves_the_run_waiting_at_it_with_scripted_job_standin(stack, pull_request):
    run = start_plan_apply(stack, pull_request, "review-head")
    wait("the approval to be asked", lambda: pending(run))

    stack.github().review(REPO, pull_request["number"], user="acme", commit_id=pull_request["head"])

    assert wait("the run to end", lambda: ended(stack, run)) == "SUCCEEDED"
    record = wiring.container().runs.get(run.run_id)
    assert (record.approval_state, record.approver) == ("approved", "acme")
    assert wait("the intake's reply", lambda: [r for r in replies(stack, pull_request["number"])
                                               if f"Run {run.run_id}" in r and "approved by acme" in r])


def test_an_approving_review_of_an_older_commit_approves_nothing_and_says_why_with_scripted_job_standin(
        stack, pull_request):
    run = start_plan_apply(stack, pull_request, "review-old")
    wait("the approval to be asked", lambda: pending(run))

    stack.github().review(REPO, pull_request["number"], user="acme", commit_id=pull_request["base"])

    [reply] = wait("the intake's reply", lambda: [r for r in replies(stack, pull_request["number"])
                                                  if f"is of {pull_request['base'][:7]}" in r])
    assert reply == (f"@acme's approving review is of {pull_request['base'][:7]}, not of the head "
                     f"{pull_request['head'][:7]}: it approved nothing. Review the head again, or comment `/approve`.")
    assert pending(run) and execution_status(stack, run) == "RUNNING"
    stack.github().comment(REPO, pull_request["number"], f"/reject {run.run_id}", user="acme")
    assert wait("the run to end", lambda: ended(stack, run)) == "SUCCEEDED"


@pytest.fixture
def listed_approvers(stack, pull_request):
    """e2e-listed declares its approvers in TFPIPE_ENVIRONMENTS (the object form) while the test runs."""
    environments = {"prod": stack.account_id,
                    "e2e-listed": {"account_id": stack.account_id, "approvers": ["Acme", "arn:aws:iam::1:role/x"]}}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TFPIPE_ENVIRONMENTS", json.dumps(environments))
        # Again: `Operator` (an earlier test) exported the stack's own settings into this process.
        patch.setenv("TFPIPE_JOB_DEFINITION_ARN_APPLY", pull_request["definition"])
        wiring.reset()
        yield
    wiring.reset()


def test_only_an_environments_declared_approvers_may_approve_it_with_scripted_job_standin(
        stack, pull_request, listed_approvers):
    stack.github_store.set_permission(REPO, "bob", "write")
    run = start_plan_apply(stack, pull_request, "listed")
    wait("the approval to be asked", lambda: pending(run))

    stack.github().comment(REPO, pull_request["number"], f"/approve {run.run_id}", user="bob")

    [refusal] = wait("the intake's refusal", lambda: [r for r in replies(stack, pull_request["number"])
                                                      if "@bob is not an approver" in r])
    assert "@bob is not an approver of e2e-listed; its approvers are @Acme, arn:aws:iam::1:role/x" in refusal
    assert pending(run) and execution_status(stack, run) == "RUNNING"
    stack.github().comment(REPO, pull_request["number"], f"/approve {run.run_id}", user="acme")  # any case
    assert wait("the run to end", lambda: ended(stack, run)) == "SUCCEEDED"
    assert wiring.container().runs.get(run.run_id).approver == "acme"

"""PLAN-APPLY on the embedded stack, every path: the real state machine, the real task Lambdas."""

from __future__ import annotations

import json

import pytest

from chalicelib.core.audit import AuditRecord
from chalicelib.core.errors import Conflict, NotFound
from chalicelib.core.workflows import Command
from chalicelib.tasks import approval
from tests.local.github_helpers import Clone
from tests.workflows.conftest import GOOD_SHA, NEWER_SHA, SHA

pytestmark = pytest.mark.e2e


def test_plan_apply_plans_waits_for_approval_and_applies_with_scripted_job_standin(pipeline):
    run = pipeline.start(pipeline.run(Command.APPLY, "e2e-ok"))
    pipeline.wait_for_approval(run)
    assert pipeline.lock("e2e-ok").run_id == run.run_id

    approval.decide(pipeline.deps, run.run_id, True, "lead@example.com")

    assert pipeline.wait(run)["status"] == "SUCCEEDED"
    assert pipeline.events(run) == [("queued", "started"), ("approval", "pending"), ("approval", "succeeded"),
                                    ("done", "succeeded")]
    assert pipeline.event_bodies(run)[-1]["message"] == f"applied {SHA[:7]} to e2e-ok: 1 to add, 0 to change, 0 to destroy"
    assert pipeline.deps.runs.get(run.run_id).status == "succeeded"
    assert [(j["action"], j["sha"]) for j in pipeline.jobs(run)] == [("plan", SHA), ("apply", SHA)]
    assert pipeline.jobs(run)[1]["plan_key"] == f"runs/apply/{run.run_id}/plan.bin"
    assert pipeline.lock("e2e-ok") is None
    [record] = pipeline.deps.audit_log.history("acme/infra", "e2e-ok")
    assert (record.action, record.result, record.approver) == ("apply", "applied", "lead@example.com")


def test_plan_with_no_changes_asks_no_approval_and_applies_nothing_with_scripted_job_standin(pipeline):
    pipeline.script("e2e-nochange", "plan", has_changes=False)
    run = pipeline.start(pipeline.run(Command.APPLY, "e2e-nochange"))

    assert pipeline.wait(run)["status"] == "SUCCEEDED"
    assert pipeline.events(run) == [("queued", "started"), ("done", "succeeded")]
    assert pipeline.event_bodies(run)[-1]["message"] == (
        f"nothing to apply: the plan of {SHA[:7]} for e2e-nochange has no changes")
    assert [j["action"] for j in pipeline.jobs(run)] == ["plan"]
    assert pipeline.lock("e2e-nochange") is None


def _seed_good_commit(pipeline, environment: str, sha: str = GOOD_SHA) -> None:
    """An earlier run applied `sha` cleanly (its audit record): that is what a rollback applies."""
    pipeline.deps.audit_log.append(AuditRecord(
        run_id=f"plan-apply-{environment}-earlier", workflow="plan-apply", action="apply", environment=environment,
        account_id="111122223333", repository="acme/infra", sha=sha, actor="dev@example.com",
        result="applied", started_at="2026-01-01T00:00:00+00:00", finished_at="2026-01-01T00:01:00+00:00"))


@pytest.mark.parametrize("error", ["ApplyFailed", "HealthCheckFailed"])
def test_failed_apply_or_health_check_rolls_back_to_the_last_good_commit_with_scripted_job_standin(pipeline, error):
    environment = f"e2e-rb-{error.lower()[:6]}"
    _seed_good_commit(pipeline, environment)
    pipeline.script(environment, "apply", error=error, cause="the app answered 500")
    run = pipeline.start(pipeline.run(Command.APPLY, environment))
    pipeline.wait_for_approval(run)
    approval.decide(pipeline.deps, run.run_id, True, "lead@example.com")

    execution = pipeline.wait(run)
    assert execution["status"] == "FAILED"
    assert pipeline.events(run)[-2:] == [("rollback", "started"), ("rollback", "rolled-back")]
    started, rolled_back = pipeline.event_bodies(run)[-2:]
    # moto 5.2.5's SendTaskFailure keeps the error name but drops the cause, so only the name is checked.
    assert started["message"].startswith(f"apply of {SHA[:7]} to {environment} failed ({error}")
    assert started["message"].endswith(f"); rolling back to {GOOD_SHA[:7]}")
    assert rolled_back["message"] == f"{environment} rolled back to {GOOD_SHA[:7]} after the failed apply of {SHA[:7]}"
    assert pipeline.deps.runs.get(run.run_id).status == "rolled-back"
    assert [(j["action"], j["sha"]) for j in pipeline.jobs(run)] == [("plan", SHA), ("apply", SHA),
                                                                      ("plan-apply", GOOD_SHA)]
    assert pipeline.jobs(run)[-1]["artifacts_prefix"] == f"runs/apply/{run.run_id}/rollback/"
    assert pipeline.lock(environment) is None
    history = pipeline.deps.audit_log.history("acme/infra", environment)
    assert [(r.action, r.sha, r.result) for r in history[-2:]] == [("apply", SHA, "failed"),
                                                                   ("rollback", GOOD_SHA, "rolled-back-to")]
    assert history[-2].error_class == error


def test_failed_rollback_leaves_the_lock_held_for_an_operator_with_scripted_job_standin(pipeline):
    _seed_good_commit(pipeline, "e2e-rbfail")
    pipeline.script("e2e-rbfail", "apply", error="ApplyFailed")
    pipeline.script("e2e-rbfail", "plan-apply", GOOD_SHA, error="ApplyFailed")
    run = pipeline.start(pipeline.run(Command.APPLY, "e2e-rbfail"))
    pipeline.wait_for_approval(run)
    approval.decide(pipeline.deps, run.run_id, True, "lead@example.com")

    execution = pipeline.wait(run)
    assert (execution["status"], execution["error"]) == ("FAILED", "RollbackFailed")
    assert pipeline.events(run)[-1] == ("rollback", "needs-attention")
    assert "rollback failed, environment needs attention" in pipeline.event_bodies(run)[-1]["message"]
    held = pipeline.lock("e2e-rbfail")
    assert held.run_id == run.run_id and "needs attention" in held.reason

    blocked = pipeline.start(pipeline.run(Command.APPLY, "e2e-rbfail", key="next"))
    pipeline.wait_until("the next run to wait for the lock", lambda: ("lock", "pending") in pipeline.events(blocked))
    assert pipeline.jobs(blocked) == []

    from chalicelib.tasks import lock
    assert lock.unlock(pipeline.deps, "e2e-rbfail", "lead").run_id == run.run_id
    pipeline.wait_for_approval(blocked)
    approval.decide(pipeline.deps, blocked.run_id, False, "lead@example.com")
    assert pipeline.wait(blocked)["status"] == "SUCCEEDED"


def test_an_audit_trail_that_cannot_be_read_after_a_failed_apply_keeps_the_lock_for_an_operator_with_scripted_job_standin(
        pipeline, tmp_path):
    pipeline.script("e2e-noaudit", "apply", error="ApplyFailed")
    run = pipeline.start(pipeline.run(Command.APPLY, "e2e-noaudit"))
    pipeline.wait_for_approval(run)
    # The audit trail stops answering (GitHub down, say): rollback cannot know what to apply.
    with pipeline.changed_settings(TFPIPE_LOCAL_GIT_ROOT=str(tmp_path / "no-repositories-here")):
        approval.decide(pipeline.deps, run.run_id, True, "lead@example.com")
        execution = pipeline.wait(run)

    assert (execution["status"], execution["error"]) == ("FAILED", "RollbackFailed")
    assert pipeline.events(run)[-1] == ("rollback", "needs-attention")
    message = pipeline.event_bodies(run)[-1]["message"]
    assert message.startswith("no rollback: the last good commit could not be read from the audit trail (NotFound: ")
    assert "environment needs attention: e2e-noaudit is locked until an operator runs `tfpipe unlock e2e-noaudit`" in message
    assert [j["action"] for j in pipeline.jobs(run)] == ["plan", "apply"]
    held = pipeline.lock("e2e-noaudit")
    assert held.run_id == run.run_id and "last good commit could not be read" in held.reason


def test_without_a_last_good_commit_a_failed_apply_says_so_and_rolls_nothing_back_with_scripted_job_standin(pipeline):
    pipeline.script("e2e-nogood", "apply", error="ApplyFailed")
    run = pipeline.start(pipeline.run(Command.APPLY, "e2e-nogood"))
    pipeline.wait_for_approval(run)
    approval.decide(pipeline.deps, run.run_id, True, "lead@example.com")

    assert pipeline.wait(run)["status"] == "FAILED"
    assert pipeline.events(run)[-1] == ("done", "failed")
    assert pipeline.event_bodies(run)[-1]["message"].endswith("no rollback: no commit has applied cleanly to "
                                                              "e2e-nogood yet")
    assert ("rollback", "started") not in pipeline.events(run)
    assert [j["action"] for j in pipeline.jobs(run)] == ["plan", "apply"]
    assert pipeline.lock("e2e-nogood") is None


def test_rejected_approval_applies_nothing_and_releases_the_lock_with_scripted_job_standin(pipeline):
    run = pipeline.start(pipeline.run(Command.APPLY, "e2e-reject"))
    pipeline.wait_for_approval(run)
    approval.decide(pipeline.deps, run.run_id, False, "lead@example.com")

    assert pipeline.wait(run)["status"] == "SUCCEEDED"
    assert pipeline.events(run)[-1] == ("done", "rejected")
    assert "rejected by lead@example.com" in pipeline.event_bodies(run)[-1]["message"]
    assert [j["action"] for j in pipeline.jobs(run)] == ["plan"]
    assert pipeline.lock("e2e-reject") is None


def test_unanswered_approval_times_out_cleanly_with_scripted_job_standin(pipeline):
    with pipeline.changed_settings(TFPIPE_APPROVAL_TIMEOUT="2s"):
        run = pipeline.start(pipeline.run(Command.APPLY, "e2e-timeout"))
        pipeline.wait_for_approval(run)
        assert pipeline.wait(run)["status"] == "FAILED"
    assert pipeline.events(run)[-1] == ("done", "timed-out")
    assert [j["action"] for j in pipeline.jobs(run)] == ["plan"]
    assert pipeline.lock("e2e-timeout") is None
    with pytest.raises(NotFound, match="no longer open"):
        approval.decide(pipeline.deps, run.run_id, True, "late@example.com")


def test_stale_plan_fails_without_rollback_with_scripted_job_standin(pipeline):
    _seed_good_commit(pipeline, "e2e-stale")
    pipeline.script("e2e-stale", "apply", error="StalePlan")
    run = pipeline.start(pipeline.run(Command.APPLY, "e2e-stale"))
    pipeline.wait_for_approval(run)
    approval.decide(pipeline.deps, run.run_id, True, "lead@example.com")

    assert pipeline.wait(run)["status"] == "FAILED"
    assert pipeline.events(run)[-1] == ("done", "failed") and ("rollback", "started") not in pipeline.events(run)
    assert "refused, nothing applied: StalePlan" in pipeline.event_bodies(run)[-1]["message"]
    assert pipeline.lock("e2e-stale") is None


def test_a_github_that_cannot_order_the_commit_stops_plan_apply_before_the_plan_and_keeps_no_lock_with_scripted_job_standin(
        pipeline):
    _seed_good_commit(pipeline, "e2e-unordered")
    with pipeline.changed_settings(TFPIPE_GITHUB_TOKEN_SECRET_NAME="tfpipe/test/no-such-token"):
        run = pipeline.start(pipeline.run(Command.APPLY, "e2e-unordered"))
        assert pipeline.wait(run)["status"] == "FAILED"
    assert pipeline.events(run)[-1] == ("done", "failed")
    message = pipeline.event_bodies(run)[-1]["message"]
    assert f"ordering {SHA[:7]} after {GOOD_SHA[:7]}, which e2e-unordered runs: GitHub's compare did not answer" in message
    assert "nothing is planned or applied until it does" in message
    assert pipeline.jobs(run) == [] and pipeline.lock("e2e-unordered") is None


def _parent_and_child(pipeline, tmp_path) -> tuple[str, str]:
    """Two real commits of acme/infra in the GitHub stand-in (on a branch whose pushes start nothing)."""
    work = Clone(pipeline.stack.create_repository("acme/infra"), tmp_path / "infra")
    work.git("checkout", "--quiet", "-b", "work")
    parent = work.commit("a.tf", "# a\n", "parent")
    child = work.commit("b.tf", "# b\n", "child")
    work.push("work")
    return parent, child


def test_an_approved_plan_whose_commit_became_older_than_the_applied_one_is_refused_with_scripted_job_standin(
        pipeline, tmp_path):
    parent, child = _parent_and_child(pipeline, tmp_path)
    run = pipeline.start(pipeline.run(Command.APPLY, "e2e-moved-on", sha=parent))
    pipeline.wait_for_approval(run)
    # Meanwhile an operator forced the lock away (`tfpipe unlock --force`) and another run applied the child.
    _seed_good_commit(pipeline, "e2e-moved-on", sha=child)
    approval.decide(pipeline.deps, run.run_id, True, "lead@example.com")

    assert pipeline.wait(run)["status"] == "FAILED"
    assert pipeline.events(run)[-1] == ("done", "failed") and ("rollback", "started") not in pipeline.events(run)
    assert (f"refused, nothing applied: StalePlan: applying {parent[:7]} to e2e-moved-on: it is an ancestor of "
            f"{child[:7]}, which e2e-moved-on runs now") in pipeline.event_bodies(run)[-1]["message"]
    assert [(j["action"], j["sha"]) for j in pipeline.jobs(run)] == [("plan", parent)]
    assert pipeline.lock("e2e-moved-on") is None


def test_a_newer_commit_queued_for_the_lock_supersedes_the_approval_an_older_run_waits_for_with_scripted_job_standin(
        pipeline):
    first = pipeline.start(pipeline.run(Command.APPLY, "e2e-race", key="first"))
    pipeline.wait_for_approval(first)
    newer = pipeline.start(pipeline.run(Command.APPLY, "e2e-race", sha=NEWER_SHA, key="newer"))

    assert pipeline.wait(first)["status"] == "SUCCEEDED"  # ended without applying, its lock released
    assert pipeline.events(first)[-1] == ("done", "superseded")
    assert newer.run_id in pipeline.event_bodies(first)[-1]["message"]
    assert [j["action"] for j in pipeline.jobs(first)] == ["plan"]
    record = pipeline.deps.runs.get(first.run_id)
    assert (record.status, record.approval_state, record.superseded_by) == ("superseded", "superseded", newer.run_id)
    with pytest.raises(Conflict, match=f"approving run {first.run_id}: its approval was superseded by run "
                                       f"{newer.run_id}, a newer plan for e2e-race; approve that run instead"):
        approval.decide(pipeline.deps, first.run_id, True, "lead@example.com")

    pipeline.wait_for_approval(newer)
    assert pipeline.lock("e2e-race").run_id == newer.run_id
    approval.decide(pipeline.deps, newer.run_id, True, "lead@example.com")
    assert pipeline.wait(newer)["status"] == "SUCCEEDED"
    assert [(j["action"], j["sha"]) for j in pipeline.jobs(newer)] == [("plan", NEWER_SHA), ("apply", NEWER_SHA)]
    assert pipeline.lock("e2e-race") is None
    [applied] = pipeline.deps.audit_log.history("acme/infra", "e2e-race")
    assert applied.sha == NEWER_SHA


def _sigv4_post(url: str, access_key: str, secret_key: str, body: bytes = b"{}"):
    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signed = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(access_key, secret_key), "execute-api", "us-east-1").add_auth(signed)
    return requests.post(url, data=body, headers=dict(signed.headers), timeout=30)


def test_an_approval_call_without_a_valid_sigv4_signature_is_refused_403_and_the_run_still_waits(pipeline):
    import requests

    iam = pipeline.stack.client("iam")
    iam.create_user(UserName="mallory")
    key = iam.create_access_key(UserName="mallory")["AccessKey"]
    run = pipeline.start(pipeline.run(Command.APPLY, "e2e-api-refused"))
    pipeline.wait_for_approval(run)
    url = f"{pipeline.stack.api_url}/runs/{run.run_id}/approve"

    unsigned = requests.post(url, json={"actor": "lead@example.com"}, timeout=30)
    wrong_secret = _sigv4_post(url, key["AccessKeyId"], "not-" + key["SecretAccessKey"])
    unknown_key = _sigv4_post(url, "testing", "testing")

    assert (unsigned.status_code, unsigned.json()["message"]) == (403, "Missing Authentication Token")
    assert wrong_secret.status_code == 403 and "signature we calculated does not match" in wrong_secret.text
    assert unknown_key.status_code == 403 and "security token included in the request is invalid" in unknown_key.text
    assert pipeline.deps.runs.get(run.run_id).approval_state == "pending"
    approval.decide(pipeline.deps, run.run_id, False, "lead@example.com")  # leave no run waiting
    assert pipeline.wait(run)["status"] == "SUCCEEDED"


def test_a_sigv4_signed_approval_applies_and_records_the_callers_iam_arn_with_scripted_job_standin(pipeline):
    iam = pipeline.stack.client("iam")
    user = iam.create_user(UserName="lead")["User"]
    key = iam.create_access_key(UserName="lead")["AccessKey"]
    run = pipeline.start(pipeline.run(Command.APPLY, "e2e-api"))
    pipeline.wait_for_approval(run)

    plan = pipeline.deps.runs.get(run.run_id).plan_sha256
    body = {"plan_sha256": plan, "actor": "someone-else@example.com"}  # the actor is the signer, whatever this says
    answer = _sigv4_post(f"{pipeline.stack.api_url}/runs/{run.run_id}/approve", key["AccessKeyId"],
                         key["SecretAccessKey"], json.dumps(body).encode())

    assert answer.status_code == 200, answer.text
    assert (answer.json()["approved"], answer.json()["actor"]) == (True, user["Arn"])
    assert pipeline.wait(run)["status"] == "SUCCEEDED"
    [record] = pipeline.deps.audit_log.history("acme/infra", "e2e-api")
    assert (record.approver, record.plan_checksum) == ("arn:aws:iam::123456789012:user/lead", plan)
    assert answer.json()["plan_sha256"] == plan and len(plan) == 64


def test_a_captured_approval_replayed_to_another_run_or_naming_another_plan_is_refused_409_with_scripted_job_standin(
        pipeline):
    iam = pipeline.stack.client("iam")
    iam.create_user(UserName="replayer")
    key = iam.create_access_key(UserName="replayer")["AccessKey"]
    one = pipeline.start(pipeline.run(Command.APPLY, "e2e-replay-1"))
    two = pipeline.start(pipeline.run(Command.APPLY, "e2e-replay-2"))
    pipeline.wait_for_approval(one)
    pipeline.wait_for_approval(two)
    plan_one, plan_two = (pipeline.deps.runs.get(r.run_id).plan_sha256 for r in (one, two))
    captured = json.dumps({"plan_sha256": plan_one}).encode()  # an approval of run one's plan

    def approve(run, body: bytes):
        return _sigv4_post(f"{pipeline.stack.api_url}/runs/{run.run_id}/approve", key["AccessKeyId"],
                           key["SecretAccessKey"], body)

    replayed = approve(two, captured)
    other_plan = approve(one, json.dumps({"plan_sha256": "0" * 64}).encode())
    unnamed = approve(one, b"{}")

    assert plan_one != plan_two
    assert replayed.status_code == 409, replayed.text
    assert (f"approving run {two.run_id}: the approval names plan sha256 {plan_one}, but run {two.run_id} waits with "
            f"plan sha256 {plan_two}") in replayed.json()["message"]
    assert other_plan.status_code == 409 and "0" * 64 in other_plan.json()["message"]
    assert unnamed.status_code == 400 and unnamed.json()["fields"][0]["field"] == "plan_sha256"
    assert [pipeline.deps.runs.get(r.run_id).approval_state for r in (one, two)] == ["pending", "pending"]
    assert approve(one, captured).status_code == 200
    assert pipeline.wait(one)["status"] == "SUCCEEDED"
    assert [(j["action"], j["plan_checksum"]) for j in pipeline.jobs(one)][-1] == ("apply", plan_one)
    approval.decide(pipeline.deps, two.run_id, False, "lead@example.com")  # leave no run waiting
    assert pipeline.wait(two)["status"] == "SUCCEEDED"


def test_cli_approves_and_rejects_through_the_stacks_api_with_scripted_job_standin(pipeline):
    from click.testing import CliRunner

    from tfpipe.cli import main

    approved = pipeline.start(pipeline.run(Command.APPLY, "e2e-cli-ok"))
    rejected = pipeline.start(pipeline.run(Command.APPLY, "e2e-cli-no"))
    pipeline.wait_for_approval(approved)
    pipeline.wait_for_approval(rejected)
    state_dir = str(pipeline.stack.state_dir)
    operator = pipeline.stack.operator["arn"]  # the stack's operator user, whose key the CLI signs with

    plan = pipeline.deps.runs.get(approved.run_id).plan_sha256  # as `tfpipe show` prints it
    ok = CliRunner().invoke(main, ["approve", approved.run_id, "--plan-sha256", plan, "--state-dir", state_dir])
    no = CliRunner().invoke(main, ["reject", rejected.run_id, "--state-dir", state_dir])
    again = CliRunner().invoke(main, ["approve", approved.run_id, "--plan-sha256", plan, "--state-dir", state_dir])

    assert operator == "arn:aws:iam::123456789012:user/tfpipe-local-operator"
    assert ok.exit_code == 0 and f"run {approved.run_id} approved by {operator}" in ok.output, ok.output
    assert f"approving run {approved.run_id}: plan sha256 {plan}" in ok.output  # what it approves, in full
    assert f"run {approved.run_id} approved by {operator} (plan sha256 {plan[:12]})" in ok.output
    assert no.exit_code == 0 and f"run {rejected.run_id} rejected by {operator}" in no.output, no.output
    assert again.exit_code == 1 and f"approving run {approved.run_id}" in again.output
    assert pipeline.wait(approved)["status"] == "SUCCEEDED" and pipeline.events(approved)[-1] == ("done", "succeeded")
    assert pipeline.wait(rejected)["status"] == "SUCCEEDED" and pipeline.events(rejected)[-1] == ("done", "rejected")


def test_waiting_for_a_lock_that_is_never_released_gives_up_in_bounded_time(pipeline):
    with pipeline.changed_settings(TFPIPE_LOCK_MAX_WAIT="3s"):
        pipeline.deps.locker.acquire("acme/infra", "e2e-stuck", "a-run-that-never-ends")
        run = pipeline.start(pipeline.run(Command.APPLY, "e2e-stuck"))
        execution = pipeline.wait(run, timeout=90)
    assert (execution["status"], execution["error"]) == ("FAILED", "LockHeld")
    assert pipeline.events(run) == [("queued", "started"), ("lock", "pending"), ("done", "failed")]
    assert "held by run a-run-that-never-ends" in pipeline.event_bodies(run)[-1]["message"]
    assert pipeline.states(run).count("WaitForLock") >= 2
    assert pipeline.jobs(run) == [] and pipeline.lock("e2e-stuck").run_id == "a-run-that-never-ends"

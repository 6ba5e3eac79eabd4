"""Run history (the audit trail in a real bare Git repository) and the last commit that applied cleanly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.core.errors import InvalidRequest
from chalicelib.core.run_records import EnvironmentRecord
from chalicelib.core.workflows import Workflow
from chalicelib.tasks import last_good, ttl
from tests.tasks.conftest import OLD_SHA, SHA, make_run, task_event


def resolve(deps, run):
    return last_good.resolve(deps, task_event(run))["sha"]


def test_no_history_means_no_last_good_commit(deps):
    assert resolve(deps, make_run()) is None


def test_last_good_commit_is_the_newest_clean_apply_not_a_later_failure(deps):
    good, bad = make_run(sha=OLD_SHA, key="a"), make_run(sha=SHA, key="b")
    last_good.record(deps, task_event(good, state={"approval": {"actor": "lead@example.com"}},
                                      action="apply", result="applied"))
    last_good.record(deps, task_event(bad, state={"error": {"Error": "ApplyFailed", "Cause": "boom"}},
                                      action="apply", result="failed"))
    assert resolve(deps, bad) == OLD_SHA
    history = deps.audit_log.history("acme/infra", "prod")
    assert [(r.sha, r.result, r.error_class) for r in history] == [(OLD_SHA, "applied", None),
                                                                   (SHA, "failed", "ApplyFailed")]
    assert history[0].approver == "lead@example.com"


def test_a_rollback_names_no_approver_and_says_why_none_was_needed_not_the_failed_runs_approver_or_plan(deps):
    run = make_run(sha=SHA)
    state = {"last_good": {"sha": OLD_SHA}, "approval": {"approved": True, "actor": "lead@example.com"},
             "plan": {"plan_checksum": "c" * 64}, "rollback": {"artifacts": {"log": "k"}}}
    last_good.record(deps, task_event(run, state=state, action="rollback", result="rolled-back-to"))
    [record] = deps.audit_log.history("acme/infra", "prod")
    assert (record.approver, record.plan_checksum) == (None, None)
    assert record.approval_not_needed == (f"automatic rollback of a failed run to {OLD_SHA[:7]}, the last commit "
                                          "applied cleanly to prod (applied under its own approval)")


def test_a_rollback_records_the_commit_it_applied(deps):
    run = make_run(sha=SHA)
    last_good.record(deps, task_event(run, state={"last_good": {"sha": OLD_SHA}, "rollback": {"artifacts": {"log": "k"}}},
                                      action="rollback", result="rolled-back-to"))
    [record] = deps.audit_log.history("acme/infra", "prod")
    assert (record.action, record.sha, record.artifacts) == ("rollback", OLD_SHA, {"log": "k"})
    assert resolve(deps, run) == OLD_SHA


def test_other_environments_do_not_count(deps):
    last_good.record(deps, task_event(make_run(environment="staging"), action="apply", result="applied"))
    assert resolve(deps, make_run(environment="prod")) is None


def test_unknown_action_or_result_is_refused_by_name(deps):
    with pytest.raises(InvalidRequest, match=r"action: got 'deploy'.*result: got 'ok'"):
        last_good.record(deps, task_event(make_run(), action="deploy", result="ok"))


def test_an_ephemeral_environment_whose_apply_was_not_audited_is_found_by_its_ttl_record(deps):
    applied = make_run(Workflow.APPLY_EPHEMERAL, "pr-7", sha=OLD_SHA, pull_request=7, ttl_seconds=3600)
    when = datetime.now(UTC) + timedelta(hours=1)
    # What the apply's TTL step records; the audit record of that apply was not written.
    deps.runs.put_environment(EnvironmentRecord("acme/infra", "pr-7", int(when.timestamp()), "ttl-pr-7",
                                                ttl.destroy_run(applied, "ttl-pr-7", when).to_dict()))
    closing = make_run(Workflow.DESTROY, "pr-7", sha=SHA, key="closed", pull_request=7)
    assert resolve(deps, closing) == OLD_SHA
    assert last_good.find(deps, "acme/infra", "pr-7") == OLD_SHA


def test_a_destroy_is_recorded_with_the_commit_it_destroyed_with(deps):
    run = make_run(Workflow.DESTROY, "pr-7", sha=SHA, pull_request=7)
    last_good.record(deps, task_event(run, state={"last_good": {"sha": OLD_SHA}}, action="destroy",
                                      result="destroyed", commit="last-good"))
    [record] = deps.audit_log.history("acme/infra", "pr-7")
    assert (record.action, record.sha, record.result) == ("destroy", OLD_SHA, "destroyed")


def test_an_approved_destroy_of_a_long_lived_environment_names_its_approver_and_the_plan_applied(deps):
    run = make_run(Workflow.DESTROY, "prod", sha=SHA)
    state = {"last_good": {"sha": OLD_SHA}, "approval": {"approved": True, "actor": "lead@example.com"},
             "plan": {"plan_checksum": "c" * 64}, "destroy": {"plan_checksum": "c" * 64, "artifacts": {}}}
    last_good.record(deps, task_event(run, state=state, action="destroy", result="destroyed", commit="last-good"))
    [record] = deps.audit_log.history("acme/infra", "prod")
    assert (record.approver, record.approval_not_needed, record.plan_checksum) == ("lead@example.com", None, "c" * 64)


def test_an_unattended_destroy_of_an_ephemeral_environment_says_why_no_approval_was_needed(deps):
    run = make_run(Workflow.DESTROY, "pr-7", sha=SHA, pull_request=7)
    last_good.record(deps, task_event(run, state={"last_good": {"sha": OLD_SHA}}, action="destroy",
                                      result="destroyed", commit="last-good"))
    [record] = deps.audit_log.history("acme/infra", "pr-7")
    assert record.approver is None
    assert record.approval_not_needed == "pr-7 is an ephemeral environment (pr-<N>): its changes need no approval"
    assert "approval: none needed: pr-7 is an ephemeral environment" in record.commit_text


def test_the_audit_record_of_an_approved_apply_names_the_approver_and_the_plan_sha256_in_git_log(deps):
    import subprocess
    from pathlib import Path

    plan = "ab" * 32
    run = make_run()
    state = {"plan": {"plan_checksum": plan}, "approval": {"approved": True, "actor": "lead", "plan_sha256": plan},
             "apply": {"plan_checksum": plan}}
    last_good.record(deps, task_event(run, state=state, action="apply", result="applied"))

    [record] = deps.audit_log.history("acme/infra", "prod")
    assert (record.approver, record.plan_checksum) == ("lead", plan)
    repo = Path(deps.settings.local_git_root) / "acme" / "infra.git"
    message = subprocess.run(["git", "--git-dir", str(repo), "log", "-1", "--format=%B", "tfpipe-audit"],
                             capture_output=True, text=True, check=True).stdout
    assert f"approved by: lead\nplan sha256: {plan}\n" in message

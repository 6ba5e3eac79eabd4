"""`tfpipe unlock <env>` on the locks table (DynamoDB on moto), found through a stack.json."""

from __future__ import annotations

import json

import boto3
import pytest
from click.testing import CliRunner

from chalicelib.core.audit import AuditRecord
from chalicelib.core.run_records import RunRecord
from chalicelib.wiring import Container
from tests.tasks.conftest import bare_repository
from tests.workflows import provision
from tfpipe.cli import main


@pytest.fixture
def state_dir(moto_endpoint, tmp_path, monkeypatch):
    settings = provision.create_resources(moto_endpoint, local_git_root=str(tmp_path / "git"))
    bare_repository(tmp_path / "git", "acme/infra")  # where the audit trail is written
    env = {"AWS_ENDPOINT_URL": moto_endpoint, "TFPIPE_LOCKS_TABLE": settings.locks_table,
           "TFPIPE_RUNS_TABLE": settings.runs_table, "TFPIPE_LOCAL_GIT_ROOT": settings.local_git_root}
    for key, value in env.items():
        monkeypatch.setenv(key, value)  # the CLI exports the stack's env; this restores it afterwards
    (tmp_path / "stack.json").write_text(json.dumps({"api_url": "http://127.0.0.1:9", "env": env}))
    return tmp_path, Container(settings)


def test_unlock_clears_a_lock_held_after_a_failed_rollback_and_says_whose_it_was(state_dir):
    path, deps = state_dir
    deps.locker.hold("acme/infra", "prod", "run-7", "needs attention: rollback failed")

    result = CliRunner().invoke(main, ["unlock", "prod", "--state-dir", str(path)])

    assert result.exit_code == 0, result.output
    assert "unlocked prod of acme/infra: it was held by run run-7" in result.output
    assert "(needs attention: rollback failed)" in result.output
    assert deps.locker.get("acme/infra", "prod") is None


def test_unlock_is_an_audit_record_naming_the_callers_iam_identity_and_the_run_it_held(state_dir):
    path, deps = state_dir
    deps.locker.hold("acme/infra", "prod", "run-7", "needs attention: rollback failed")
    caller = boto3.client("sts", region_name="us-east-1").get_caller_identity()["Arn"]  # the CLI's credentials

    assert CliRunner().invoke(main, ["unlock", "prod", "--state-dir", str(path)]).exit_code == 0
    shown = CliRunner().invoke(main, ["history", "prod", "--repository", "acme/infra", "--json",
                                      "--state-dir", str(path)])

    assert shown.exit_code == 0, shown.output
    [row] = json.loads(shown.output)
    assert (row["action"], row["result"], row["run_id"], row["actor"]) == ("unlock", "unlocked", "run-7", caller)


def test_unlock_of_an_environment_nobody_locked_fails_clearly_and_records_nothing(state_dir):
    path, deps = state_dir
    result = CliRunner().invoke(main, ["unlock", "staging", "--state-dir", str(path)])
    assert result.exit_code == 1
    assert "unlocking staging: no lock is held on it" in result.output
    assert deps.audit_log.history("acme/infra", "staging") == []


def test_an_environment_destroyed_before_an_unlock_is_still_listed_as_destroyed(state_dir):
    path, deps = state_dir
    deps.audit_log.append(AuditRecord(
        run_id="run-6", workflow="destroy", action="destroy", environment="prod", account_id="111122223333",
        repository="acme/infra", sha="0" * 40, actor="dev@example.com", result="destroyed",
        started_at="2026-12-03T10:00:00+00:00", finished_at="2026-12-03T10:05:00+00:00"))
    deps.runs.start(RunRecord(run_id="run-7", workflow="plan-apply", repository="acme/infra", environment="prod",
                              sha="1" * 40, actor="dev@example.com", execution_arn="arn:aws:states:::execution:x",
                              started_at="2026-12-03T11:00:00+00:00", status="failed"))
    deps.locker.hold("acme/infra", "prod", "run-7", "needs attention")
    assert CliRunner().invoke(main, ["unlock", "prod", "--state-dir", str(path)]).exit_code == 0
    assert [(r.action, r.sha) for r in deps.audit_log.history("acme/infra", "prod")] == [
        ("destroy", "0" * 40), ("unlock", "1" * 40)]  # the commit of the run whose lock it was

    listed = CliRunner().invoke(main, ["envs", "--json", "--state-dir", str(path)])
    assert listed.exit_code == 0, listed.output
    [prod] = [e for e in json.loads(listed.output) if e["environment"] == "prod"]
    assert prod["state"] == "destroyed"

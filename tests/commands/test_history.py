"""`tfpipe history <env>` reading the audit trail from a real bare Git repository."""

import json
import subprocess

import pytest
from click.testing import CliRunner

from chalicelib.adapters.audit_git import GitAuditLog
from chalicelib.core.audit import AuditRecord
from chalicelib.wiring import Container
from tfpipe.cli import main
from tfpipe.commands import common

REPO = "acme/infra"


def record(run, sha, result, at, action="apply", **extra) -> AuditRecord:
    return AuditRecord(run_id=run, workflow="plan-apply", action=action, environment="prod", account_id="123456789012",
                       repository=REPO, sha=sha, actor="dev@acme.example", result=result, started_at=at,
                       finished_at=at, **extra)


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    root = tmp_path / "git"
    subprocess.run(["git", "init", "--bare", "-q", str(root / "acme" / "infra.git")], check=True)
    log = GitAuditLog(root)
    log.append(record("r1", "1" * 40, "applied", "2026-11-25T01:00:00+00:00", approver="lead@acme.example"))
    log.append(record("r2", "b" * 40, "failed", "2026-11-25T02:00:00+00:00", error_class="ApplyFailed"))
    log.append(record("r2", "1" * 40, "rolled-back-to", "2026-11-25T02:05:00+00:00", action="rollback"))
    state = tmp_path / "state"
    state.mkdir()
    (state / "stack.json").write_text(json.dumps({"api_url": "http://127.0.0.1:9",
                                                  "env": {"TFPIPE_LOCAL_GIT_ROOT": str(root)}}))
    monkeypatch.setattr(common.console, "width", 200)  # a wide terminal: no cell cut short
    monkeypatch.setenv("TFPIPE_LOCAL_GIT_ROOT", str(root))  # restored after the test (the CLI exports it)
    # The Git audit log as the container selects it when TFPIPE_LOCAL_GIT_ROOT is set.
    monkeypatch.setattr(Container, "audit_log", property(lambda self: GitAuditLog(self.settings.local_git_root)),
                        raising=False)
    return state


def test_history_prints_the_trail_and_the_last_good_commit_with_git_audit_log_selected_in_test(state_dir):
    result = CliRunner().invoke(main, ["history", "prod", "--repository", REPO, "--state-dir", str(state_dir)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any("apply" in line and "1111111" in line and "applied" in line and "r1" in line for line in lines)
    assert any("ApplyFailed" in line and "bbbbbbb" in line for line in lines)
    assert any("rollback" in line and "rolled-back-to" in line for line in lines)
    assert any("last good" in line and "1111111" in line for line in lines)


def test_history_as_json_has_every_field_in_time_order_with_git_audit_log_selected_in_test(state_dir):
    result = CliRunner().invoke(main, ["history", "prod", "--repository", REPO, "--json", "--state-dir", str(state_dir)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["action"], r["result"]) for r in rows] == [("apply", "applied"), ("apply", "failed"),
                                                         ("rollback", "rolled-back-to")]
    assert rows[0]["commit"] == "1" * 40 and rows[0]["approver"] == "lead@acme.example"


def test_an_environment_without_records_says_so_with_git_audit_log_selected_in_test(state_dir):
    result = CliRunner().invoke(main, ["history", "staging", "--repository", REPO, "--state-dir", str(state_dir)])
    assert result.exit_code == 0
    assert "no audit records for staging of acme/infra" in result.output


def test_an_unknown_repository_fails_clearly_with_git_audit_log_selected_in_test(state_dir):
    result = CliRunner().invoke(main, ["history", "prod", "--repository", "acme/nope", "--state-dir", str(state_dir)])
    assert result.exit_code == 1
    assert "no repository acme/nope under the local Git root" in result.output

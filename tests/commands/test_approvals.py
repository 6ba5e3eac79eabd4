"""`tfpipe unlock <env>` on the locks table (DynamoDB on moto), found through a stack.json."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from chalicelib.wiring import Container
from tests.workflows import provision
from tfpipe.cli import main


@pytest.fixture
def state_dir(moto_endpoint, tmp_path, monkeypatch):
    settings = provision.create_resources(moto_endpoint)
    env = {"AWS_ENDPOINT_URL": moto_endpoint, "TFPIPE_LOCKS_TABLE": settings.locks_table,
           "TFPIPE_RUNS_TABLE": settings.runs_table}
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


def test_unlock_of_an_environment_nobody_locked_fails_clearly(state_dir):
    path, _ = state_dir
    result = CliRunner().invoke(main, ["unlock", "staging", "--state-dir", str(path)])
    assert result.exit_code == 1
    assert "unlocking staging: no lock is held on it" in result.output

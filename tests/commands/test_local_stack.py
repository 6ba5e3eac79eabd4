"""`tfpipe local env|repo` as a user types them in a shell, from their own repository's directory while
the stack runs elsewhere: what `local env` exports is all the other commands need, and nothing
creates a stray .tfpipe/ in the user's repository."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tfpipe.local.testing import stack_fixture
from tfpipe.operations import Operator
from tfpipe.target import Target

pytestmark = pytest.mark.e2e
TFPIPE_BIN = Path(sys.executable).parent  # where the `tfpipe` console script is installed

stack = stack_fixture(app="app:app", stage="localcli", scope="module", provision=True)


@pytest.fixture
def own_repository(tmp_path) -> Path:
    """The user's own Git repository, where they run tfpipe while the stack keeps its state elsewhere."""
    path = tmp_path / "my-infra"
    path.mkdir()
    subprocess.run(["git", "init", "--quiet", str(path)], check=True)
    return path


def shell(script: str, cwd: Path) -> subprocess.CompletedProcess:
    """`script` in bash as a user's fresh terminal runs it: no TFPIPE_* or AWS_* from this test process
    (which the in-process stack exported), tfpipe on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TFPIPE_", "AWS_", "MOTO_"))}
    env["PATH"] = f"{TFPIPE_BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    return subprocess.run(["bash", "-c", f"set -e\n{script}"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def a_run_on_the_stack(stack) -> str:
    """A MODIFY CRON run dispatched to the stack (it needs no job), once the runs table lists it."""
    request = {"repository": "acme/infra", "commit": "a" * 40, "environment": "pr-1", "command": "cron",
               "ttl": "1h", "user_email": "dev@example.com", "request_id": str(uuid.uuid4())}
    answer = Operator(Target.from_state_dir(stack.state_dir)).dispatch(request)  # POST /runs, SigV4-signed
    assert answer.status == 202, answer.body
    run_id = answer.body["runs"][0]["run_id"]
    runs = stack.client("dynamodb")
    deadline = time.monotonic() + 60
    while not runs.scan(TableName=stack.env["TFPIPE_RUNS_TABLE"])["Items"]:
        assert time.monotonic() < deadline, "the run never reached the runs table"
        time.sleep(0.2)
    return run_id


def test_local_env_lets_tfpipe_runs_work_from_the_users_own_repository(stack, own_repository):
    run_id = a_run_on_the_stack(stack)

    done = shell(f'eval "$(tfpipe local env --state-dir {shlex.quote(str(stack.state_dir))})"\n'
                 "tfpipe runs --json", cwd=own_repository)

    assert done.returncode == 0, done.stderr
    assert run_id in {run["run_id"] for run in json.loads(done.stdout)}


def test_local_repo_after_local_env_creates_the_repository_in_the_stacks_state_dir_only(stack, own_repository):
    done = shell(f'eval "$(tfpipe local env --state-dir {shlex.quote(str(stack.state_dir))})"\n'
                 "tfpipe local repo acme/from-elsewhere", cwd=own_repository)

    assert done.returncode == 0, done.stderr
    assert (stack.git_root / "acme" / "from-elsewhere.git" / "HEAD").exists()
    assert not (own_repository / ".tfpipe").exists()


def test_local_repo_without_a_state_dir_here_refuses_and_creates_nothing(stack, own_repository):
    done = shell("tfpipe local repo acme/lost", cwd=own_repository)

    assert done.returncode == 1
    assert "is no embedded stack's state directory" in done.stderr
    assert "tfpipe local env" in done.stderr  # says how to point at the stack
    assert not (own_repository / ".tfpipe").exists()
    assert not (stack.git_root / "acme" / "lost.git").exists()

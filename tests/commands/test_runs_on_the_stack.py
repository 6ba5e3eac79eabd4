"""`tfpipe run|runs|show|envs|ttl|destroy` against a provisioned embedded stack, as a user types them.

Jobs are the scripted stand-in (`tests/workflows/job_standin.py`), not Terraform: these tests are about
what the commands submit and print; the workflows' own tests cover what the runs do.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from tfpipe.cli import main
from tfpipe.local.testing import stack_fixture

pytestmark = pytest.mark.e2e
REPOSITORY = "acme/infra"


stack = stack_fixture(app="app:app", stage="cli", scope="module", provision=True,
                      extra_env={"TFPIPE_TTL_MIN": "1s"},
                      job_command=[sys.executable, "-m", "tests.workflows.job_standin"])


@pytest.fixture(scope="module")
def feature_sha(stack, tmp_path_factory) -> str:
    """A commit on a branch other than the default one: its push starts nothing by itself."""
    bare = stack.create_repository(REPOSITORY)
    work = tmp_path_factory.mktemp("checkout")
    env = {"GIT_AUTHOR_NAME": "dev", "GIT_AUTHOR_EMAIL": "dev@example.com", "GIT_COMMITTER_NAME": "dev",
           "GIT_COMMITTER_EMAIL": "dev@example.com", "PATH": "/usr/bin:/bin"}
    for argv in (["clone", "-q", str(bare), str(work)], ["-C", str(work), "checkout", "-q", "-b", "feature"]):
        subprocess.run(["git", *argv], check=True, env=env, capture_output=True)
    (work / "main.tf").write_text("# nothing\n")
    for argv in (["add", "-A"], ["commit", "-q", "-m", "feature"], ["push", "-q", "origin", "feature"]):
        subprocess.run(["git", "-C", str(work), *argv], check=True, env=env, capture_output=True)
    return subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()


def tfpipe(stack, *args: str):
    return CliRunner().invoke(main, [*args, "--state-dir", str(stack.state_dir)])


def listed(stack, command: str) -> list[dict]:
    result = tfpipe(stack, command, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # output also holds stderr, where the in-process stack logs


def environment(stack, name: str) -> dict:
    return next(e for e in listed(stack, "envs") if e["environment"] == name)


def wait_for(what: str, check, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_run_waits_for_an_ephemeral_environment_then_runs_show_and_envs_list_it(stack, feature_sha):
    result = tfpipe(stack, "run", "--repository", REPOSITORY, "--commit", "feature", "--environment", "pr-9",
                    "--command", "ephemeral", "--ttl", "2h", "--pr", "9", "--email", "dev@example.com", "--wait")
    assert result.exit_code == 0, result.output
    run_id = next(line.split()[1] for line in result.output.splitlines() if line.strip().startswith("run "))
    assert f"run {run_id}: SUCCEEDED" in result.output

    [row] = [r for r in listed(stack, "runs") if r["run_id"] == run_id]
    assert (row["workflow"], row["environment"], row["sha"], row["status"]) == (
        "apply-ephemeral", "pr-9", feature_sha, "succeeded")  # the branch was resolved to its sha

    shown = tfpipe(stack, "show", run_id, "--json")
    assert shown.exit_code == 0, shown.output
    detail = json.loads(shown.stdout)
    assert detail["execution"]["status"] == "SUCCEEDED"
    assert {"Apply", "ScheduleDestroy"} <= {s["state"] for s in detail["execution"]["steps"]}
    text = tfpipe(stack, "show", run_id)
    assert text.exit_code == 0, text.output
    assert f"apply-ephemeral of pr-9 at {feature_sha[:7]} by dev@example.com: SUCCEEDED" in " ".join(text.output.split())

    env = environment(stack, "pr-9")
    assert env["repository"] == REPOSITORY and env["state"] == "active"
    assert 2 * 3600 - 120 < env["expires_at"] - time.time() <= 2 * 3600


def test_ttl_moves_the_destroy_and_destroy_removes_the_environment(stack, feature_sha):
    before = environment(stack, "pr-9")["expires_at"]
    moved = tfpipe(stack, "ttl", "pr-9", "30m")
    assert moved.exit_code == 0, moved.output
    assert "run modify-cron-pr-9-" in moved.output
    after = wait_for("the TTL to move", lambda: (e := environment(stack, "pr-9"))["expires_at"] < before and e)
    assert 30 * 60 - 120 < after["expires_at"] - time.time() <= 30 * 60

    destroyed = tfpipe(stack, "destroy", "pr-9")
    assert destroyed.exit_code == 0, destroyed.output
    wait_for("pr-9 to be destroyed", lambda: environment(stack, "pr-9")["state"] == "destroyed")


def test_commands_on_an_unknown_environment_or_with_bad_input_fail_clearly(stack, feature_sha):
    unknown = tfpipe(stack, "ttl", "pr-404", "1h")
    assert unknown.exit_code == 1
    assert "finding environment pr-404: 0 match; `tfpipe envs` lists them" in unknown.output

    refused = CliRunner().invoke(main, ["run", "--state-dir", str(stack.state_dir), "--repository", REPOSITORY,
                                        "--commit", "feature", "--environment", "prod", "--command", "custom",
                                        "--email", "dev@example.com", "--", "apply", "-auto-approve"])
    assert refused.exit_code == 1
    assert "args: got 'apply -auto-approve'; accepted: a list of strings starting with an allow-listed" in refused.output

    missing = tfpipe(stack, "show", "plan-prod-0000000-000000000000")
    assert missing.exit_code == 1 and "no such run; `tfpipe runs` lists them" in missing.output

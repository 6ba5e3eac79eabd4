"""A failed run is readable where people look, end to end on the embedded stack: a draft pull request
whose Terraform has a syntax error is planned by the real executor with real Terraform; its PR comment,
its commit status and `tfpipe show` tell Terraform's own error with file and line and link the log.

The executor answers its task token and deletes it from the tokens table before it exits non-zero,
so the Batch rule, finding no token, says nothing more (as Step Functions' "token closed" makes it on
AWS): the precise failure is the one shown."""

from __future__ import annotations

import subprocess

import pytest
from click.testing import CliRunner

from tests.fanout.test_fanout_on_the_stack import registered_stage, wait_for
from tfpipe.cli import main
from tfpipe.local.github import git_repos
from tfpipe.local.testing import stack_fixture
from tfpipe.operations import Operator
from tfpipe.target import Target

pytestmark = [pytest.mark.e2e, pytest.mark.terraform]
REPO = "acme/broken"
AUTHOR = "ada"
BROKEN = """terraform {
  backend "s3" {}
}

resource "terraform_data" "greeting" {
  input = "hello"
  triggers_replace =
}
"""

stack = stack_fixture(app="app:app", stage=registered_stage(), provision=True, scope="module")


def git(*args: str, cwd=None) -> str:
    env = {"GIT_AUTHOR_NAME": AUTHOR, "GIT_AUTHOR_EMAIL": "ada@example.com", "GIT_COMMITTER_NAME": AUTHOR,
           "GIT_COMMITTER_EMAIL": "ada@example.com", "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", *args], cwd=cwd, check=True, env=env, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def broken_plan(stack, tmp_path_factory) -> dict:
    """A draft pull request (it starts only a PLAN) adding the broken file; waits until its run and the
    Batch job's own FAILED report have both gone through the fan-out."""
    bare = git_repos.repository_path(stack.git_root, REPO)
    bare.mkdir(parents=True)
    git("init", "-q", "--bare", "--initial-branch=main", cwd=bare)
    work = tmp_path_factory.mktemp("broken")
    git("clone", "-q", str(bare), str(work))
    (work / "README.md").write_text("infra\n")
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "initial", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)  # before the hook exists: starts no PLAN-APPLY
    stack.create_repository(REPO)
    stack.github_store.set_permission(REPO, AUTHOR, "write")
    git("checkout", "-q", "-b", "broken", cwd=work)
    (work / "main.tf").write_text(BROKEN)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "a syntax error", cwd=work)
    git("push", "-q", "origin", "broken", cwd=work)
    sha = git("rev-parse", "HEAD", cwd=work)
    pr, status = stack.github().open(REPO, head="broken", user=AUTHOR, draft=True)
    assert status == 202
    ops = Operator(Target.from_state_dir(stack.state_dir))
    run = wait_for("the PLAN run", lambda: next((r for r in ops.runs() if r["repository"] == REPO), None), 60)
    assert ops.wait_for_run(run["run_id"], timeout=240)["status"] == "FAILED"
    batch = stack.client("batch")
    wait_for("the plan job to end FAILED", lambda: any(
        job["jobName"] for job in batch.list_jobs(jobQueue=stack.env["TFPIPE_JOB_QUEUE_ARN_PLAN"],
                                                  jobStatus="FAILED")["jobSummaryList"]), 60)
    deliveries = stack.client("dynamodb")

    def delivered(phase: str) -> int:
        """How many of the run's failure events of `phase` the comment and the commit status are done with."""
        prefix = f"status|{run['run_id']}|{phase}|failed|"
        items = deliveries.scan(TableName=stack.env["TFPIPE_DELIVERIES_TABLE"])["Items"]
        done = [i["delivery"]["S"] for i in items if i["delivery"]["S"].startswith(prefix)
                and i.get("state", {}).get("S") == "done"]
        sinks = ("|github-status", "|github-comment")
        return min(sum(key.endswith(sink) for key in done) for sink in sinks)
    # the executor's own failure (phase plan) and the run's end
    wait_for("the failure reports to go through the fan-out", lambda: delivered("plan") and delivered("done"), 60)
    return {"number": pr["number"], "sha": sha, "run_id": run["run_id"]}


def test_a_syntax_error_shows_terraforms_error_with_file_and_line_and_the_log_in_the_pr_comment(stack, broken_plan):
    shown = stack.github().show(REPO, broken_plan["number"])
    [comment] = [c["body"] for c in shown["comments"] if "tfpipe:comment workflow=plan" in c["body"]]
    assert "❌" in comment
    assert "Error: Invalid expression" in comment or "Error: Missing expression" in comment, comment
    assert "on main.tf line 7" in comment, comment
    assert "[log](" in comment and f"runs/plan/{broken_plan['run_id']}/plan/log.txt" in comment, comment
    assert "died" not in comment, comment


def test_the_batch_jobs_failure_after_an_answered_token_does_not_replace_the_precise_failure_on_the_commit_status(
        stack, broken_plan):
    shown = stack.github().show(REPO, broken_plan["number"])
    statuses = [s for s in shown["statuses"] if s["context"] == "tfpipe/plan/prod"]
    assert statuses[-1]["state"] == "failure"
    assert "InitFailed" in statuses[-1]["description"], statuses[-1]
    assert "died" not in statuses[-1]["description"], statuses[-1]


def test_tfpipe_show_of_the_failed_run_says_why_with_terraforms_error(stack, broken_plan):
    result = CliRunner().invoke(main, ["show", broken_plan["run_id"], "--state-dir", str(stack.state_dir)])
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    assert "why it failed: InitFailed: reading the configuration for prod failed (exit 2)" in result.output, result.output
    # Terraform's block itself, not only somewhere in the log's tail (whose lines start with "|")
    assert any(line.startswith("on main.tf line 7") for line in lines), result.output
    assert f"full log: runs/plan/{broken_plan['run_id']}/plan/log.txt" in result.output, result.output



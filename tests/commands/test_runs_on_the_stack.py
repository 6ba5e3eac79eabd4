"""`tfpipe run|runs|show|envs|ttl|destroy` against a provisioned embedded stack, as a user types them.

Jobs are the scripted stand-in (`tests/workflows/job_standin.py`), not Terraform: these tests are about
what the commands submit and print; the workflows' own tests cover what the runs do.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner

from tfpipe.cli import main
from tfpipe.local.stack import Stack
from tfpipe.operations import Operator
from tfpipe.target import Target

pytestmark = pytest.mark.e2e
REPOSITORY = "acme/infra"
ACCOUNT = "123456789012"
# What the job stand-in does per `<environment>:<action>` (tests/workflows/job_standin.py); others succeed.
STANDIN_SCRIPT = {
    "qa:plan": {"log": "plan: refreshing state\nPlan: 1 to add, 0 to change, 0 to destroy."},
    "qa:apply": {"error": "TerraformApplyFailed", "cause": "Error: creating the bucket: AccessDenied",
                 "log": "apply: creating aws_s3_bucket.site\nError: creating the bucket: AccessDenied"},
    **{f"{env}:plan": {"resources": [{"address": "aws_sqs_queue.jobs", "type": "aws_sqs_queue", "actions": ["create"]}]}
       for env in ("uat", "staging")},
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    script = tmp_path_factory.mktemp("standin") / "script.json"
    script.write_text(json.dumps(STANDIN_SCRIPT))
    with Stack(app="app:app", stage="cli", state_dir=tmp_path_factory.mktemp("tfpipe-state"), provision=True,
               # One operator runs and approves (these tests are about what the CLI prints, not who may approve).
               extra_env={"TFPIPE_TTL_MIN": "1s", "TFPIPE_ALLOW_SELF_APPROVAL": "true"},
               job_command=[sys.executable, "-m", "tests.workflows.job_standin"],
               job_environment={"TFPIPE_STANDIN_SCRIPT": str(script)}) as running:
        yield running


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


def listed(stack, command: str, *args: str) -> list[dict]:
    result = tfpipe(stack, command, *args, "--json")
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

    destroyed = tfpipe(stack, "destroy", "pr-9")  # an ephemeral environment: no name to type, no approval
    assert destroyed.exit_code == 0, destroyed.output
    assert "Type pr-9 to confirm" not in destroyed.output and "waits for approval" not in destroyed.output
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
    said = refused.output[refused.output.index("Error: "):]  # output also holds the in-process stack's log lines
    assert said.count("args: got") == 1  # once, not in the message and again in the field list

    missing = tfpipe(stack, "show", "plan-prod-0000000-000000000000")
    assert missing.exit_code == 1 and "no such run; `tfpipe runs` lists them" in missing.output


def operator(stack) -> Operator:
    return Operator(Target.from_state_dir(stack.state_dir))


def asks_for_approval(stack, run_id: str) -> bool:
    return any(r["run_id"] == run_id and r["approval_state"] == "pending" for r in operator(stack).runs())


def approve_when_asked(stack, environment: str) -> threading.Thread:
    """Approve the first run on `environment` that waits for approval, as a person would from another shell."""
    def approve():
        ops = operator(stack)
        run = wait_for(f"a run on {environment} to wait for approval", lambda: next(
            (r for r in ops.runs(environment=environment) if r["approval_state"] == "pending"), None))
        ops.decide(run["run_id"], True)
    thread = threading.Thread(target=approve, daemon=True)
    thread.start()
    return thread


def plan_apply(stack, environment: str, *extra: str):
    return tfpipe(stack, "run", "--repository", REPOSITORY, "--commit", "feature", "--environment", environment,
                  "--account-id", ACCOUNT, "--command", "apply", "--email", "dev@example.com", *extra)


def started_run_id(output: str) -> str:
    return next(line.split()[1] for line in output.splitlines() if line.strip().startswith("run "))


def test_run_wait_shows_the_run_moving_asks_for_approval_and_ends_with_the_change_summary(stack, feature_sha):
    approver = approve_when_asked(stack, "staging")
    result = plan_apply(stack, "staging", "--wait")
    approver.join(timeout=5)
    assert result.exit_code == 0, result.output
    run_id = started_run_id(result.output)
    lines = result.output.splitlines()
    said = [i for i, line in enumerate(lines) if "running the plan job" in line]
    asked = [i for i, line in enumerate(lines) if f"waiting for approval: tfpipe approve {run_id}" in line]
    summary = [i for i, line in enumerate(lines) if line.endswith("plan: 1 to add, 0 to change, 0 to destroy")]
    assert summary and summary[0] + 1 < asked[0] and lines[summary[0] + 1].endswith("  + aws_sqs_queue.jobs"), \
        result.output  # what the approval applies, before it is asked for
    applied = [i for i, line in enumerate(lines) if "running the apply job" in line]
    assert said and asked and applied and said[0] < asked[0] < applied[0], result.output  # in the order it moved
    assert "approved by arn:aws:iam::123456789012:user/tfpipe-local-operator" in result.output  # the signing IAM user
    assert lines[-1] == f"run {run_id}: SUCCEEDED; changes (apply): 1 to add, 0 to change, 0 to destroy"


def test_show_says_why_a_failed_run_failed_and_shows_the_log_of_its_last_job(stack, feature_sha):
    approver = approve_when_asked(stack, "qa")
    result = plan_apply(stack, "qa", "--wait")
    approver.join(timeout=5)
    assert result.exit_code == 1
    run_id = started_run_id(result.output)
    why = "no rollback: no commit has applied cleanly to qa yet"
    # The job's cause reaches the run's end too (the stack's moto keeps SendTaskFailure's cause).
    assert f"run {run_id} ended FAILED: apply of {feature_sha[:7]} to qa failed (TerraformApplyFailed" in result.output
    assert f"AccessDenied); {why}" in result.output

    shown = tfpipe(stack, "show", run_id)
    assert shown.exit_code == 0, shown.output
    text = shown.output
    assert "why it failed" in text and why in text  # its last status event, not Step Functions' "RunFailed"
    assert "the apply job failed: TerraformApplyFailed" in text
    assert f"log of the last job (runs/apply/{run_id}/apply/log.txt)" in text
    assert "| apply: creating aws_s3_bucket.site" in text
    assert "| plan: refreshing state" not in text  # the plan's log says nothing about the failed apply


def test_show_json_carries_json_documents_not_json_in_strings(stack, feature_sha):
    [run] = [r for r in listed(stack, "runs") if r["environment"] == "staging"]
    shown = tfpipe(stack, "show", run["run_id"], "--json")
    assert shown.exit_code == 0, shown.output
    execution = json.loads(shown.stdout)["execution"]
    assert isinstance(execution["output"], dict) and execution["output"]["run_id"] == run["run_id"]
    assert [e["message"] for e in execution["status_events"]][-1].startswith("applied ")
    assert [j["action"] for j in execution["jobs"]] == ["plan", "apply"]


def test_a_run_waiting_for_approval_shows_so_keeps_its_lock_and_lists_by_status(stack, feature_sha):
    started = plan_apply(stack, "uat")
    assert started.exit_code == 0, started.output
    run_id = started_run_id(started.output)
    wait_for("the approval", lambda: asks_for_approval(stack, run_id))

    shown = tfpipe(stack, "show", run_id)
    assert shown.exit_code == 0, shown.output
    assert "by dev@example.com: waiting for approval" in " ".join(shown.output.split())
    assert "RUNNING" not in shown.output and f"tfpipe approve {run_id}" in shown.output
    assert "  plan: 1 to add, 0 to change, 0 to destroy\n    + aws_sqs_queue.jobs\n" in shown.output  # what it applies
    plan = operator(stack).deps.runs.get(run_id).plan_sha256
    assert f"plan sha256: {plan} (an approval approves this plan only)" in " ".join(shown.output.split())
    waiting = listed(stack, "runs", "--status", "waiting-for-approval")
    assert [r["run_id"] for r in waiting] == [run_id]

    refused = tfpipe(stack, "unlock", "uat")
    assert refused.exit_code == 1
    assert f"run {run_id}, which holds the lock, is still running" in refused.output
    assert "`tfpipe unlock uat --force` clears it anyway" in refused.output
    assert operator(stack).deps.locker.get(REPOSITORY, "uat").run_id == run_id

    forced = tfpipe(stack, "unlock", "uat", "--force")
    assert forced.exit_code == 0, forced.output
    assert operator(stack).deps.locker.get(REPOSITORY, "uat") is None
    unlocks = [r for r in listed(stack, "history", "uat", "--repository", REPOSITORY) if r["action"] == "unlock"]
    assert [(r["run_id"], r["actor"], r["result"]) for r in unlocks] == [
        (run_id, stack.operator["arn"], "force-unlocked")]  # who cleared it: the CLI's signing identity
    assert tfpipe(stack, "reject", run_id).exit_code == 0


def test_destroy_of_prod_asks_to_type_its_name_then_waits_for_approval_of_its_destroy_plan(stack, feature_sha):
    approver = approve_when_asked(stack, "prod")  # prod first gets something to destroy
    applied = tfpipe(stack, "run", "--repository", REPOSITORY, "--commit", "feature", "--environment", "prod",
                     "--command", "apply", "--email", "dev@example.com", "--wait")
    approver.join(timeout=5)
    assert applied.exit_code == 0, applied.output

    typo = CliRunner().invoke(main, ["destroy", "prod", "--state-dir", str(stack.state_dir)], input="prd\n")
    assert typo.exit_code == 1
    assert "This plans the destroy of every resource of prod" in typo.output and "Type prod to confirm" in typo.output
    assert "destroying prod: not confirmed (typed 'prd', not 'prod'); nothing was started" in typo.output
    assert [r for r in listed(stack, "runs", "--environment", "prod") if r["workflow"] == "destroy"] == []

    started = tfpipe(stack, "destroy", "prod", "--yes")
    assert started.exit_code == 0, started.output
    run_id = started_run_id(started.output)
    assert run_id.startswith("destroy-prod-")
    assert f"prod is not destroyed yet: run {run_id} plans the destroy, then waits for approval" in started.output
    assert f"approve: tfpipe approve {run_id}" in started.output and f"reject:  tfpipe reject {run_id}" in started.output
    wait_for("the destroy plan's approval", lambda: asks_for_approval(stack, run_id))
    shown = tfpipe(stack, "show", run_id)
    assert "destroy of prod" in shown.output and "waiting for approval" in " ".join(shown.output.split())

    assert tfpipe(stack, "reject", run_id).exit_code == 0
    wait_for("the destroy to end", lambda: not asks_for_approval(stack, run_id)
             and operator(stack).run(run_id)["status"] != "running")
    assert operator(stack).run(run_id)["status"] == "rejected"
    assert "(rejected)" in tfpipe(stack, "show", run_id).output
    assert environment(stack, "prod")["state"] == "applied" and environment(stack, "prod")["locked_by"] is None
    assert [r["action"] for r in listed(stack, "history", "prod", "--repository", REPOSITORY)] == ["apply"]


def test_runs_filters_and_keeps_run_ids_whole_in_an_80_column_terminal(stack, feature_sha):
    rows = listed(stack, "runs", "--repository", REPOSITORY, "--environment", "staging", "--status", "succeeded")
    assert [(r["environment"], r["status"]) for r in rows] == [("staging", "succeeded")]
    assert listed(stack, "runs", "--repository", "acme/other") == []
    assert len(listed(stack, "runs", "--limit", "2")) == 2

    done = subprocess.run([sys.executable, "-m", "tfpipe.cli", "runs", "--state-dir", str(stack.state_dir)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    table = done.stdout.splitlines()
    assert max(len(line) for line in table) <= 80
    for run in listed(stack, "runs"):
        assert any(run["run_id"] in line and REPOSITORY in line for line in table), (run["run_id"], done.stdout)


def test_ttl_refuses_a_bad_duration_and_a_long_lived_environment_before_asking_the_pipeline(stack, feature_sha):
    forever = tfpipe(stack, "ttl", "pr-2", "forever")
    assert forever.exit_code == 2
    assert "got 'forever'; accepted: a duration like 90m" in forever.output
    assert "finding environment" not in forever.output

    prod = tfpipe(stack, "ttl", "prod", "2h")
    assert prod.exit_code == 2
    assert "prod is not an ephemeral environment (pr-<number>)" in prod.output


def test_pr_open_and_pushes_print_the_runs_they_started_and_the_pull_request_page(stack, feature_sha, tmp_path):
    work = tmp_path / "checkout"
    env = {**os.environ, "GIT_AUTHOR_NAME": "dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}

    def git(*argv: str) -> str:
        done = subprocess.run(["git", "-C", str(work), *argv], env=env, capture_output=True, text=True, check=True)
        return done.stdout + done.stderr  # the hook's lines come back as `remote: ...` on stderr

    subprocess.run(["git", "clone", "-q", str(stack.git_root / f"{REPOSITORY}.git"), str(work)], check=True, env=env)
    git("checkout", "-q", "-b", "main")
    (work / "README.md").write_text("infra\n")
    git("add", "-A")
    git("commit", "-q", "-m", "first")
    main_sha = git("rev-parse", "HEAD").strip()
    pushed = git("push", "origin", "main")
    [push_run] = re.findall(rf"tfpipe:   run (plan-apply-prod-{main_sha[:7]}-\w+)  \(plan-apply of prod at {main_sha[:7]}\)",
                            pushed)

    stack.github_store.set_permission(REPOSITORY, "dev", "write")  # a reader's pull request runs nothing
    opened = tfpipe(stack, "pr", "open", "--head", "feature", "--repo", REPOSITORY, "--user", "dev")
    assert opened.exit_code == 0, opened.output
    assert re.search(rf"run plan-prod-{feature_sha[:7]}-\w+  \(plan of prod at {feature_sha[:7]}\)", opened.output)
    assert re.search(rf"run apply-ephemeral-pr-1-{feature_sha[:7]}-\w+  \(apply-ephemeral of pr-1 at ", opened.output)
    page = f"{stack.endpoints['github']}/{REPOSITORY}/pull/1"
    assert f"page: {page}" in opened.output

    git("checkout", "-q", "feature")
    (work / "more.tf").write_text("# more\n")
    git("add", "-A")
    git("commit", "-q", "-m", "more")
    moved_sha = git("rev-parse", "HEAD").strip()
    moved = git("push", "origin", "feature")
    assert "pull request #1 synchronize webhook answered 202" in moved
    assert f"tfpipe:   run plan-prod-{moved_sha[:7]}-" in moved and f"tfpipe:   page: {page}" in moved

    wait_for("the pushed run to ask for approval", lambda: asks_for_approval(stack, push_run))
    assert tfpipe(stack, "reject", push_run).exit_code == 0


def test_pr_open_by_a_reader_says_why_nothing_started(stack, feature_sha):
    stack.github_store.set_permission(REPOSITORY, "reader", "read")
    # The reader's branch, made in the repository itself (no push, so no webhook): the same commit.
    subprocess.run(["git", "-C", str(stack.git_root / f"{REPOSITORY}.git"), "branch", "contribution", feature_sha],
                   check=True, capture_output=True)
    opened = tfpipe(stack, "pr", "open", "--head", "contribution", "--base", "feature", "--repo", REPOSITORY,
                    "--user", "reader")
    assert opened.exit_code == 0, opened.output
    assert "untrusted: pull request #" in opened.output and "who does not have write access" in opened.output
    assert f"must comment /plan to trust {feature_sha[:7]}" in opened.output
    assert " run " not in opened.output


def test_permit_says_a_running_stack_may_act_on_the_old_permission_for_its_cache_time(stack):
    permitted = tfpipe(stack, "local", "permit", REPOSITORY, "carol", "read")
    assert permitted.exit_code == 0, permitted.output
    assert "may still act on carol's old permission for up to 60 s" in permitted.output


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == "tfpipe 0.1.0"


def test_a_missing_repository_suggests_the_command_that_creates_it(stack):
    missing = tfpipe(stack, "pr", "open", "--head", "feature", "--repo", "acme/elsewhere")
    assert missing.exit_code == 1
    suggested = re.search(r"create it with `tfpipe (local repo [^`]+)`", missing.output).group(1)
    created = tfpipe(stack, *suggested.split())
    assert created.exit_code == 0, created.output
    assert (stack.git_root / "acme" / "elsewhere.git" / "HEAD").exists()

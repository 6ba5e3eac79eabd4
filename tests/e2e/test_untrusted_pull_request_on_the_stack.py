"""An untrusted pull request's life on the embedded stack, with real Terraform, the sample app and the
GitHub stand-in (whose `permissions.json` answers who may write): a reader opens a pull request
changing the sample app; nothing of it runs and the pull request is asked, once for its head, for a
writer's `/plan`; the writer's `/plan` plans exactly that head in the plan tier and nothing is applied;
a push afterwards runs nothing again; closing it destroys nothing and runs nothing."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from chalicelib.core.comments import marker, untrusted_marker
from chalicelib.core.naming import ephemeral_environment
from tests.fanout.test_fanout_on_the_stack import registered_stage
from tfpipe.demo.command import DEMO_SETTINGS
from tfpipe.demo.story import EXAMPLE, Story, wait
from tfpipe.local.github import git_repos
from tfpipe.local.testing import stack_fixture

pytestmark = [pytest.mark.e2e, pytest.mark.terraform, pytest.mark.timeout(900)]
REPOSITORY = "demo/guestbook"
WRITER, READER = "octocat", "mallory"

stack = stack_fixture(app="app:app", stage=registered_stage(), scope="module", provision=True, extra_env=DEMO_SETTINGS)


def comments(story: Story, number: int) -> list[dict]:
    return story.github.show(REPOSITORY, number)["comments"]


def pull_request_runs(stack, number: int) -> list[tuple[str, str, str]]:
    """Every execution started for the pull request (the intake starts them before it answers)."""
    sfn, found = stack.client("stepfunctions"), []
    for machine in sfn.list_state_machines()["stateMachines"]:
        for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]:
            run = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
            if run["request"].get("pull_request") == number:
                found.append((run["workflow"], run["request"]["environment"]["name"], run["request"]["sha"]))
    return sorted(found)


def job_definitions(stack, run_id: str) -> set[str]:
    """The job definitions the local Batch service ran the run's jobs with (the name carries the run id)."""
    batch, found = stack.client("batch"), set()
    for queue in batch.describe_job_queues()["jobQueues"]:
        listed = batch.list_jobs(jobQueue=queue["jobQueueArn"], filters=[{"name": "JOB_NAME", "values": ["tfpipe-*"]}])
        found |= {j["jobDefinition"] for j in listed["jobSummaryList"] if run_id in j["jobName"]}
    return found


def test_an_untrusted_pull_request_runs_nothing_until_a_writers_plan_then_only_that_plan(stack, tmp_path):
    story = Story(stack, tmp_path)
    git_repos.create_repository(stack.git_root, REPOSITORY)
    stack.github_store.set_permission(REPOSITORY, WRITER, "write")
    stack.github_store.set_permission(REPOSITORY, READER, "read")
    subprocess.run(["git", "clone", "-q", str(git_repos.repository_path(stack.git_root, REPOSITORY)),
                    str(story.checkout)], check=True, capture_output=True, timeout=60)
    shutil.copytree(EXAMPLE, story.checkout, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "dist", "__pycache__"))
    story.set_release("1")
    story.commit_and_push("Guestbook: release 1", "main")  # PLAN-APPLY of prod, waiting for approval

    # A reader's change: its push to a branch starts nothing, and neither does opening the pull request.
    story.git("checkout", "-q", "-b", "contribution")
    story.set_release("2")
    head = story.commit_and_push("Guestbook: release 2", "contribution")
    pr, status = story.github.open(REPOSITORY, head="contribution", user=READER, title="Release 2")
    assert status == 202
    number, environment = pr["number"], ephemeral_environment(pr["number"])
    assert json.loads(story.github.sender.answers[-1])["runs"] == []
    assert pull_request_runs(stack, number) == []
    [asked] = comments(story, number)
    assert untrusted_marker(head) in asked["body"] and "`/plan`" in asked["body"] and head in asked["body"]
    assert f"@{READER}, who does not have write access" in asked["body"]

    # The writer trusts that head: one PLAN of exactly it, in the plan tier, and its plan on the page.
    story.github.comment(REPOSITORY, number, "/plan", WRITER)
    plan = story.one_run("plan", "prod", head)
    done = story.finished(plan)
    assert done["status"] == "SUCCEEDED", done.get("cause")
    assert {d.rsplit("/", 1)[-1].split(":")[0] for d in job_definitions(stack, plan["run_id"])} == {
        f"tfpipe-{registered_stage()}-executor-plan"}
    assert story.ops.artifacts_prefix(plan["run_id"]).startswith("runs/plan/")
    wait("the plan comment on the pull request", lambda: any(
        marker("plan") in c["body"] and "RELEASE" in c["body"] for c in comments(story, number)), 60)

    # A push moves the head: nothing runs, and the new head is asked about.
    with (story.checkout / "main.tf").open("a") as main_tf:
        main_tf.write("\n# a second thought\n")
    pushed = story.commit_and_push("Guestbook: a second thought", "contribution")  # synchronize
    wait("the pull request to ask about the pushed head",
         lambda: any(untrusted_marker(pushed) in c["body"] for c in comments(story, number)), 30)
    assert pull_request_runs(stack, number) == [("plan", "prod", head)]

    _, status = story.github.close(REPOSITORY, number, READER)
    assert status == 202
    # Never applied: no preview environment, no DESTROY running the head, nothing but the one plan.
    assert pull_request_runs(stack, number) == [("plan", "prod", head)]
    assert story.ops.deps.runs.get_environment(REPOSITORY, environment) is None
    assert sum(untrusted_marker(head) in c["body"] for c in comments(story, number)) == 1

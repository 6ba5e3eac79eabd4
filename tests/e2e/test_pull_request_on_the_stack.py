"""A pull request's life on the embedded stack, with real Terraform, the sample app and the GitHub
stand-in: `/terraform` commands answered one reply each (also about prod), and a broken commit pushed
to the open pull request, which must leave its preview environment running until the pull request is
closed and DESTROY removes it with the commit that built it.

The story's first two steps (`tfpipe.demo.story`) set the scene: prod applied at release 1, pull
request #1 with release 2 running in its environment pr-1."""

from __future__ import annotations

import pytest

from chalicelib.core.comments import marker
from chalicelib.core.naming import ephemeral_environment
from tests.fanout.test_fanout_on_the_stack import registered_stage
from tfpipe.demo.command import DEMO_SETTINGS
from tfpipe.demo.story import DEVELOPER, REPOSITORY, Story, _refused, wait
from tfpipe.local.testing import stack_fixture

pytestmark = [pytest.mark.e2e, pytest.mark.terraform, pytest.mark.timeout(900)]
STRANGER = "stranger"  # not a collaborator: read access only

stack = stack_fixture(app="app:app", stage=registered_stage(), scope="module", provision=True, extra_env=DEMO_SETTINGS)


@pytest.fixture(scope="module")
def story(stack, tmp_path_factory) -> Story:
    story = Story(stack, tmp_path_factory.mktemp("story"))
    story.first_commit()
    story.pull_request()
    return story


def comments(story: Story) -> list[dict]:
    return story.github.show(REPOSITORY, story.notes["pr"])["comments"]  # in thread order


def comment(story: Story, body: str, user: str = DEVELOPER) -> dict:
    posted, status = story.github.comment(REPOSITORY, story.notes["pr"], body, user)
    assert status == 202, f"the webhook for {body!r} was answered {status}"
    return posted


def new_run(story: Story, workflow: str, environment: str, seen: set[str]) -> dict:
    return wait(f"a new {workflow} run of {environment}",
                lambda: next((r for r in story.runs(workflow, environment) if r["run_id"] not in seen), None), 30)


def reply_of(story: Story, run: dict, says: str) -> dict:
    """The run's own reply comment once its last event (the run's end) shows there."""
    mine = marker("custom", run["run_id"])
    return wait(f"the reply of run {run['run_id']} saying {says!r}",
                lambda: next((c for c in comments(story) if mine in c["body"] and says in c["body"]
                              and "**Succeeded**" in c["body"]), None), 60)


def terraform(story: Story, command: str, environment: str, says: str, seen: set[str]) -> tuple[dict, dict]:
    """Comment `/terraform <command>`; the request comment and its reply once the run succeeded."""
    request = comment(story, f"/terraform {command}")
    run = new_run(story, "custom", environment, seen)
    seen.add(run["run_id"])
    done = story.finished(run)
    assert done["status"] == "SUCCEEDED", done.get("cause")
    return request, reply_of(story, run, says)


def test_each_terraform_command_gets_its_own_reply_with_the_output_kept_in_thread_order(story):
    environment, seen = ephemeral_environment(story.notes["pr"]), set()
    listed, listing = terraform(story, "state list", environment, "aws_lambda_function.app", seen)
    shown, outputs = terraform(story, "output", environment, 'function_url = "http', seen)

    thread = [c["id"] for c in comments(story)]
    assert thread.index(listed["id"]) < thread.index(listing["id"]) < thread.index(shown["id"]) < thread.index(
        outputs["id"])
    kept = next(c for c in comments(story) if c["id"] == listing["id"])
    assert kept["body"] == listing["body"]  # the second request did not overwrite the first reply
    assert "aws_lambda_function.app" in kept["body"] and 'function_url = "' not in kept["body"]
    for reply in (kept, outputs):
        assert f"`{environment}`" in reply["body"].splitlines()[1]
        assert "Plan:" not in reply["body"] and "to add" not in reply["body"]


def test_terraform_env_prod_reads_prod_for_writers_only_and_only_read_only_commands(story):
    before = {c["id"] for c in comments(story)}
    _, reply = terraform(story, "state list env=prod", "prod", "aws_lambda_function.app", set())
    assert "`prod`" in reply["body"].splitlines()[1]

    runs_before = {r["run_id"] for r in story.ops.runs()}
    comment(story, "/terraform state list env=prod", user=STRANGER)
    comment(story, "/terraform fmt env=prod")
    answers = [c["body"] for c in comments(story) if c["id"] not in before and c["id"] != reply["id"]
               and not c["body"].startswith("/terraform")]
    assert f"@{STRANGER} needs write access to {REPOSITORY} to read `prod` with `/terraform`; nothing ran." in answers
    assert any(a.startswith("Nothing ran") and "a read-only terraform subcommand on the long-lived environment prod"
               in a for a in answers), answers
    assert {r["run_id"] for r in story.ops.runs()} == runs_before


def test_a_broken_commit_leaves_the_preview_environment_up_and_closing_destroys_it_at_its_applied_commit(story):
    number = story.notes["pr"]
    environment, url = ephemeral_environment(number), story.notes["pr_url"]
    applied = story.ops.deps.runs.get_environment(REPOSITORY, environment).destroy_input["request"]["sha"]
    with (story.checkout / "main.tf").open("a") as main_tf:
        main_tf.write('\nresource "aws_s3_bucket" "unfinished" {\n')  # a syntax error: init refuses it
    broken = story.commit_and_push("Guestbook: an unfinished resource", "release-2")  # synchronize

    failed = story.finished(story.one_run("apply-ephemeral", environment, broken))
    assert failed["status"] == "FAILED"
    said = wait("the pull request to say the environment still runs its applied commit", lambda: next(
        (c["body"] for c in comments(story) if marker("apply-ephemeral") in c["body"] and broken[:7] in c["body"]
         and "still runs" in c["body"]), None), 60)
    assert "failed before it changed anything" in said and f"nothing was destroyed: {environment} still runs " \
           f"{applied[:7]}" in said
    assert "failed too" not in said
    story.app_keeps_state(url)  # its resources and URL are still there
    record = story.ops.deps.runs.get_environment(REPOSITORY, environment)
    assert (record.state, record.destroy_input["request"]["sha"]) == ("active", applied)

    _, status = story.github.close(REPOSITORY, number, DEVELOPER)
    assert status == 202
    destroyed = story.finished(story.one_run("destroy", environment))
    assert destroyed["status"] == "SUCCEEDED", destroyed.get("cause")
    assert wait(f"{url} to stop answering", lambda: _refused(url), 30)
    assert story.ops.deps.runs.get_environment(REPOSITORY, environment) is None
    last = story.ops.deps.audit_log.history(REPOSITORY, environment)[-1]
    assert (last.action, last.sha, last.result) == ("destroy", applied, "destroyed")  # not the broken head

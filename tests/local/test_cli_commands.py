"""`tfpipe pr ...` and `tfpipe local env|repo|permit` against a running stack (in this process)."""

from __future__ import annotations

from click.testing import CliRunner

from tests.local.github_helpers import Clone
from tests.local.stack_test_app import recorder
from tfpipe.cli import main


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_pr_commands_send_webhooks_and_show_what_github_would(stack, tmp_path):
    recorder.clear()
    state = ["--state-dir", str(stack.state_dir)]
    _run("local", "repo", "acme/infra", *state)
    work = Clone(stack.git_root / "acme" / "infra.git", tmp_path / "work")
    work.commit("main.tf", "", "Initial commit")
    work.push("main")
    work.git("checkout", "--quiet", "-b", "feature")
    work.commit("a.tf", "", "feature")
    work.push("feature")

    opened = _run("pr", "open", "--head", "feature", "--title", "Add a", "--user", "ada", *state)
    commented = _run("pr", "comment", "1", "/plan", "--user", "bob", *state)
    shown = _run("pr", "show", "1", *state)

    assert "opened #1 on acme/infra (feature -> main" in opened and "answered 200" in opened
    assert "bob commented on #1" in commented
    assert "#1 'Add a' [open] feature -> main" in shown and "/plan" in shown
    events = [d["headers"]["x-github-event"] for d in recorder.wait_for("webhook", count=4)]
    assert events == ["push", "push", "pull_request", "issue_comment"]


def test_pr_without_a_running_stack_fails_with_a_clear_message(tmp_path):
    result = CliRunner().invoke(main, ["pr", "show", "1", "--state-dir", str(tmp_path)])

    assert result.exit_code == 1
    assert "no embedded stack is running" in result.output


def test_local_env_and_permit(stack):
    exported = _run("local", "env", "--state-dir", str(stack.state_dir))
    _run("local", "permit", "acme/infra", "carol", "write", "--state-dir", str(stack.state_dir))

    assert f'export AWS_ENDPOINT_URL="{stack.aws_url}"' in exported
    assert stack.github_store.permission("acme/infra", "carol") == "write"

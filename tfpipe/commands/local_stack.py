"""`tfpipe local up|env|repo|permit`: run the embedded stack and prepare its local repositories."""

from __future__ import annotations

import json
import signal
import threading
import time

import click

from tfpipe.local import stack_file
from tfpipe.local.github import git_repos
from tfpipe.local.github.store import PERMISSIONS, GitHubStore

state_dir_option = click.option("--state-dir", type=click.Path(file_okay=False), default=".tfpipe", show_default=True,
                                help="Where the stack keeps its state: stack.json, git/, github/, batch/, lambda/.")


@click.group("local")
def local() -> None:
    """The embedded stack: the whole pipeline on this machine (moto, local Lambda/Batch, GitHub stand-in)."""


@local.command("up")
@state_dir_option
@click.option("--app", default="app:app", show_default=True, help="The Chalice app, as module:attribute.")
@click.option("--stage", default="dev", show_default=True, help="The Chalice stage (names resources like Terraform).")
@click.option("--repo", "repositories", multiple=True, help="Create this owner/name repository (repeatable).")
@click.option("--batch-concurrency", default=2, show_default=True, help="Batch jobs run at once (vCPUs).")
def up(state_dir: str, app: str, stage: str, repositories: tuple[str, ...], batch_concurrency: int) -> None:
    """Start the stack in the foreground until Ctrl-C or SIGTERM; endpoints go to <state-dir>/stack.json."""
    from tfpipe.local.provision import ProvisionError
    from tfpipe.local.stack import Stack

    stopping = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    began = time.monotonic()
    stack = Stack(app=app, stage=stage, state_dir=state_dir, provision=True, batch_concurrency=batch_concurrency,
                  repositories=repositories)
    try:
        stack.start()
    except (ProvisionError, ValueError, git_repos.GitError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        _print_ready(stack, time.monotonic() - began)
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        click.echo("stopping the embedded stack ...")
        stack.stop()
        signal.signal(signal.SIGTERM, previous)
        click.echo("stopped")


def _print_ready(stack, seconds: float) -> None:
    click.echo(f"embedded stack ready in {seconds:.2f} s (state in {stack.state_dir})")
    roles = {"aws": "AWS APIs (moto behind the front door)", "lambda": "Lambda Invoke (Chalice app, uploaded code)",
             "batch": "Batch jobs", "api": "the Chalice app's REST API", "github": "GitHub REST API stand-in",
             "slack": "Slack webhook stand-in"}
    for name, url in stack.endpoints.items():
        click.echo(f"  {name:<7} {url:<28} {roles.get(name, '')}")
    click.echo(f"  webhooks -> {stack.intake_url}")
    for repository in git_repos.repositories(stack.git_root):
        click.echo(f"  repository {repository}: git clone {git_repos.repository_path(stack.git_root, repository)}")
    click.echo(f"endpoints and the local webhook secret: {stack.state_dir / stack_file.NAME}")
    click.echo("point a shell at it: eval \"$(tfpipe local env)\"; stop with Ctrl-C")


@local.command("env")
@state_dir_option
def env(state_dir: str) -> None:
    """Print `export` lines that point AWS tools and tfpipe at the running stack."""
    info = _info(state_dir)
    for key, value in sorted(info["env"].items()):
        click.echo(f"export {key}={json.dumps(value)}")


@local.command("repo")
@state_dir_option
@click.argument("repository")
@click.option("--default-branch", default="main", show_default=True)
def repo(state_dir: str, repository: str, default_branch: str) -> None:
    """Create the bare repository REPOSITORY (owner/name) whose pushes send webhooks to the stack."""
    from pathlib import Path

    try:
        path = git_repos.create_repository(Path(state_dir).resolve() / "git", repository, default_branch)
    except (ValueError, git_repos.GitError) as exc:
        raise click.ClickException(f"creating {repository}: {exc}") from None
    click.echo(f"{repository}: git clone {path}")


@local.command("permit")
@state_dir_option
@click.argument("repository")
@click.argument("user")
@click.argument("permission", type=click.Choice(PERMISSIONS))
def permit(state_dir: str, repository: str, user: str, permission: str) -> None:
    """Give USER PERMISSION on REPOSITORY in the GitHub stand-in (write or more may approve)."""
    GitHubStore(state_dir).set_permission(repository, user, permission)
    click.echo(f"{user} has {permission} on {repository}")
    _say_permissions_are_cached(state_dir, user)


def _say_permissions_are_cached(state_dir: str, user: str) -> None:
    """A running stack's intake caches each user's permission (chalicelib/permissions.py): say for how long."""
    from tfpipe.target import Target, TargetError

    try:
        seconds = Target.from_state_dir(state_dir).settings.permission_cache_seconds
    except TargetError:  # no stack running: the next one starts with an empty cache
        return
    click.echo(f"the running stack may still act on {user}'s old permission for up to {seconds} s (it caches "
               "each user's permission that long)")


def _info(state_dir: str) -> dict:
    try:
        return stack_file.read(state_dir)
    except stack_file.StackNotRunning as exc:
        raise click.ClickException(str(exc)) from None

"""`tfpipe local up|env|repo|permit`: run the embedded stack and prepare its local repositories."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import click

from chalicelib.settings import SettingsError, setting_names
from tfpipe.local import stack_file
from tfpipe.local.github import git_repos
from tfpipe.local.github.store import PERMISSIONS, GitHubStore

STATE_DIR_VARIABLE = "TFPIPE_STATE_DIR"  # what `tfpipe local env` exports; every command that finds the stack reads it
state_dir_option = click.option("--state-dir", type=click.Path(file_okay=False), default=".tfpipe", show_default=True,
                                envvar=STATE_DIR_VARIABLE,
                                help="Where the stack keeps its state: stack.json, git/, github/, batch/, lambda/ "
                                     f"(default ${STATE_DIR_VARIABLE} when set).")


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
    """Start the stack in the foreground until Ctrl-C or SIGTERM; endpoints go to <state-dir>/stack.json.

    The TFPIPE_* settings exported in this shell (TFPIPE_ALLOWED_REPOSITORIES, TFPIPE_TTL_MIN, ...)
    replace the stack's defaults; stack.json shows the values in effect."""
    from tfpipe.local.provision import ProvisionError
    from tfpipe.local.stack import Stack

    stopping = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    began = time.monotonic()
    names = setting_names()
    chosen = {name: value for name, value in os.environ.items() if name in names}
    stack = Stack(app=app, stage=stage, state_dir=state_dir, provision=True, batch_concurrency=batch_concurrency,
                  repositories=repositories, settings=chosen)
    try:
        stack.start()
    except (ProvisionError, ValueError, git_repos.GitError, SettingsError, stack_file.StackAlreadyRunning) as exc:
        signal.signal(signal.SIGTERM, previous)
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
             "slack": "Slack webhook stand-in", "artifacts": "artifacts (the links in comments and Slack)"}
    for name, url in stack.endpoints.items():
        click.echo(f"  {name:<9} {url:<28} {roles.get(name, '')}")
    click.echo(f"  webhooks -> {stack.intake_url}")
    for repository in git_repos.repositories(stack.git_root):
        click.echo(f"  repository {repository}: git clone {git_repos.repository_path(stack.git_root, repository)}")
    click.echo(f"endpoints, the local webhook secret and the operator's IAM key: {stack.state_dir / stack_file.NAME}")
    _print_settings(stack)
    _warn_of_environments_gone(stack.git_root)
    click.echo("point a shell at it: eval \"$(tfpipe local env)\"; stop with Ctrl-C")


def _print_settings(stack) -> None:
    taken = sorted(name for name in stack.settings if name not in stack.ignored_settings)
    if taken:
        click.echo("settings from this shell: " + ", ".join(f"{name}={stack.env[name]}" for name in taken))
    if stack.ignored_settings:
        click.echo("not taken from this shell (the stack points them at its own resources and endpoints): "
                   + ", ".join(stack.ignored_settings))


def _warn_of_environments_gone(git_root: Path) -> None:
    """The audit trail outlives a stack; the environments it names do not (moto keeps AWS in memory)."""
    from chalicelib.core.errors import PipelineError
    from tfpipe.local.audit_trail import deployed_environments

    try:
        remembered = deployed_environments(git_root)
    except PipelineError as exc:  # a damaged trail must not stop the stack; say what could not be read
        click.echo(f"warning: {exc}", err=True)
        return
    for repository, environments in remembered.items():
        named = ", ".join(f"{environment} ({f'last applied {sha[:7]}' if sha else 'never applied cleanly'})"
                          for environment, sha in environments)
        click.echo(f"warning: the audit trail of {repository} names environments that no longer exist: {named}. "
                   "Their AWS resources, Terraform state and runs were in the last stack's memory; apply again "
                   "to recreate them (`tfpipe history <env>` still reads the trail).", err=True)


@local.command("env")
@state_dir_option
def env(state_dir: str) -> None:
    """Print `export` lines that point AWS tools and tfpipe at the running stack, from any directory."""
    info = _info(state_dir)
    exports = {**info["env"], STATE_DIR_VARIABLE: info.get("state_dir") or str(Path(state_dir).resolve())}
    for key, value in sorted(exports.items()):
        click.echo(f"export {key}={json.dumps(value)}")


@local.command("repo")
@state_dir_option
@click.argument("repository")
@click.option("--default-branch", default="main", show_default=True)
def repo(state_dir: str, repository: str, default_branch: str) -> None:
    """Create the bare repository REPOSITORY (owner/name) whose pushes send webhooks to the stack."""
    root = _existing_state_dir(state_dir, f"creating {repository}")
    try:
        path = git_repos.create_repository(root / "git", repository, default_branch)
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
    GitHubStore(_existing_state_dir(state_dir, f"giving {user} {permission} on {repository}")).set_permission(
        repository, user, permission)
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


def _existing_state_dir(state_dir: str, doing: str) -> Path:
    """The stack's state directory; never one made up in whatever directory the command runs in (a
    user's own repository would get a stray .tfpipe/)."""
    path = Path(state_dir).resolve()
    if not path.is_dir():
        raise click.ClickException(
            f"{doing}: {path} is no embedded stack's state directory. Start the stack with `tfpipe local up` "
            f"and run this where it runs, or point at it: --state-dir DIR, or eval \"$(tfpipe local env "
            f"--state-dir DIR)\" (sets ${STATE_DIR_VARIABLE}).")
    return path


def _info(state_dir: str) -> dict:
    try:
        return stack_file.read(state_dir)
    except stack_file.StackNotRunning as exc:
        raise click.ClickException(str(exc)) from None

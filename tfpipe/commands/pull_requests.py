"""`tfpipe pr open|push|comment|close|show`: pull requests on the embedded stack's GitHub stand-in,
each action sent to the pipeline as the webhook GitHub would send."""

from __future__ import annotations

import functools
import getpass
import json
import os
from collections.abc import Callable
from pathlib import Path

import click
import requests

from tfpipe import started
from tfpipe.local import stack_file
from tfpipe.local.github import git_repos
from tfpipe.local.github.local_github import LocalGitHub, PullRequestError

_state_dir = click.option("--state-dir", type=click.Path(file_okay=False), default=".tfpipe", show_default=True,
                          envvar="TFPIPE_STATE_DIR")
_repo = click.option("--repo", "repository", default=None, help="owner/name (default: the only local repository).")
_user = click.option("--user", default=None, help="GitHub login acting (default: $TFPIPE_LOCAL_USER or your login).")


def _acting(command: Callable) -> Callable:
    """Resolve the stand-in, the repository and the user; turn failures into one clear line."""
    @_state_dir
    @_repo
    @_user
    @functools.wraps(command)
    def wrapper(state_dir: str, repository: str | None, user: str | None, **kwargs):
        try:
            github = LocalGitHub(Path(state_dir))
            repository = repository or _only_repository(github)
            user = user or os.environ.get("TFPIPE_LOCAL_USER") or getpass.getuser()
            return command(github=github, repository=repository, user=user, **kwargs)
        except (stack_file.StackNotRunning, PullRequestError, requests.RequestException) as exc:
            raise click.ClickException(str(exc)) from None
    return wrapper


def _only_repository(github: LocalGitHub) -> str:
    found = git_repos.repositories(github.git_root)
    if len(found) != 1:
        raise PullRequestError(f"name the repository with --repo (found {len(found)} under {github.git_root}: "
                               f"{', '.join(found) or 'none'})")
    return found[0]


def _delivered(github: LocalGitHub, what: str, status: int, repository: str, number: int) -> None:
    """What was sent, the runs the pipeline started for it (their ids are what `tfpipe show` takes), and
    the pull request's page on the stand-in."""
    click.echo(f"{what}; the webhook was answered {status}")
    for line in started.lines(github.sender.answers):
        click.echo(f"  {line}")
    github.sender.answers.clear()
    click.echo(f"  page: {github.urls.repo_web(repository)}/pull/{number}")


@click.group("pr")
def pr() -> None:
    """Pull requests on the embedded stack's GitHub stand-in."""


@pr.command("open")
@click.option("--head", required=True, help="The branch with the changes (push it first).")
@click.option("--base", default=None, help="The branch to merge into (default: the repository's default).")
@click.option("--title", default=None)
@click.option("--body", default=None)
@click.option("--draft", is_flag=True)
@_acting
def open_(github, repository, user, head, base, title, body, draft):
    """Open a pull request: sends pull_request `opened`."""
    record, status = github.open(repository, head=head, user=user, base=base, title=title, body=body, draft=draft)
    _delivered(github, f"opened #{record['number']} on {repository} ({record['head_ref']} -> {record['base_ref']}, "
               f"{record['head_sha'][:7]})", status, repository, record["number"])


@pr.command("push")
@click.argument("number", type=int)
@_acting
def push(github, repository, user, number):
    """Report a moved head branch: sends pull_request `synchronize` (pushes to the head branch already do)."""
    moved = github.synchronize(repository, user, number=number)
    if not moved:
        click.echo(f"#{number}: its head has not moved since the last webhook; nothing sent")
    for record, status in moved:
        _delivered(github, f"#{record['number']} now at {record['head_sha'][:7]}", status, repository, record["number"])


@pr.command("comment")
@click.argument("number", type=int)
@click.argument("body")
@_acting
def comment(github, repository, user, number, body):
    """Comment on a pull request (e.g. "/plan", "/approve"): sends issue_comment `created`."""
    record, status = github.comment(repository, number, body, user)
    _delivered(github, f"{user} commented on #{number} (comment {record['id']})", status, repository, number)


@pr.command("close")
@click.argument("number", type=int)
@click.option("--merge", is_flag=True, help="Merge into the base branch first (a real merge commit, pushed).")
@_acting
def close(github, repository, user, number, merge):
    """Close (or merge and close) a pull request: sends pull_request `closed`."""
    record, status = github.close(repository, number, user, merge=merge)
    done = f"merged #{number} as {record['merge_commit_sha'][:7]}" if merge else f"closed #{number}"
    _delivered(github, done, status, repository, number)


@pr.command("show")
@click.argument("number", type=int)
@click.option("--json", "as_json", is_flag=True)
@_acting
def show(github, repository, user, number, as_json):
    """What GitHub would show on the pull request: comments, commit statuses, deployments."""
    shown = github.show(repository, number)
    if as_json:
        click.echo(json.dumps(shown, indent=2))
        return
    record = shown["pull_request"]
    state = "merged" if record.get("merged") else record["state"]
    click.echo(f"#{number} {record['title']!r} [{state}] {record['head_ref']} -> {record['base_ref']} "
               f"at {record['head_sha'][:7]} by {record['user']}")
    for status in shown["statuses"]:
        click.echo(f"  status {status['context']}: {status['state']} - {status.get('description') or ''}")
    for deployment in shown["deployments"]:
        latest = deployment["statuses"][-1] if deployment["statuses"] else {}
        click.echo(f"  deployment {deployment['id']} to {deployment['environment']}: {latest.get('state', 'created')} "
                   f"{latest.get('environment_url') or ''}")
    for item in shown["comments"]:
        click.echo(f"--- comment {item['id']} by {item['user']} at {item['updated_at']}")
        click.echo(item["body"])

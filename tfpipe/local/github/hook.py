"""The bare repositories' `post-receive` hook: each updated ref becomes a signed `push` webhook to the
running stack's intake, and open pull requests whose head branch moved get `synchronize`, as on
GitHub. Without a running stack the push still succeeds and the hook says no webhook was sent."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from pathlib import Path

from tfpipe import started
from tfpipe.local import stack_file
from tfpipe.local.github import git_repos
from tfpipe.local.github.local_github import LocalGitHub, PullRequestError


def _git_config(key: str) -> str:
    done = subprocess.run(["git", "config", key], capture_output=True, text=True)
    return done.stdout.strip()


def _pusher(git_dir: Path, after: str) -> tuple[str, str]:
    """Who pushed: GitHub knows the authenticated user; locally, TFPIPE_LOCAL_PUSHER if set (the CLI's
    merges), else the committer of the pushed head (git hands the hook no pusher identity)."""
    name = os.environ.get("TFPIPE_LOCAL_PUSHER")
    if name:
        return name, os.environ.get("TFPIPE_LOCAL_PUSHER_EMAIL") or f"{name}@users.noreply.local"
    if after.strip("0"):
        info = git_repos.commit_info(git_dir, after)
        return info["committer_name"], info["committer_email"]
    name = _git_config("user.name") or getpass.getuser()
    return name, _git_config("user.email") or f"{name}@users.noreply.local"


def _started(github: LocalGitHub) -> None:
    """The runs the last webhook started, by id (what `tfpipe show` and `tfpipe approve` take)."""
    for line in started.lines(github.sender.answers):
        print(f"tfpipe:   {line}")
    github.sender.answers.clear()


def main(stdin=None) -> int:
    git_dir = Path(os.environ.get("GIT_DIR", ".")).resolve()
    state_dir = git_dir.parents[2]  # <state-dir>/git/<owner>/<name>.git
    try:
        github = LocalGitHub(state_dir)
    except stack_file.StackNotRunning as exc:
        print(f"tfpipe: {exc}; no webhook sent")
        return 0
    repository = git_repos.full_name_of(github.git_root, git_dir)
    for line in stdin or sys.stdin:
        parts = line.split()
        if len(parts) != 3:
            continue
        before, after, ref = parts
        pusher, email = _pusher(git_dir, after)
        try:
            status = github.push(repository, ref, before, after, pusher, email)
            print(f"tfpipe: push webhook for {ref} answered {status}")
            _started(github)
            if ref.startswith("refs/heads/"):
                for pr, status in github.synchronize(repository, pusher, branch=ref.removeprefix("refs/heads/")):
                    print(f"tfpipe: pull request #{pr['number']} synchronize webhook answered {status}")
                    _started(github)
                    print(f"tfpipe:   page: {github.urls.repo_web(repository)}/pull/{pr['number']}")
        except (OSError, PullRequestError) as exc:  # requests' errors are OSErrors
            print(f"tfpipe: sending the webhook for {ref} failed: {exc}")
    return 0

"""The issue's fixture monorepo (tests/executor/monorepo.py) pushed to a real bare repository, reached
as file://... the way the embedded stack's remotes are, and the job's depth-1 checkout of one commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

from executor.checkout import checkout, git_auth_env

from tests.executor.monorepo import git, git_monorepo


class BareRemote:
    """`work` is where commits are made; `push` publishes them. `allow_filter` is the server setting a
    blob-less fetch needs (`uploadpack.allowFilter`; GitHub has it, a fresh bare repository does not)."""

    def __init__(self, root: Path, allow_filter: bool = True):
        self.work = root / "work"
        self.bare = root / "infra.git"
        git_monorepo(self.work)
        subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(self.bare)], check=True)
        if allow_filter:
            git(self.bare, "config", "uploadpack.allowFilter", "true")
        self.push("main")

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def push(self, branch: str, force: bool = False) -> str:
        git(self.work, "push", "--quiet", *(["--force"] if force else []), str(self.bare), f"HEAD:refs/heads/{branch}")
        return git(self.work, "rev-parse", "HEAD")

    def commits(self, count: int, path: str) -> str:
        """`count` commits each changing `path` (a different text each time), made by one `git
        fast-import` (hundreds of `git commit`s take seconds each test); returns the last."""
        if not count:
            return git(self.work, "rev-parse", "HEAD")
        branch, parent = git(self.work, "symbolic-ref", "--short", "HEAD"), git(self.work, "rev-parse", "HEAD")
        stream = []
        for i in range(count):
            message, text = f"change {i} to {path}".encode(), f"# change {i}\n".encode()
            stream += [f"commit refs/heads/{branch}\ncommitter t <t@example.com> {1_700_000_000 + i} +0000\n".encode(),
                       b"data %d\n%s\n" % (len(message), message), f"from {parent}\n".encode() if i == 0 else b"",
                       f"M 100644 inline {path}\n".encode(), b"data %d\n%s\n" % (len(text), text)]
        subprocess.run(["git", "-C", str(self.work), "fast-import", "--quiet"], input=b"".join(stream), check=True)
        git(self.work, "reset", "--quiet", "--hard")
        return git(self.work, "rev-parse", "HEAD")

    def pull_request(self, commits: int, main_moves_on: int, history: int = 0) -> tuple[str, str]:
        """After `history` commits on main, a branch `feature` of `commits` commits to stacks/dns, then
        `main_moves_on` commits to stacks/network on main; both pushed. Returns (head, base)."""
        self.commits(history, "README.md")
        self.branch("feature")
        head = self.commits(commits, "stacks/dns/records.tf")
        self.push("feature")
        self.branch("main")
        base = self.commits(main_moves_on, "stacks/network/main.tf")
        self.push("main")
        return head, base

    def branch(self, name: str, start: str = "main") -> None:
        git(self.work, "checkout", "--quiet", "-B", name, start)

    def forget_unreachable(self) -> None:
        """What a force push replaced is gone from the server for good (as after its garbage collection)."""
        git(self.bare, "reflog", "expire", "--expire=now", "--all")
        git(self.bare, "gc", "--quiet", "--prune=now")


def job_checkout(remote: BareRemote, sha: str, dest: Path, env: dict[str, str] | None = None) -> Path:
    """The job's checkout: `sha` alone, depth 1."""
    checkout(remote.url, sha, dest, env or git_auth_env(remote.url, None), timeout=60)
    return dest


def head_and_status(dest: Path) -> tuple[str, str]:
    return git(dest, "rev-parse", "HEAD"), git(dest, "status", "--porcelain", "--untracked-files=all")

"""Bare Git repositories standing in for GitHub repositories: `<git_root>/<owner>/<name>.git`,
each with a `post-receive` hook that turns pushes into signed `push` webhooks (see hook.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]  # the hook imports tfpipe from here
_FULL_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_HOOK = """#!{python}
# Installed by tfpipe's embedded stack: pushes become signed GitHub push webhooks.
import sys
sys.path.insert(0, {repo_root!r})
from tfpipe.local.github.hook import main
sys.exit(main())
"""
_FORMAT = "%H%x00%T%x00%P%x00%an%x00%ae%x00%cn%x00%ce%x00%cI%x00%B"


class GitError(Exception):
    pass


def git(*args: str, cwd: Path | str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise GitError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def repository_path(git_root: Path, full_name: str) -> Path:
    if not _FULL_NAME.match(full_name) or ".." in full_name:
        raise ValueError(f"{full_name!r} is not an owner/name repository name")
    return Path(git_root) / f"{full_name}.git"


def full_name_of(git_root: Path, path: Path) -> str:
    relative = Path(path).resolve().relative_to(Path(git_root).resolve())
    return f"{relative.parent.as_posix()}/{relative.name.removesuffix('.git')}"


def create_repository(git_root: Path, full_name: str, default_branch: str = "main") -> Path:
    """Create (or adopt) the bare repository and (re)install its hook; idempotent."""
    path = repository_path(git_root, full_name)
    if not (path / "HEAD").exists():
        path.mkdir(parents=True, exist_ok=True)
        git("init", "--quiet", "--bare", f"--initial-branch={default_branch}", cwd=path)
    # Like GitHub, serve blob-less partial fetches: a job's history fetch for changed files needs trees only.
    git("config", "uploadpack.allowFilter", "true", cwd=path)
    install_hook(path)
    return path


def install_hook(path: Path) -> None:
    hook = path / "hooks" / "post-receive"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(_HOOK.format(python=sys.executable, repo_root=str(REPO_ROOT)))
    hook.chmod(0o755)


def repositories(git_root: Path) -> list[str]:
    root = Path(git_root)
    return sorted(full_name_of(root, p) for p in root.glob("*/*.git") if (p / "HEAD").exists()) if root.exists() else []


def default_branch(path: Path) -> str:
    return git("symbolic-ref", "--short", "HEAD", cwd=path).strip()


def resolve(path: Path, ref: str) -> str | None:
    done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=path,
                          capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def commit_info(path: Path, sha: str) -> dict:
    fields = git("show", "-s", f"--format={_FORMAT}", sha, cwd=path).split("\x00")
    changes = git("diff-tree", "--root", "--no-commit-id", "--name-status", "-r", sha, cwd=path)
    added, removed, modified = [], [], []
    for line in changes.splitlines():
        status, _, name = line.partition("\t")
        {"A": added, "D": removed}.get(status[:1], modified).append(name.split("\t")[-1])
    return {"sha": fields[0], "tree": fields[1], "parents": fields[2].split(), "author_name": fields[3],
            "author_email": fields[4], "committer_name": fields[5], "committer_email": fields[6],
            "timestamp": fields[7], "message": fields[8].rstrip("\n"), "added": added, "removed": removed,
            "modified": modified}


def new_commits(path: Path, before: str, after: str, zero: str) -> list[str]:
    """The commits a push brought, oldest first (for a new branch: those not on any other branch)."""
    if after == zero:
        return []
    if before == zero:
        others = [ref for ref in git("for-each-ref", "--format=%(refname)", "refs/heads", cwd=path).split()
                  if resolve(path, ref) != after]
        return git("rev-list", "--reverse", after, *[f"^{ref}" for ref in others], cwd=path).split()[-20:]
    return git("rev-list", "--reverse", f"{before}..{after}", cwd=path).split()[-20:]


def is_ancestor(path: Path, ancestor: str, descendant: str) -> bool:
    """Whether `ancestor` is reachable from `descendant` (a commit is its own ancestor)."""
    done = subprocess.run(["git", "merge-base", "--is-ancestor", ancestor, descendant], cwd=path,
                          capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise GitError(f"git merge-base --is-ancestor {ancestor} {descendant}: {done.stderr.strip()}")
    return done.returncode == 0


def compare(path: Path, base: str, head: str) -> dict | None:
    """What GitHub's compare API says of `head` against `base`: status (ahead: head has commits base
    lacks; behind: the other way; identical; diverged: both), counts, the merge base and the commits
    base lacks, oldest first. None when the two have no common ancestor (GitHub answers 404)."""
    done = subprocess.run(["git", "merge-base", base, head], cwd=path, capture_output=True, text=True)
    if done.returncode != 0:
        return None
    merge_base = done.stdout.strip()
    ahead = int(git("rev-list", "--count", f"{base}..{head}", cwd=path))
    behind = int(git("rev-list", "--count", f"{head}..{base}", cwd=path))
    status = ("identical" if not ahead and not behind else "ahead" if not behind
              else "behind" if not ahead else "diverged")
    commits = git("rev-list", "--reverse", f"{base}..{head}", cwd=path).split()
    return {"status": status, "ahead_by": ahead, "behind_by": behind, "merge_base": merge_base, "commits": commits}

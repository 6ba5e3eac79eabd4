"""Which projects a pull request or a push touches, from Git itself.

The changed paths come from `git diff --name-only -z --no-renames` between a pull request's merge base
and its head, or a push's `before` and `after`: no API is asked, so there is no cap on the number of
files (GitHub's lists stop at 300). `--no-renames` lists a moved file under its old path and its new
one, so moving a file out of a project touches that project too.

When the changes cannot be known, every project is touched, and the result says why: a push with no
`before` (all zeros: a new branch), a `before` the checkout does not have, or one that is not an
ancestor of `after` (a force push: what was replaced is not in `after`'s history). The checkout must
hold the history between the two commits: the job's depth-1 checkout does not, so a job calls
`fetch_changes`, which fetches it first (`executor.checkout.fetch_history`: commits and trees, no blobs
where the remote allows) and then asks the same questions.

A project is touched by a changed path matching one of its `when_modified` globs (relative to its
dir; `executor.globs`), or
lying inside one of the local module dirs it calls. A path inside a project nested in another's dir
(`stacks/dns` under the root) touches the nested one only, unless it is one of the outer project's
modules. A project whose dir is gone from the checkout is reported as removed, not touched: nothing
is planned or destroyed for it without an explicit request.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from chalicelib.core.job import JobErrorClass
from executor.checkout import fetch_history
from executor.failures import JobFailure
from executor.globs import from_project, glob_matches
from executor.projects import Project

_NO_COMMIT = re.compile(r"^0+$")
_GIT_TIMEOUT = 120


@dataclass(frozen=True)
class Changes:
    """The paths changed (relative to the repository root, POSIX), or every project with the reason."""

    paths: tuple[str, ...]
    all_projects: bool = False
    reason: str = ""


@dataclass(frozen=True)
class Touched:
    """Project names, each sorted: what to plan, what is gone, and what nobody touched."""

    touched: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: tuple[str, ...]
    all_projects: bool = False
    reason: str = ""


def pull_request_changes(repo: Path, base: str, head: str, env: dict[str, str] | None = None) -> Changes:
    """What a pull request changes: from the merge base of its base branch's commit and its head, so
    commits that landed on the base branch since are not counted as the pull request's."""
    found = _git(repo, env, "merge-base", base, head)
    if found.returncode != 0:
        return Changes((), True, f"no merge base of {base[:12]} and {head[:12]} in the checkout, so every "
                                 "project is planned")
    return Changes(_diff(repo, env, found.stdout.decode().strip(), head))


def push_changes(repo: Path, before: str, after: str, env: dict[str, str] | None = None) -> Changes:
    """What a push changes, from `before` to `after` (the push event's fields)."""
    if _NO_COMMIT.match(before or "0"):
        return Changes((), True, "the push created the branch (no commit before it), so every project is planned")
    if _git(repo, env, "cat-file", "-e", f"{before}^{{commit}}").returncode != 0:
        return Changes((), True, f"the commit before the push ({before[:12]}) is not in the checkout, so every "
                                 "project is planned")
    if _git(repo, env, "merge-base", "--is-ancestor", before, after).returncode != 0:
        return Changes((), True, f"a force push: {before[:12]} is not an ancestor of {after[:12]}, so every "
                                 "project is planned")
    return Changes(_diff(repo, env, before, after))


def fetch_changes(repo: Path, clone_url: str, env: dict[str, str], timeout: float, *, head: str,
                  base: str | None = None, before: str | None = None) -> Changes:
    """What the checked-out commit `head` changes, fetching the history it takes from `clone_url`
    first: give `base` (the pull request's base branch or its sha) for a pull request, `before` (the
    push event's) for a push. A base or `before` the repository no longer has plans every project."""
    if before is not None and _NO_COMMIT.match(before or "0"):
        return push_changes(repo, before, head, env)  # nothing to fetch: a new branch
    history = fetch_history(clone_url, repo, env, timeout, sha=head, base=base, before=before)
    if base is not None:
        if history.base is None:
            return Changes((), True, f"the base branch {base} could not be fetched from the repository, so every "
                                     "project is planned")
        return pull_request_changes(repo, history.base, head, env)
    if not history.before:
        return Changes((), True, f"the commit before the push ({before[:12]}) is no longer in the repository "
                                 "(force-pushed away or deleted), so every project is planned")
    return push_changes(repo, before, head, env)


def touched_projects(projects: Iterable[Project], changes: Changes, checkout: Path) -> Touched:
    """Which of `projects` `changes` touches. Pass the projects as they were before the change too
    (from the base commit) to learn which were removed."""
    projects = sorted({p.name: p for p in projects}.values(), key=lambda p: p.name)
    removed = [p for p in projects if not (Path(checkout) / p.dir).is_dir()]
    present = [p for p in projects if p not in removed]
    if changes.all_projects:
        touched = present
    else:
        touched = [p for p in present if any(_touches(p, path, present) for path in changes.paths)]
    return Touched(tuple(p.name for p in touched), tuple(p.name for p in removed),
                   tuple(p.name for p in present if p not in touched), changes.all_projects, changes.reason)


def _touches(project: Project, path: str, projects: list[Project]) -> bool:
    if any(path.startswith(f"{module}/") for module in project.module_dirs):
        return True
    nested = [p for p in projects if p is not project and _under(p.dir, project.dir) and _under(path, p.dir)]
    return not nested and any(glob_matches(from_project(project.dir, g), path) for g in project.when_modified)


def _under(path: str, directory: str) -> bool:
    return (directory == "." and path != ".") or path.startswith(f"{directory}/")


def _diff(repo: Path, env: dict[str, str] | None, old: str, new: str) -> tuple[str, ...]:
    result = _git(repo, env, "diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", old, new, "--")
    if result.returncode != 0:
        raise JobFailure(JobErrorClass.CHECKOUT_FAILED, f"finding the files changed from {old[:12]} to {new[:12]}: "
                         f"{result.stderr.decode(errors='replace').strip()[-2000:]}")
    return tuple(sorted(p for p in result.stdout.decode(errors="surrogateescape").split("\0") if p))


def _git(repo: Path, env: dict[str, str] | None, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repo), *args], env=env if env is not None else dict(os.environ),
                          capture_output=True, timeout=_GIT_TIMEOUT, stdin=subprocess.DEVNULL)

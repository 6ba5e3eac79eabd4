"""What the audit trail in the state directory's repositories says is deployed.

The trail (branch `tfpipe-audit` of each bare repository under `<state-dir>/git/`) survives a restart
of the embedded stack; the AWS side (moto: resources, Terraform state, runs, locks) does not. So on a
fresh start every environment the trail still calls deployed is gone, and `tfpipe local up` says so.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from chalicelib.adapters.audit_git import GitAuditLog
from chalicelib.core.audit import AUDIT_BRANCH, in_time_order, last_good_commit
from tfpipe.local.github import git_repos


def environments_in_trail(git_root: Path, repository: str) -> list[str]:
    """The environments the trail has records for (its `audit/<environment>/` directories)."""
    done = subprocess.run(["git", "--git-dir", str(git_repos.repository_path(git_root, repository)), "ls-tree",
                           "--name-only", f"refs/heads/{AUDIT_BRANCH}", "audit/"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:  # no trail yet
        return []
    return sorted(line.removeprefix("audit/") for line in done.stdout.splitlines() if line.startswith("audit/"))


def deployed_environments(git_root: Path) -> dict[str, list[tuple[str, str | None]]]:
    """repository -> [(environment, the commit it was last left running cleanly, if any)], for every
    environment whose trail does not end in a successful destroy."""
    trail = GitAuditLog(git_root)
    found: dict[str, list[tuple[str, str | None]]] = {}
    for repository in git_repos.repositories(git_root):
        for environment in environments_in_trail(git_root, repository):
            records = in_time_order(trail.history(repository, environment))
            if records and (records[-1].action, records[-1].result) != ("destroy", "destroyed"):
                found.setdefault(repository, []).append((environment, last_good_commit(records)))
    return found

"""What the pipeline posts to GitHub (comments, commit statuses, deployments) and the pull requests
the CLI opens, kept in `<state-dir>/github/state.json`; collaborator permissions in
`<state-dir>/github/permissions.json` ({"owner/name" or "*": {"login": "admin|write|read|none"}}).

The stack process (the REST API) and the CLI (`tfpipe pr ...`) both write, so every change is a
read-modify-write under an exclusive file lock, written atomically.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PERMISSIONS = ("admin", "maintain", "write", "triage", "read", "none")


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _empty() -> dict:
    return {"next_id": 1000, "repos": {}}


def _empty_repo() -> dict:
    return {"next_number": 1, "pulls": {}, "comments": {}, "statuses": [], "deployments": {}}


class GitHubStore:
    def __init__(self, state_dir: Path):
        self.root = Path(state_dir) / "github"
        self.path = self.root / "state.json"
        self.permissions_path = self.root / "permissions.json"

    @contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _load(self) -> dict:
        return json.loads(self.path.read_text()) if self.path.exists() else _empty()

    @contextmanager
    def change(self, repository: str) -> Iterator[tuple[dict, callable]]:
        """Yields (the repository's record, a function handing out new ids), saved on exit."""
        with self._locked(exclusive=True):
            data = self._load()
            repo = data["repos"].setdefault(repository, _empty_repo())

            def new_id() -> int:
                data["next_id"] += 1
                return data["next_id"]

            yield repo, new_id
            staging = self.path.with_suffix(".tmp")
            staging.write_text(json.dumps(data, indent=1, sort_keys=True))
            os.replace(staging, self.path)

    def read(self, repository: str) -> dict:
        with self._locked(exclusive=False):
            return self._load()["repos"].get(repository, _empty_repo())

    # -- permissions ----------------------------------------------------------------------------
    def permission(self, repository: str, login: str) -> str:
        table = json.loads(self.permissions_path.read_text()) if self.permissions_path.exists() else {}
        for scope in (repository, "*"):
            found = table.get(scope, {}).get(login)
            if found:
                return found
        return "admin" if login == repository.split("/", 1)[0] else "read"

    def set_permission(self, repository: str, login: str, permission: str) -> None:
        if permission not in PERMISSIONS:
            raise ValueError(f"setting {login}'s permission on {repository}: {permission!r} is not one of {PERMISSIONS}")
        with self._locked(exclusive=True):
            table = json.loads(self.permissions_path.read_text()) if self.permissions_path.exists() else {}
            table.setdefault(repository, {})[login] = permission
            self.permissions_path.write_text(json.dumps(table, indent=1, sort_keys=True))

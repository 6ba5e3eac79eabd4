"""The audit trail in a local bare Git repository (the embedded stack): one JSON file per record, one
commit per record, on branch `tfpipe-audit` of `<root>/<owner>/<name>.git`.

Written with plumbing only, never a worktree: the record becomes a blob, a private index (a temp
file) puts it into the branch's tree, commit-tree makes the commit, and update-ref moves the branch
only if it still points where we read it (compare-and-swap). A writer that lost the race reads the
new tip and tries again, so concurrent writers never lose a record and history stays linear.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import tempfile
import time
from pathlib import Path

from chalicelib.core.audit import AUDIT_BRANCH, AuditRecord, last_good_commit
from chalicelib.core.errors import DependencyFailed, NotFound

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_ZERO = "0" * 40
MAX_ATTEMPTS = 60


class GitAuditLog:
    def __init__(self, root: str | Path, branch: str = AUDIT_BRANCH, committer: str = "tfpipe",
                 committer_email: str = "tfpipe@localhost"):
        self._root = Path(root)
        self._ref = f"refs/heads/{branch}"
        self._identity = {"GIT_COMMITTER_NAME": committer, "GIT_COMMITTER_EMAIL": committer_email}

    # -- AuditLog --------------------------------------------------------------------------------

    def append(self, record: AuditRecord) -> None:
        doing = f"recording {record.action} of {record.sha[:7]} to {record.environment} in the audit trail"
        repo = self._repo(record.repository, doing)
        _check_name(record.environment, "environment", doing)
        blob = self._git(repo, doing, "hash-object", "-w", "--stdin", input=record.to_json())
        for attempt in range(MAX_ATTEMPTS):
            old = self._tip(repo, doing)
            if old and self._blob_at(repo, old, record.path) == blob:
                return  # this very record is already there (a retried task): nothing to add
            tree = self._tree_with(repo, old, record.path, blob, doing)
            parents = ["-p", old] if old else []
            commit = self._git(repo, doing, "commit-tree", tree, *parents, "-F", "-",
                               input=record.commit_text, env=self._author(record))
            if self._move_tip(repo, commit, old):
                return
            time.sleep(random.uniform(0.0, 0.01 * (attempt + 1)))  # jitter, not crypto
        raise DependencyFailed(f"{doing}: the branch kept moving; gave up after {MAX_ATTEMPTS} attempts")

    def history(self, repository: str, environment: str) -> list[AuditRecord]:
        """The environment's records in the order they were appended."""
        doing = f"reading the audit trail of {environment} in {repository}"
        repo = self._repo(repository, doing)
        _check_name(environment, "environment", doing)
        tip = self._tip(repo, doing)
        if tip is None:
            return []
        listing = self._git(repo, doing, "log", "--reverse", "--format=", "--name-only", "--diff-filter=A",
                            tip, "--", f"audit/{environment}/")
        paths = [p for p in listing.splitlines() if p.endswith(".json")]
        return [AuditRecord.from_json(text) for text in self._read_blobs(repo, tip, paths, doing)]

    def last_good_commit(self, repository: str, environment: str) -> str | None:
        return last_good_commit(self.history(repository, environment))

    # -- git -------------------------------------------------------------------------------------

    def _repo(self, repository: str, doing: str) -> Path:
        owner, _, name = repository.partition("/")
        _check_name(owner, "repository owner", doing)
        _check_name(name, "repository name", doing)
        path = self._root / owner / f"{name}.git"
        if not path.is_dir():
            raise NotFound(f"{doing}: no repository {repository} under the local Git root")
        return path

    def _git(self, repo: Path, doing: str, *args: str, input: str | None = None, env: dict | None = None,
             check: bool = True) -> str:
        done = subprocess.run(["git", "--git-dir", str(repo), *args], input=input, capture_output=True, text=True,
                              env={**os.environ, **self._identity, **(env or {})}, check=False)
        if check and done.returncode != 0:
            raise DependencyFailed(f"{doing}: git {args[0]} failed: {done.stderr.strip()[:300]}")
        return done.stdout.strip() if check else done.stdout

    def _tip(self, repo: Path, doing: str) -> str | None:
        done = subprocess.run(["git", "--git-dir", str(repo), "rev-parse", "--verify", "-q", f"{self._ref}^{{commit}}"],
                              capture_output=True, text=True, check=False)
        return done.stdout.strip() or None

    def _blob_at(self, repo: Path, commit: str, path: str) -> str | None:
        done = subprocess.run(["git", "--git-dir", str(repo), "rev-parse", "--verify", "-q", f"{commit}:{path}"],
                              capture_output=True, text=True, check=False)
        return done.stdout.strip() or None

    def _tree_with(self, repo: Path, base: str | None, path: str, blob: str, doing: str) -> str:
        with tempfile.TemporaryDirectory(prefix="tfpipe-audit-") as tmp:
            index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if base:
                self._git(repo, doing, "read-tree", base, env=index)
            self._git(repo, doing, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=index)
            return self._git(repo, doing, "write-tree", env=index)

    def _move_tip(self, repo: Path, commit: str, old: str | None) -> bool:
        """Compare-and-swap: False when another writer moved (or is moving) the branch first."""
        done = subprocess.run(["git", "--git-dir", str(repo), "update-ref", "-m", "tfpipe audit", self._ref, commit,
                               old or _ZERO], capture_output=True, text=True, check=False)
        return done.returncode == 0

    def _read_blobs(self, repo: Path, commit: str, paths: list[str], doing: str) -> list[str]:
        if not paths:
            return []
        request = "".join(f"{commit}:{p}\n" for p in paths).encode()
        done = subprocess.run(["git", "--git-dir", str(repo), "cat-file", "--batch"], input=request,
                              capture_output=True, check=False)
        if done.returncode != 0:
            raise DependencyFailed(f"{doing}: git cat-file failed: {done.stderr.decode()[:300]}")
        out, texts, pos = done.stdout, [], 0
        for path in paths:
            header_end = out.index(b"\n", pos)
            header = out[pos:header_end].decode().split()
            if len(header) != 3:
                raise DependencyFailed(f"{doing}: {path} is missing from the audit branch")
            size = int(header[2])
            texts.append(out[header_end + 1: header_end + 1 + size].decode())
            pos = header_end + 1 + size + 1
        return texts

    @staticmethod
    def _author(record: AuditRecord) -> dict:
        name, email = record.author
        return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email}


def _check_name(value: str, what: str, doing: str) -> None:
    if not _NAME.match(value or "") or ".." in value or value.endswith((".lock", ".git")):
        raise NotFound(f"{doing}: {what} {value!r} cannot name a path in the audit trail")


"""The audit trail through GitHub's Git Data API (PyGithub): the same branch, files and commits as the
local Git writer, made from blobs, trees and commits, and published by moving the branch with
`force=False`. GitHub refuses a move that is not a fast-forward (422) when another writer got there
first; then the record is rebuilt on the new tip and tried again, so nothing is lost.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from chalicelib.core.audit import AUDIT_BRANCH, AuditRecord, in_time_order, last_good_commit
from chalicelib.core.errors import DependencyFailed, NotFound

MAX_ATTEMPTS = 10


class GitHubAuditLog:
    def __init__(self, github: Callable[[], object], branch: str = AUDIT_BRANCH, sleep=time.sleep):
        self._github = github  # returns a github.Github client (token fetched by name, never logged)
        self._branch = branch
        self._sleep = sleep

    def append(self, record: AuditRecord) -> None:
        from github import GithubException, InputGitAuthor, InputGitTreeElement

        doing = f"recording {record.action} of {record.sha[:7]} to {record.environment} in the audit trail"
        repo = self._repo(record.repository, doing)
        try:
            blob = repo.create_git_blob(record.to_json(), "utf-8")
            author = InputGitAuthor(*record.author)
            for attempt in range(MAX_ATTEMPTS):
                ref = self._ref(repo)
                if ref is not None and self._blob_at(repo, ref.object.sha, record.path) == blob.sha:
                    return  # this very record is already there (a retried task): nothing to add
                parents = [repo.get_git_commit(ref.object.sha)] if ref else []
                element = InputGitTreeElement(record.path, "100644", "blob", sha=blob.sha)
                tree = (repo.create_git_tree([element], base_tree=parents[0].tree) if parents
                        else repo.create_git_tree([element]))
                commit = repo.create_git_commit(record.commit_text, tree, parents, author=author)
                try:
                    if ref is None:
                        repo.create_git_ref(f"refs/heads/{self._branch}", commit.sha)
                    else:
                        ref.edit(commit.sha, force=False)
                    return
                except GithubException as exc:
                    if exc.status != 422:  # 422: not a fast-forward, or the branch was just created
                        raise
                self._sleep(random.uniform(0.05, 0.2 * (attempt + 1)))  # jitter, not crypto
        except GithubException as exc:
            raise DependencyFailed(f"{doing}: GitHub answered {exc.status}") from exc
        raise DependencyFailed(f"{doing}: the branch kept moving; gave up after {MAX_ATTEMPTS} attempts")

    def history(self, repository: str, environment: str) -> list[AuditRecord]:
        from github import GithubException

        doing = f"reading the audit trail of {environment} in {repository}"
        repo = self._repo(repository, doing)
        try:
            ref = self._ref(repo)
            if ref is None:
                return []
            prefix = f"audit/{environment}/"
            tree = repo.get_git_tree(ref.object.sha, recursive=True)
            paths = sorted((e.path, e.sha) for e in tree.tree if e.type == "blob" and e.path.startswith(prefix))
            records = [AuditRecord.from_json(_decode(repo.get_git_blob(sha))) for _, sha in paths]
        except GithubException as exc:
            raise DependencyFailed(f"{doing}: GitHub answered {exc.status}") from exc
        return in_time_order(records)

    def last_good_commit(self, repository: str, environment: str) -> str | None:
        return last_good_commit(self.history(repository, environment))

    def _repo(self, repository: str, doing: str):
        from github import GithubException, UnknownObjectException

        try:
            return self._github().get_repo(repository)
        except UnknownObjectException:
            raise NotFound(f"{doing}: no repository {repository} on GitHub") from None
        except GithubException as exc:
            raise DependencyFailed(f"{doing}: GitHub answered {exc.status}") from exc

    @staticmethod
    def _blob_at(repo, commit: str, path: str) -> str | None:
        from github import UnknownObjectException

        try:
            return repo.get_contents(path, ref=commit).sha
        except UnknownObjectException:
            return None

    def _ref(self, repo):
        from github import UnknownObjectException

        try:
            return repo.get_git_ref(f"heads/{self._branch}")
        except UnknownObjectException:
            return None


def _decode(blob) -> str:
    import base64

    if blob.encoding == "base64":
        return base64.b64decode(blob.content).decode()
    return blob.content

"""GitHub through PyGithub: permissions, commits, comments, statuses, deployments.

PyGithub is imported on first use (it costs a cold start ~100 ms otherwise). `base_url` comes from
settings: api.github.com in AWS, the embedded stack's stand-in locally, so the same adapter serves
both. The token is read from Secrets Manager by name and never logged.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from chalicelib.core.errors import DependencyFailed, NotFound
from chalicelib.ports import AssociatedPullRequest

SHA = re.compile(r"^[0-9a-f]{40}$")
PULL_HEAD = re.compile(r"^refs/pull/(\d+)/head$")


class GitHubVcs:
    def __init__(self, token: Callable[[], str], base_url: str, local_git_root: str = "",
                 seconds_between_writes: float = 1.0):
        self._token = token
        self._seconds_between_writes = seconds_between_writes
        self._base_url = base_url.rstrip("/")
        self._local_git_root = local_git_root.rstrip("/")
        self._client = None
        self._lock = threading.Lock()

    def client(self):
        """The PyGithub client, for adapters that speak more of GitHub's API (the audit trail)."""
        return self._github()

    def _github(self):
        with self._lock:
            if self._client is None:
                from github import Auth, Github, GithubRetry

                self._client = Github(auth=Auth.Token(self._token()), base_url=self._base_url, timeout=10,
                                      retry=GithubRetry(total=3, backoff_factor=0.2), lazy=True,
                                      seconds_between_writes=self._seconds_between_writes)
            return self._client

    def _repo(self, repository: str):
        return self._github().get_repo(repository)

    def _call(self, doing: str, fn, missing: frozenset[int] = frozenset({404})):
        from github import GithubException

        try:
            return fn()
        except GithubException as exc:
            if exc.status in missing:
                raise NotFound(f"{doing}: not found on GitHub") from exc
            raise DependencyFailed(f"{doing}: GitHub answered {exc.status}") from exc

    # -- Vcs ------------------------------------------------------------------------------------------

    def permission(self, repository: str, user: str) -> str:
        return self._call(f"asking GitHub for {user}'s permission on {repository}",
                          lambda: self._repo(repository).get_collaborator_permission(user))

    def resolve_commit(self, repository: str, ref: str) -> str:
        if SHA.match(ref):
            return ref
        pull = PULL_HEAD.match(ref)
        if pull:
            return self._call(f"resolving the head of pull request #{pull.group(1)} of {repository}",
                              lambda: self._repo(repository).get_pull(int(pull.group(1))).head.sha)
        name = ref.removeprefix("refs/")
        # raw_data, not .sha: a lazy Commit answers .sha from its URL (the branch name) without asking.
        # GitHub answers 422 "No commit found for SHA" for a ref that does not exist.
        return self._call(f"resolving {ref} of {repository}",
                          lambda: self._repo(repository).get_commit(name).raw_data["sha"], missing=frozenset({404, 422}))

    def default_branch(self, repository: str) -> str:
        return self._call(f"asking GitHub for the default branch of {repository}",
                          lambda: self._repo(repository).default_branch)

    def clone_url(self, repository: str) -> str:
        if self._local_git_root:
            return f"file://{self._local_git_root}/{repository}.git"
        return f"https://github.com/{repository}.git"

    def pull_requests_of_commit(self, repository: str, sha: str) -> list[AssociatedPullRequest]:
        def listed():  # merged_at, not .merged: the list's pull-request-simple shape has no `merged`
            return [AssociatedPullRequest(p.number, p.user.login, p.merged_at is not None, p.merge_commit_sha)
                    for p in self._repo(repository).get_commit(sha).get_pulls()]
        return self._call(f"listing the pull requests of commit {sha[:7]} of {repository}", listed,
                          missing=frozenset({404, 422}))

    def compare(self, repository: str, base: str, head: str) -> str:
        return self._call(f"comparing {head[:7]} with {base[:7]} in {repository}",
                          lambda: self._repo(repository).compare(base, head).status)

    def post_comment(self, repository: str, pull_request: int, body: str) -> int:
        return self._call(f"commenting on pull request #{pull_request} of {repository}",
                          lambda: self._repo(repository).get_issue(pull_request).create_comment(body).id)

    def upsert_comment(self, repository: str, pull_request: int, marker: str, bodies: list[str]) -> list[int]:
        """Keep one comment (or one per part) carrying `marker`: edit in place, add or delete parts."""
        def upsert():
            issue = self._repo(repository).get_issue(pull_request)
            existing = [c for c in issue.get_comments() if marker in (c.body or "")]
            ids = []
            for index, body in enumerate(bodies):
                if index < len(existing):
                    if existing[index].body != body:
                        existing[index].edit(body)
                    ids.append(existing[index].id)
                else:
                    ids.append(issue.create_comment(body).id)
            for extra in existing[len(bodies):]:
                extra.delete()
            return ids
        return self._call(f"updating the tfpipe comment on pull request #{pull_request} of {repository}", upsert)

    def set_commit_status(self, repository: str, sha: str, context: str, state: str,
                          description: str, target_url: str | None = None) -> None:
        from github.GithubObject import NotSet

        self._call(f"setting commit status {context} on {sha[:7]} of {repository}",
                   lambda: self._repo(repository).get_commit(sha).create_status(
                       state=state, target_url=target_url or NotSet, description=description[:140],
                       context=context))

    def create_deployment(self, repository: str, sha: str, environment: str, transient: bool,
                          description: str) -> int:
        return self._call(f"creating a deployment of {sha[:7]} to {environment} in {repository}",
                          lambda: self._repo(repository).create_deployment(
                              ref=sha, environment=environment, transient_environment=transient,
                              production_environment=not transient, auto_merge=False, required_contexts=[],
                              description=description[:140]).id)

    def deployment_ids(self, repository: str, environment: str) -> list[int]:
        return self._call(f"listing the deployments to {environment} in {repository}",
                          lambda: [d.id for d in self._repo(repository).get_deployments(environment=environment)])

    def set_deployment_status(self, repository: str, deployment_id: int, state: str,
                              environment_url: str | None = None, description: str = "") -> None:
        from github.GithubObject import NotSet

        self._call(f"setting deployment {deployment_id} of {repository} to {state}",
                   lambda: self._repo(repository).get_deployment(deployment_id).create_status(
                       state=state, environment_url=environment_url or NotSet, description=description[:140]))

"""In-memory twins of adapters for what cannot run here (GitHub's API). Tests that use one say so in
their name (`..._with_github_twin`). Shared by several test packages: extend additively."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from chalicelib.core.errors import DependencyFailed, NotFound


@dataclass
class TwinComment:
    id: int
    repository: str
    pull_request: int
    body: str


@dataclass
class GitHubTwin:
    """Implements chalicelib.ports.Vcs in memory: permissions, refs, comments, statuses, deployments."""

    permissions: dict[tuple[str, str], str] = field(default_factory=dict)  # (repo, user) -> permission
    refs: dict[tuple[str, str], str] = field(default_factory=dict)  # (repo, ref) -> sha
    default_branches: dict[str, str] = field(default_factory=dict)  # repo -> branch; "main" when unlisted
    comments: list[TwinComment] = field(default_factory=list)
    statuses: list[dict] = field(default_factory=list)
    deployments: list[dict] = field(default_factory=list)
    deployment_statuses: list[dict] = field(default_factory=list)
    permission_calls: int = 0
    unknown_users: set[str] = field(default_factory=set)  # logins GitHub answers 404 for
    fail_next: int = 0  # answer this many calls with a 5xx-like failure, then recover
    pulls_of_commits: dict[tuple[str, str], list] = field(default_factory=dict)  # (repo, sha) -> AssociatedPullRequest
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def _maybe_fail(self, doing: str) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise DependencyFailed(f"{doing}: GitHub answered 502")

    def permission(self, repository: str, user: str) -> str:
        self.permission_calls += 1
        self._maybe_fail("asking for a permission")
        if user in self.unknown_users:
            raise NotFound(f"asking for {user}'s permission on {repository}: not found")
        return self.permissions.get((repository, user), "none")

    def resolve_commit(self, repository: str, ref: str) -> str:
        if len(ref) == 40 and all(c in "0123456789abcdef" for c in ref):
            return ref
        try:
            return self.refs[(repository, ref)]
        except KeyError:
            raise NotFound(f"resolving {ref} of {repository}: not found") from None

    def default_branch(self, repository: str) -> str:
        return self.default_branches.get(repository, "main")

    def clone_url(self, repository: str) -> str:
        return f"https://github.com/{repository}.git"

    def pull_requests_of_commit(self, repository: str, sha: str) -> list:
        self._maybe_fail("listing the pull requests of a commit")
        return list(self.pulls_of_commits.get((repository, sha), []))

    def post_comment(self, repository: str, pull_request: int, body: str) -> int:
        self._maybe_fail("commenting")
        comment = TwinComment(next(self._ids), repository, pull_request, body)
        self.comments.append(comment)
        return comment.id

    def upsert_comment(self, repository: str, pull_request: int, marker: str, bodies: list[str]) -> list[int]:
        self._maybe_fail("updating a comment")
        existing = [c for c in self.comments
                    if c.repository == repository and c.pull_request == pull_request and marker in c.body]
        ids = []
        for index, body in enumerate(bodies):
            if index < len(existing):
                existing[index].body = body
                ids.append(existing[index].id)
            else:
                ids.append(self.post_comment(repository, pull_request, body))
        for extra in existing[len(bodies):]:
            self.comments.remove(extra)
        return ids

    def set_commit_status(self, repository, sha, context, state, description, target_url=None) -> None:
        self._maybe_fail("setting a status")
        self.statuses.append({"repository": repository, "sha": sha, "context": context, "state": state,
                              "description": description, "target_url": target_url})

    def create_deployment(self, repository, sha, environment, transient, description) -> int:
        self._maybe_fail("creating a deployment")
        deployment_id = next(self._ids)
        self.deployments.append({"id": deployment_id, "repository": repository, "sha": sha,
                                 "environment": environment, "transient": transient, "description": description})
        return deployment_id

    def deployment_ids(self, repository, environment) -> list[int]:
        self._maybe_fail("listing deployments")
        return [d["id"] for d in reversed(self.deployments)
                if d["repository"] == repository and d["environment"] == environment]

    def set_deployment_status(self, repository, deployment_id, state, environment_url=None, description="") -> None:
        self._maybe_fail("setting a deployment status")
        self.deployment_statuses.append({"repository": repository, "deployment_id": deployment_id, "state": state,
                                         "environment_url": environment_url, "description": description})

    def comments_on(self, repository: str, pull_request: int) -> list[str]:
        return [c.body for c in self.comments if c.repository == repository and c.pull_request == pull_request]

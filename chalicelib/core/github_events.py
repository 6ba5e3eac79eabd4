"""GitHub webhook payloads become typed events here, at the edge; raw dicts go no deeper.

Only the fields the pipeline uses are read. A payload missing one of them is an InvalidRequest that
names the field, never a KeyError.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from chalicelib.core.errors import FieldError, InvalidRequest

ZERO_SHA = "0" * 40


@dataclass(frozen=True)
class Actor:
    login: str
    user_id: int

    @property
    def email(self) -> str:
        """GitHub's no-reply address: an actor identity that needs no extra API call."""
        return f"{self.user_id}+{self.login}@users.noreply.github.com"


@dataclass(frozen=True)
class PingEvent:
    repository: str | None


@dataclass(frozen=True)
class PushEvent:
    repository: str
    default_branch: str
    ref: str
    before: str
    after: str
    deleted: bool
    pusher_email: str | None
    sender: Actor
    commit_authors: tuple[str, ...] = ()  # logins and emails of commits[] and head_commit: may not approve

    @property
    def branch(self) -> str | None:
        return self.ref.removeprefix("refs/heads/") if self.ref.startswith("refs/heads/") else None


@dataclass(frozen=True)
class PullRequestEvent:
    repository: str
    action: str
    number: int
    head_sha: str
    draft: bool
    merged: bool
    sender: Actor
    author: str  # pull_request.user.login: who opened it, whose code the head is
    head_repository: str | None  # pull_request.head.repo.full_name; null when the fork was deleted

    @property
    def from_fork(self) -> bool:
        """The head lives in another repository (a fork, or one deleted since): whoever can push there
        need not be a collaborator of this one."""
        return self.head_repository is None or self.head_repository.lower() != self.repository.lower()


@dataclass(frozen=True)
class IssueCommentEvent:
    repository: str
    action: str
    number: int
    on_pull_request: bool
    body: str
    comment_id: int
    sender: Actor
    issue_author: str = ""  # issue.user.login: on a pull request, who opened it


@dataclass(frozen=True)
class PullRequestReviewEvent:
    """pull_request_review: a review of `commit_id`, which need not be the pull request's head any more."""

    repository: str
    action: str  # submitted | edited | dismissed
    number: int
    state: str  # review.state: approved | changes_requested | commented | dismissed
    commit_id: str  # review.commit_id: the commit the reviewer saw
    head_sha: str  # pull_request.head.sha: the head when GitHub sent the event
    open: bool  # pull_request.state == "open"
    sender: Actor  # review.user: who reviewed (GitHub sends the reviewer as the sender too)


@dataclass(frozen=True)
class DispatchEvent:
    """repository_dispatch or workflow_dispatch from GitHub Actions; `request` is still untrusted."""

    kind: str
    repository: str
    action: str | None
    request: object  # the PipelineRequest JSON, validated by the caller
    sender: Actor


@dataclass(frozen=True)
class OtherEvent:
    name: str
    repository: str | None


GitHubEvent = (PingEvent | PushEvent | PullRequestEvent | IssueCommentEvent | PullRequestReviewEvent | DispatchEvent
               | OtherEvent)
DISPATCH_ACTION = "tfpipe"  # repository_dispatch event_type, workflow_dispatch input name carrying the request


class _Reader:
    """Reads dotted paths out of an untrusted payload, collecting what is missing or mistyped."""

    def __init__(self, payload: dict, event: str):
        self.payload = payload
        self.event = event
        self.errors: list[FieldError] = []

    def get(self, path: str, kind: type | tuple[type, ...], optional: bool = False):
        node: object = self.payload
        for key in path.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        if node is None and optional:
            return None
        if not isinstance(node, kind) or (kind is int and isinstance(node, bool)):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            self.errors.append(FieldError(path, node, f"{names} in a GitHub {self.event} payload"))
            return None
        return node

    def actor(self) -> Actor:
        return Actor(self.get("sender.login", str) or "", self.get("sender.id", int) or 0)

    def done(self) -> None:
        if self.errors:
            raise InvalidRequest(f"reading the {self.event} webhook payload", self.errors)


def parse_event(name: str, payload: object) -> GitHubEvent:
    if not isinstance(payload, dict):
        raise InvalidRequest(f"reading the {name} webhook payload",
                             [FieldError("body", payload, "a JSON object")])
    read = _Reader(payload, name)
    parser = _PARSERS.get(name)
    if parser is None:
        repository = payload.get("repository")
        full_name = repository.get("full_name") if isinstance(repository, dict) else None
        return OtherEvent(name, full_name if isinstance(full_name, str) else None)
    event = parser(read)
    read.done()
    return event


def _ping(read: _Reader) -> PingEvent:
    return PingEvent(read.get("repository.full_name", str, optional=True))


def _push(read: _Reader) -> PushEvent:
    return PushEvent(
        repository=read.get("repository.full_name", str), default_branch=read.get("repository.default_branch", str),
        ref=read.get("ref", str), before=read.get("before", str), after=read.get("after", str),
        deleted=bool(read.get("deleted", bool, optional=True)),
        pusher_email=read.get("pusher.email", str, optional=True), sender=read.actor(),
        commit_authors=_commit_authors(read.payload),
    )


def _commit_authors(payload: dict) -> tuple[str, ...]:
    """The GitHub logins (when GitHub linked the commit to an account) and emails of the pushed commits'
    authors; anything malformed is skipped (this list only ever refuses approvals, never grants)."""
    commits = payload.get("commits") if isinstance(payload.get("commits"), list) else []
    found = []
    for commit in [*commits, payload.get("head_commit")]:
        author = commit.get("author") if isinstance(commit, dict) else None
        if isinstance(author, dict):
            found.extend(v for v in (author.get("username"), author.get("email")) if isinstance(v, str) and v)
    return tuple(dict.fromkeys(found))


def _pull_request(read: _Reader) -> PullRequestEvent:
    return PullRequestEvent(
        repository=read.get("repository.full_name", str), action=read.get("action", str),
        number=read.get("pull_request.number", int), head_sha=read.get("pull_request.head.sha", str),
        draft=bool(read.get("pull_request.draft", bool, optional=True)),
        merged=bool(read.get("pull_request.merged", bool, optional=True)), sender=read.actor(),
        author=read.get("pull_request.user.login", str) or "",
        head_repository=read.get("pull_request.head.repo.full_name", str, optional=True),
    )


def _issue_comment(read: _Reader) -> IssueCommentEvent:
    return IssueCommentEvent(
        repository=read.get("repository.full_name", str), action=read.get("action", str),
        number=read.get("issue.number", int),
        on_pull_request=read.get("issue.pull_request", dict, optional=True) is not None,
        body=read.get("comment.body", str, optional=True) or "", comment_id=read.get("comment.id", int),
        sender=read.actor(), issue_author=read.get("issue.user.login", str, optional=True) or "",
    )


def _pull_request_review(read: _Reader) -> PullRequestReviewEvent:
    return PullRequestReviewEvent(
        repository=read.get("repository.full_name", str), action=read.get("action", str),
        number=read.get("pull_request.number", int), state=(read.get("review.state", str) or "").lower(),
        commit_id=read.get("review.commit_id", str), head_sha=read.get("pull_request.head.sha", str),
        open=read.get("pull_request.state", str) == "open",
        sender=Actor(read.get("review.user.login", str) or "", read.get("review.user.id", int) or 0),
    )


def _repository_dispatch(read: _Reader) -> DispatchEvent:
    return DispatchEvent("repository_dispatch", read.get("repository.full_name", str),
                         read.get("action", str, optional=True), read.payload.get("client_payload"), read.actor())


def _workflow_dispatch(read: _Reader) -> DispatchEvent:
    inputs = read.get("inputs", dict, optional=True) or {}
    request = inputs.get(DISPATCH_ACTION)
    if isinstance(request, str):  # GitHub sends every workflow input as a string: here, the request as JSON text
        try:
            request = json.loads(request)
        except ValueError:
            read.errors.append(FieldError(f"inputs.{DISPATCH_ACTION}", request, "a PipelineRequest as JSON text"))
    return DispatchEvent("workflow_dispatch", read.get("repository.full_name", str),
                         DISPATCH_ACTION if request is not None else None, request, read.actor())


_PARSERS = {
    "ping": _ping,
    "push": _push,
    "pull_request": _pull_request,
    "issue_comment": _issue_comment,
    "pull_request_review": _pull_request_review,
    "repository_dispatch": _repository_dispatch,
    "workflow_dispatch": _workflow_dispatch,
}

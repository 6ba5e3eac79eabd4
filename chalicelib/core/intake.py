"""What a webhook or dispatch asks the pipeline to do, decided without I/O.

`route()` turns a typed GitHub event into an Intent: start these runs, decide this approval, reply
with this message, ignore it (and why), or, for a pull request whose runs would run its code, one of
two intents depending on whether its author may write to the repository. Permission checks, commit
resolution and starting executions happen in `chalicelib.intake`, which acts on the intent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from chalicelib.core.comment_commands import NotACommand, UnknownCommand, Verb, parse_comment
from chalicelib.core.comments import untrusted_marker, untrusted_pull_request
from chalicelib.core.durations import TtlBounds
from chalicelib.core.errors import FieldError, InvalidRequest
from chalicelib.core.github_events import (
    DISPATCH_ACTION,
    ZERO_SHA,
    DispatchEvent,
    GitHubEvent,
    IssueCommentEvent,
    OtherEvent,
    PingEvent,
    PullRequestEvent,
    PullRequestReviewEvent,
    PushEvent,
)
from chalicelib.core.naming import ephemeral_environment
from chalicelib.core.request import PipelineRequest, RequestDefaults, parse_pipeline_request


@dataclass(frozen=True)
class Ignore:
    reason: str


@dataclass(frozen=True)
class Pong:
    pass


@dataclass(frozen=True)
class Start:
    requests: tuple[PipelineRequest, ...]
    requires_write_access: str | None = None  # a comment's author, whose permission is checked first
    pull_request: int | None = None
    write_access_for: str | None = None  # what the refusal says write access is needed for
    # Start only while this environment is up (the runs table has it); else nothing runs. A closed
    # untrusted pull request's DESTROY: with no applied commit to destroy with it would run the head.
    only_if_up: str | None = None
    # A push to the default branch: its runs belong to the pull request whose merge brought the commit
    # (GitHub's pull requests of the commit), so their plan and approval show there. None found: no PR.
    find_merged_pull_request: bool = False


@dataclass(frozen=True)
class Decide:
    """`/approve` or `/reject` on a pull request, or an approving review of its head (`sha`)."""

    repository: str
    pull_request: int
    approved: bool
    actor: str
    run_id: str | None = None
    requires_write_access: str | None = None
    sha: str | None = None  # an approving review's commit: approves the runs waiting at it


@dataclass(frozen=True)
class Reply:
    """Nothing runs; the author is told why on the pull request."""

    repository: str
    pull_request: int
    message: str
    requires_write_access: str | None = None
    marker: str | None = None  # one comment per marker: a redelivery or a twin event edits it, never adds
    answer: str | None = None  # what the webhook's answer says, when not the comment itself


@dataclass(frozen=True)
class TrustCheck:
    """A pull request event whose runs would run the head's code with credentials: `trusted` when
    its author has write access to the repository (asked of GitHub), else `untrusted`. A head in a
    fork is never trusted, so it never gets here."""

    repository: str
    author: str
    trusted: Start
    untrusted: Intent


Intent = Ignore | Pong | Start | Decide | Reply | TrustCheck


class UntrustedPullRequests(StrEnum):
    """What a pull request from a fork or from an author without write access gets
    (TFPIPE_UNTRUSTED_PRS): nothing runs either way until a writer comments `/plan` or `/ephemeral`."""

    ASK = "ask"  # one comment per head sha saying a writer's `/plan` trusts it
    IGNORE = "ignore"  # nothing said


@dataclass(frozen=True)
class RoutingPolicy:
    """The settings routing needs, passed in so this module stays pure."""

    default_environment: str
    defaults: RequestDefaults
    ttl: TtlBounds
    extra_default_branches: tuple[str, ...] = field(default=("main", "master"))
    untrusted_pull_requests: UntrustedPullRequests = UntrustedPullRequests.ASK

    @property
    def long_lived_environments(self) -> list[str]:
        """The environments declared in settings (TFPIPE_ENVIRONMENTS) and the default one."""
        names = {*self.defaults.accounts, self.default_environment}
        return sorted(n for n in names if not n.startswith("pr-"))


UNTRUSTED_ANSWER = "untrusted: "  # how the webhook's answer starts when it asked for a writer's `/plan`
PR_PLAN_ACTIONS = frozenset({"opened", "reopened", "synchronize", "ready_for_review"})


def route(event: GitHubEvent, policy: RoutingPolicy) -> Intent:
    handler = _ROUTES.get(type(event))
    if handler is None:
        return Ignore(f"{getattr(event, 'name', 'this')} events start nothing")
    return handler(event, policy)


def _request(policy: RoutingPolicy, doing: str, by: tuple[str, ...] = (), **fields) -> PipelineRequest:
    """A request from a webhook's fields; `by`: the GitHub logins that triggered it."""
    request = parse_pipeline_request({k: v for k, v in fields.items() if v is not None}, policy.defaults,
                                     policy.ttl, doing=doing)
    return request.triggered_by(*by)


def _ping(event: PingEvent, policy: RoutingPolicy) -> Intent:
    return Pong()


def _other(event: OtherEvent, policy: RoutingPolicy) -> Intent:
    return Ignore(f"{event.name} events start nothing")


def _push(event: PushEvent, policy: RoutingPolicy) -> Intent:
    if event.branch is None:
        return Ignore(f"push to {event.ref} is not a branch push (tags start nothing)")
    if event.deleted or event.after == ZERO_SHA:
        return Ignore(f"branch {event.branch} was deleted")
    if event.branch != event.default_branch:
        return Ignore(f"push to {event.branch}, not to the default branch {event.default_branch}")
    request = _request(policy, f"planning PLAN-APPLY of {event.after[:7]} on {event.repository}",
                       repository=event.repository, commit=event.after, command="apply",
                       environment=policy.default_environment,
                       user_email=event.pusher_email or event.sender.email)
    return Start((request.triggered_by(event.sender.login, commit_authors=event.commit_authors),),
                 find_merged_pull_request=True)


def _pull_request(event: PullRequestEvent, policy: RoutingPolicy) -> Intent:
    common = {"repository": event.repository, "commit": event.head_sha, "pull_request": event.number,
              "user_email": event.sender.email, "by": (event.author, event.sender.login)}
    environment = ephemeral_environment(event.number)
    if event.action == "closed":
        destroy = Start((_request(policy, f"destroying the environment of pull request #{event.number}",
                                  command="destroy", environment=environment, **common),),
                        pull_request=event.number)
        # DESTROY works at the environment's last applied commit, which only a writer's `/ephemeral`
        # can have made for an untrusted pull request; with none, it would fall back to the head.
        return _trust_check(event, destroy, replace(destroy, only_if_up=environment))
    if event.action not in PR_PLAN_ACTIONS:
        return Ignore(f"pull_request {event.action} starts nothing")
    plan = _request(policy, f"planning pull request #{event.number}", command="plan",
                    environment=policy.default_environment, **common)
    if event.draft:
        return _trust_check(event, Start((plan,), pull_request=event.number), _untrusted(event, policy))
    ephemeral = _request(policy, f"applying the ephemeral environment of pull request #{event.number}",
                         command="ephemeral", environment=environment, **common)
    return _trust_check(event, Start((plan, ephemeral), pull_request=event.number), _untrusted(event, policy))


def _trust_check(event: PullRequestEvent, trusted: Start, untrusted: Intent) -> Intent:
    """A fork's head is untrusted whoever opened it (anyone the fork lets push can move it); a head in
    the repository itself is as trusted as its author, whose permission the intake asks."""
    if event.from_fork:
        return untrusted
    return TrustCheck(event.repository, event.author, trusted, untrusted)


def _untrusted(event: PullRequestEvent, policy: RoutingPolicy) -> Intent:
    """What a pull request whose code nobody with write access vouched for gets: nothing runs."""
    if event.from_fork:
        why = f"comes from the fork {event.head_repository or '(deleted)'}"
    else:
        why = f"was opened by @{event.author}, who does not have write access to {event.repository}"
    if policy.untrusted_pull_requests is UntrustedPullRequests.IGNORE:
        return Ignore(f"pull request #{event.number} {why}; untrusted pull requests are ignored "
                      "(TFPIPE_UNTRUSTED_PRS=ignore)")
    return Reply(event.repository, event.number, untrusted_pull_request(event.repository, event.number,
                                                                        event.head_sha, why),
                 marker=untrusted_marker(event.head_sha),
                 answer=f"{UNTRUSTED_ANSWER}pull request #{event.number} {why}; nothing started: a user with write "
                        f"access must comment /plan to trust {event.head_sha[:7]}")


def _issue_comment(event: IssueCommentEvent, policy: RoutingPolicy) -> Intent:
    if event.action != "created":
        return Ignore(f"issue_comment {event.action} starts nothing")
    if not event.on_pull_request:
        return Ignore("comment on an issue, not a pull request")
    try:
        command = parse_comment(event.body)
    except NotACommand:
        return Ignore("comment is not a tfpipe command")
    except UnknownCommand as exc:
        return Reply(event.repository, event.number, str(exc), requires_write_access=event.sender.login)
    handler = _COMMENT_VERBS[command.verb]
    try:
        return handler(event, command.args, policy)
    except InvalidRequest as exc:  # it names what is accepted: the list of every command would say it twice
        return Reply(event.repository, event.number, f"Nothing ran: {exc}.", requires_write_access=event.sender.login)


def _comment_start(event: IssueCommentEvent, policy: RoutingPolicy, verb: Verb, command: str, environment: str,
                   **extra) -> Start:
    """The run a comment starts; errors name the comment's own verb (`/ttl`), not the command it submits."""
    request = _request(policy, f"reading `/{verb.value}` on pull request #{event.number}",
                       repository=event.repository, commit=f"refs/pull/{event.number}/head",
                       command=command, environment=environment, pull_request=event.number,
                       user_email=event.sender.email, by=(event.sender.login, event.issue_author), **extra)
    return Start((request,), requires_write_access=event.sender.login, pull_request=event.number)


def _verb_plan(event, args, policy):
    return _comment_start(event, policy, Verb.PLAN, "plan", policy.default_environment)


def _verb_ephemeral(event, args, policy):
    ttl = None
    for arg in args:
        key, _, value = arg.partition("=")
        if key != "ttl" or not value:
            return Reply(event.repository, event.number,
                         f"Nothing ran: `/ephemeral` takes only `ttl=<duration>` ({policy.ttl.accepted()}), "
                         f"got `{arg[:60]}`", requires_write_access=event.sender.login)
        ttl = value
    return _comment_start(event, policy, Verb.EPHEMERAL, "ephemeral", ephemeral_environment(event.number), ttl=ttl)


def _verb_ttl(event, args, policy):
    if len(args) != 1:
        return Reply(event.repository, event.number,
                     f"Nothing ran: `/ttl` takes one duration ({policy.ttl.accepted()})",
                     requires_write_access=event.sender.login)
    return _comment_start(event, policy, Verb.TTL, "cron", ephemeral_environment(event.number), ttl=args[0])


def _verb_destroy(event, args, policy):
    return _comment_start(event, policy, Verb.DESTROY, "destroy", ephemeral_environment(event.number))


ENVIRONMENT_ARG = "env="


def _verb_terraform(event, args, policy):
    """`/terraform <args>` reads the pull request's own environment; `env=<name>` names a long-lived
    one instead (read-only commands only: the request's check, with the environment)."""
    named = [a for a in args if a.startswith(ENVIRONMENT_ARG)]
    argv = [a for a in args if not a.startswith(ENVIRONMENT_ARG)]
    own = ephemeral_environment(event.number)
    environment = named[0][len(ENVIRONMENT_ARG):] if len(named) == 1 else own
    if len(named) > 1 or environment not in (own, *policy.long_lived_environments):
        known = ", ".join(f"`{n}`" for n in policy.long_lived_environments)
        return Reply(event.repository, event.number,
                     f"Nothing ran: `/terraform` takes at most one `env=<name>`, naming a long-lived environment "
                     f"({known}) or this pull request's own `{own}`; got `{' '.join(named)[:80]}`",
                     requires_write_access=event.sender.login)
    start = _comment_start(event, policy, Verb.TERRAFORM, "custom", environment, args=argv)
    if environment == own:
        return start
    return replace(start, write_access_for=f"read `{environment}` with `/terraform`")


def _verb_decide(approved: bool):
    def decide(event, args, policy):
        run_id = args[0] if args else None
        return Decide(event.repository, event.number, approved, event.sender.login, run_id,
                      requires_write_access=event.sender.login)
    return decide


def _pull_request_review(event: PullRequestReviewEvent, policy: RoutingPolicy) -> Intent:
    """An approving review approves the pull request's runs waiting at the reviewed commit, if that is
    still the head: a review of an older commit never saw what the runs would apply."""
    if event.action != "submitted" or event.state != "approved":
        return Ignore(f"pull_request_review {event.action} ({event.state or 'no state'}) approves nothing")
    if not event.open:
        return Ignore(f"review of pull request #{event.number}, which is not open, approves nothing")
    if event.commit_id != event.head_sha:
        return Reply(event.repository, event.number,
                     f"@{event.sender.login}'s approving review is of {event.commit_id[:7]}, not of the head "
                     f"{event.head_sha[:7]}: it approved nothing. Review the head again, or comment `/approve`.",
                     requires_write_access=event.sender.login)
    return Decide(event.repository, event.number, True, event.sender.login,
                  requires_write_access=event.sender.login, sha=event.commit_id)


_COMMENT_VERBS = {
    Verb.PLAN: _verb_plan,
    Verb.APPROVE: _verb_decide(True),
    Verb.REJECT: _verb_decide(False),
    Verb.EPHEMERAL: _verb_ephemeral,
    Verb.TTL: _verb_ttl,
    Verb.DESTROY: _verb_destroy,
    Verb.TERRAFORM: _verb_terraform,
}


def _dispatch(event: DispatchEvent, policy: RoutingPolicy) -> Intent:
    if event.action != DISPATCH_ACTION:
        return Ignore(f"{event.kind} {event.action or '(no tfpipe input)'} is not a tfpipe request; "
                      f"send event_type/input '{DISPATCH_ACTION}' carrying a PipelineRequest")
    request = parse_pipeline_request(event.request, policy.defaults, policy.ttl,
                                     doing=f"reading the PipelineRequest of a {event.kind}")
    if request.repository.lower() != event.repository.lower():
        raise InvalidRequest(f"reading the PipelineRequest of a {event.kind}",
                             [FieldError("repository", request.repository,
                                         f"the repository that sent the event, {event.repository}")])
    return Start((request.triggered_by(event.sender.login),), pull_request=request.pull_request)


_ROUTES = {
    PingEvent: _ping,
    PushEvent: _push,
    PullRequestEvent: _pull_request,
    IssueCommentEvent: _issue_comment,
    PullRequestReviewEvent: _pull_request_review,
    DispatchEvent: _dispatch,
    OtherEvent: _other,
}

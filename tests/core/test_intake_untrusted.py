"""Routing a pull request whose code nobody with write access vouched for (a head in a fork, or an
author without write access): nothing that runs its code is started; the intent says what to ask.

Payloads: the recorded `pull_request/opened.payload.json` and `opened.from-fork.derived.json`, which
is that payload with its head moved to the fork octocat/Hello-World (pull request, head and sender
by octocat, author_association CONTRIBUTOR; everything else as recorded)."""

from __future__ import annotations

import copy

import pytest

from chalicelib.core.durations import TtlBounds
from chalicelib.core.github_events import parse_event
from chalicelib.core.intake import (
    Ignore,
    Reply,
    RoutingPolicy,
    Start,
    TrustCheck,
    UntrustedPullRequests,
    route,
)
from chalicelib.core.request import RequestDefaults
from tests.conftest import load_fixture

DEFAULTS = RequestDefaults("arn:aws:batch:us-east-1:123456789012:job-definition/tfpipe-executor:1",
                           "arn:aws:batch:us-east-1:123456789012:job-queue/tfpipe", {"prod": "123456789012"},
                           "210987654321")
ASK = RoutingPolicy("prod", DEFAULTS, TtlBounds(900, 7 * 86400, 4 * 3600))
IGNORE = RoutingPolicy("prod", DEFAULTS, TtlBounds(900, 7 * 86400, 4 * 3600),
                       untrusted_pull_requests=UntrustedPullRequests.IGNORE)
FORK = "opened.from-fork.derived.json"


def pull_request(name: str = "opened.payload.json", action: str | None = None, **head) -> dict:
    payload = copy.deepcopy(load_fixture("pull_request", name))
    if action:
        payload["action"] = action
    payload["pull_request"]["head"].update(head)
    return payload


def routed(payload: dict, policy: RoutingPolicy = ASK):
    return route(parse_event("pull_request", payload), policy)


def test_the_event_says_who_opened_the_pull_request_and_where_its_head_lives():
    fork = parse_event("pull_request", pull_request(FORK))
    own = parse_event("pull_request", pull_request())
    assert (fork.author, fork.head_repository, fork.from_fork) == ("octocat", "octocat/Hello-World", True)
    assert (own.author, own.head_repository, own.from_fork) == ("Codertocat", "Codertocat/Hello-World", False)


def test_a_head_whose_fork_was_deleted_counts_as_a_fork():
    payload = pull_request(FORK)
    payload["pull_request"]["head"]["repo"] = None  # GitHub sends null once the fork is gone
    event = parse_event("pull_request", payload)
    assert event.head_repository is None and event.from_fork


@pytest.mark.parametrize("action", ["opened", "reopened", "synchronize", "ready_for_review"])
def test_a_fork_pull_request_starts_nothing_and_asks_for_a_writers_plan_of_its_head(action):
    payload = pull_request(FORK, action, sha="f" * 40)
    intent = routed(payload)
    assert isinstance(intent, Reply)  # not a Start, and no permission to ask: a fork is never trusted
    assert intent.marker == f"<!-- tfpipe:untrusted sha={'f' * 40} -->"
    assert intent.message.startswith(intent.marker)  # the marker first: never read as a `/` command
    assert "`/plan`" in intent.message and "f" * 40 in intent.message and "`/ephemeral`" in intent.message
    assert "the fork octocat/Hello-World" in intent.message
    assert intent.requires_write_access is None


def test_a_draft_from_a_fork_is_asked_about_too():
    payload = pull_request(FORK)
    payload["pull_request"]["draft"] = True
    assert isinstance(routed(payload), Reply)


def test_a_pull_request_from_the_repository_itself_is_started_only_if_its_author_can_write():
    intent = routed(pull_request())
    assert isinstance(intent, TrustCheck)
    assert (intent.repository, intent.author) == ("Codertocat/Hello-World", "Codertocat")
    # Trusted: today's runs, a plan and the preview environment of the head.
    assert [(r.command.value, r.environment.name, r.sha) for r in intent.trusted.requests] == [
        ("plan", "prod", "ec26c3e57ca3a959ca5aad62de7213c562f8c821"),
        ("ephemeral", "pr-2", "ec26c3e57ca3a959ca5aad62de7213c562f8c821")]
    # Untrusted: the question, naming the author.
    assert isinstance(intent.untrusted, Reply)
    assert "@Codertocat, who does not have write access to Codertocat/Hello-World" in intent.untrusted.message


def test_ignore_says_nothing_on_the_pull_request():
    assert isinstance(routed(pull_request(FORK), IGNORE), Ignore)
    intent = routed(pull_request(), IGNORE)
    assert isinstance(intent, TrustCheck) and isinstance(intent.untrusted, Ignore)
    assert "TFPIPE_UNTRUSTED_PRS=ignore" in intent.untrusted.reason


@pytest.mark.parametrize("policy", [ASK, IGNORE])
def test_closing_an_untrusted_pull_request_destroys_only_an_environment_that_is_up(policy):
    fork = routed(pull_request(FORK, "closed"), policy)
    assert isinstance(fork, Start) and fork.only_if_up == "pr-2"
    own = routed(pull_request(action="closed"), policy)
    assert isinstance(own, TrustCheck)
    assert own.trusted.only_if_up is None  # a trusted pull request's close is as before
    assert own.untrusted.only_if_up == "pr-2"
    assert [r.command.value for r in own.untrusted.requests] == ["destroy"]


def test_each_head_sha_has_its_own_marker():
    first, second = routed(pull_request(FORK, sha="a" * 40)), routed(pull_request(FORK, "synchronize", sha="b" * 40))
    assert first.marker != second.marker and "b" * 40 in second.message

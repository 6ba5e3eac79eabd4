"""Webhook and dispatch intake: verify, parse, route, and start each run exactly once.

Exactly once: the delivery id (or a dispatch's request id) is claimed in the delivery ledger before
anything happens, and it also decides the execution names, which Step Functions refuses to reuse.
A redelivery gets the recorded answer; a twin arriving while the first is still working starts
nothing; a claim whose holder died is taken over after a lease, so nothing is lost either.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.core import signature
from chalicelib.core.errors import FieldError, InvalidRequest, NotFound, PayloadTooLarge
from chalicelib.core.github_events import PingEvent, parse_event
from chalicelib.core.intake import Decide, Ignore, Intent, Pong, Reply, RoutingPolicy, Start, TrustCheck, route
from chalicelib.core.request import PipelineRequest, parse_pipeline_request
from chalicelib.core.runs import Run
from chalicelib.permissions import PermissionCache
from chalicelib.ports import (
    Approvals,
    AssociatedPullRequest,
    DeliveryLedger,
    Environments,
    ExecutionStarter,
    SecretStore,
    Vcs,
)
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from chalicelib.core.actions_token import ActionsToken

log = logging.getLogger("tfpipe.intake")


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict


class Headers:
    """Case-insensitive view of request headers."""

    def __init__(self, headers: Mapping[str, str]):
        self.headers = headers
        self._headers = {k.lower(): v for k, v in headers.items()}

    def get(self, name: str) -> str | None:
        return self._headers.get(name.lower())


class Intake:
    def __init__(self, settings: Settings, secrets: SecretStore, ledger: DeliveryLedger,
                 starter: ExecutionStarter, vcs: Callable[[], Vcs], approvals: Callable[[], Approvals],
                 environments: Callable[[], Environments], trace_header: Callable[[], str | None] = lambda: None,
                 actions_keys: Callable[[str], object | None] = lambda kid: None):
        self._settings = settings
        self._actions_keys = actions_keys  # the OIDC issuer's public keys by key id (adapters/oidc_keys.py)
        self._secrets = secrets
        self._ledger = ledger
        self._starter = starter
        self._vcs = vcs
        self._approvals = approvals
        self._environments = environments
        self._trace_header = trace_header
        self._permissions: PermissionCache | None = None
        self._policy = RoutingPolicy(settings.default_environment, settings.request_defaults, settings.ttl_bounds,
                                     untrusted_pull_requests=settings.untrusted_prs)

    # -- entry points -------------------------------------------------------------------------------

    def webhook(self, headers: Mapping[str, str], body: bytes) -> Answer:
        head = Headers(headers)
        self._authenticate(head, body, "GitHub webhook")
        event_name = head.get("X-GitHub-Event")
        delivery = head.get("X-GitHub-Delivery")
        missing = [FieldError(h, None, "the header GitHub sends with every delivery")
                   for h, v in (("X-GitHub-Event", event_name), ("X-GitHub-Delivery", delivery)) if not v]
        if missing:
            raise InvalidRequest("reading the GitHub webhook headers", missing)
        event = parse_event(event_name, _json(body, f"reading the {event_name} webhook body"))
        if isinstance(event, PingEvent):
            return Answer(200, {"message": "pong", "repository": event.repository})
        repository = getattr(event, "repository", None)
        if repository is None or not self._settings.repository_allowed(repository):
            return self._ignored(f"repository {repository or '(none)'} is not on tfpipe's allow-list "
                                 "(TFPIPE_ALLOWED_REPOSITORIES)", delivery)
        intent = route(event, self._policy)
        return self._once(f"webhook:{delivery}", f"webhook:{delivery}", intent)

    def dispatch(self, headers: Mapping[str, str], body: bytes) -> Answer:
        """`POST /dispatch` from GitHub Actions: authenticated by the job's OIDC token, which must be for
        the request's repository, from its default branch, at the requested commit."""
        # Imported here: PyJWT loads cryptography (~0.1 s), which the webhook Lambda's cold start need not pay.
        from chalicelib.core import actions_token

        doing = "authenticating the dispatch request"
        self._check_size(body, "dispatch request")
        token = self._actions_token(Headers(headers), doing)
        request = self._parse_request(body)
        actions_token.require_repository(token, request.repository, doing)
        if not self._settings.repository_allowed(request.repository):
            return self._off_the_allow_list(request)
        actions_token.require_default_branch(token, self._vcs().default_branch(request.repository), doing)
        request = self._resolved(request)
        actions_token.require_commit(token, request.sha, request.commit, doing)
        return self._start_requested(request.triggered_by(token.actor), body)

    def operator_dispatch(self, body: bytes, caller: str) -> Answer:
        """`POST /runs` from the CLI or another operator tool; API Gateway checked the caller's SigV4
        signature (IAM), `caller` is the ARN it derived from it."""
        self._check_size(body, "run request")
        request = self._parse_request(body)
        if not self._settings.repository_allowed(request.repository):
            return self._off_the_allow_list(request)
        log.info("run request from %s", caller)
        return self._start_requested(request.triggered_by(caller), body)

    # -- steps ----------------------------------------------------------------------------------------

    def _check_size(self, body: bytes, what: str) -> None:
        if len(body) > self._settings.max_body_bytes:
            raise PayloadTooLarge(f"reading the {what}: body of {len(body)} bytes is over the limit of "
                                  f"{self._settings.max_body_bytes} bytes")

    def _actions_token(self, head: Headers, doing: str) -> ActionsToken:
        from chalicelib.core import actions_token

        audience = self._settings.oidc_audience
        jwt_text = actions_token.bearer(head.get("Authorization"), doing, audience)
        return actions_token.verify(jwt_text, self._actions_keys, self._settings.oidc_issuer, audience, doing)

    def _parse_request(self, body: bytes) -> PipelineRequest:
        raw = _json(body, "reading the dispatch request body")
        return parse_pipeline_request(raw, self._settings.request_defaults, self._settings.ttl_bounds,
                                      doing="validating the dispatched PipelineRequest")

    def _off_the_allow_list(self, request: PipelineRequest) -> Answer:
        return self._ignored(f"repository {request.repository} is not on tfpipe's allow-list "
                             "(TFPIPE_ALLOWED_REPOSITORIES)", None)

    def _start_requested(self, request: PipelineRequest, body: bytes) -> Answer:
        key = request.request_id or hashlib.sha256(body).hexdigest()[:32]
        return self._once(f"dispatch:{key}", f"dispatch:{key}", Start((request,), pull_request=request.pull_request))

    def _authenticate(self, head: Headers, body: bytes, what: str) -> None:
        self._check_size(body, what)
        signature.require(self._secrets.get(self._settings.webhook_secret_name), head.headers, body,
                          f"verifying the {what}")

    def _ignored(self, reason: str, delivery: str | None) -> Answer:
        log.info("ignored %s: %s", delivery or "dispatch", reason)
        return Answer(202, {"message": f"ignored: {reason}", "runs": []})

    def _once(self, key: str, source: str, intent: Intent) -> Answer:
        if isinstance(intent, Ignore):
            return self._ignored(intent.reason, key)
        if isinstance(intent, Pong):
            return Answer(200, {"message": "pong"})
        claim = self._ledger.claim(key)
        if not claim.first:
            if claim.response is not None:
                return Answer(202, {**claim.response, "duplicate": True})
            return Answer(202, {"message": "this delivery is being handled already", "runs": [],
                                "duplicate": True})
        try:
            answer = self._act(intent, key, source)
        except Exception:
            self._ledger.abandon(key)  # a retry or redelivery may try again; nothing was started twice
            raise
        self._ledger.complete(key, answer.body)
        return answer

    def _act(self, intent: Intent, key: str, source: str) -> Answer:
        if isinstance(intent, TrustCheck):
            intent = intent.trusted if self._author_can_write(intent) else intent.untrusted
            if isinstance(intent, Ignore):
                return self._ignored(intent.reason, key)
        needs = getattr(intent, "requires_write_access", None)
        if needs and not self._can_write(intent, needs):
            purpose = getattr(intent, "write_access_for", None) or "command tfpipe"
            message = f"@{needs} needs write access to {intent_repository(intent)} to {purpose}; nothing ran."
            self._reply(intent, message)
            return Answer(202, {"message": message, "runs": []})
        if isinstance(intent, Reply):
            self._reply(intent, intent.message)
            return Answer(202, {"message": intent.answer or intent.message, "runs": []})
        if isinstance(intent, Decide):
            message = self._approvals().decide_for_pull_request(intent.repository, intent.pull_request,
                                                                intent.run_id, intent.approved, intent.actor,
                                                                sha=intent.sha)
            self._reply(intent, message)
            return Answer(202, {"message": message, "runs": []})
        return self._start(intent, key, source)

    def _start(self, intent: Start, key: str, source: str) -> Answer:
        repository = intent_repository(intent)
        if intent.only_if_up and self._environments().get_environment(repository, intent.only_if_up) is None:
            return self._ignored(f"{intent.only_if_up} of {repository} is not up: nothing to destroy, and nothing "
                                 "of the pull request's code runs", key)
        requests = [self._resolved(r) for r in intent.requests]
        if intent.find_merged_pull_request:
            requests = [self._of_merged_pull_request(r) for r in requests]
        runs = [Run.start(r.workflow, r, key, source, self._trace_header()) for r in requests]
        started = []
        for run in runs:
            result = self._starter.start(self._settings.state_machine_arn(run.workflow), run)
            log.info("run %s %s (%s %s at %s)", run.run_id, "already started" if result.already_started else "started",
                     run.workflow.title, run.request.environment.name, run.request.sha[:7])
            started.append({"run_id": run.run_id, "workflow": run.workflow.value,
                            "environment": run.request.environment.name, "sha": run.request.sha,
                            "execution_arn": result.execution_arn})
        titles = ", ".join(f"{r.workflow.title} of {r.request.environment.name}" for r in runs)
        return Answer(202, {"message": f"started {titles}", "runs": started})

    def _resolved(self, request: PipelineRequest) -> PipelineRequest:
        if request.sha:
            return request
        try:
            sha = self._vcs().resolve_commit(request.repository, request.commit)
        except NotFound as exc:
            raise InvalidRequest(f"resolving commit {request.commit!r} of {request.repository}",
                                 [FieldError("commit", request.commit,
                                             "a sha, branch, tag or ref that exists in the repository")]) from exc
        return request.resolved(sha)

    def _of_merged_pull_request(self, request: PipelineRequest) -> PipelineRequest:
        """The request as a run of the pull request whose merge brought its commit; unchanged for a
        direct push, or when GitHub could not say (the run goes on without a pull request)."""
        try:
            found = self._vcs().pull_requests_of_commit(request.repository, request.sha)
        except Exception as exc:  # whatever GitHub did, a missing link to a PR must not lose the push's run
            log.warning("the pull request of %s in %s is unknown, its run has none: %s", request.sha[:7],
                        request.repository, exc)
            return request
        merged = merged_pull_request(found, request.sha)
        return request.of_merged_pull_request(merged.number, merged.author) if merged else request

    def _can_write(self, intent: Intent, user: str) -> bool:
        if self._permissions is None:
            self._permissions = PermissionCache(self._vcs(), self._settings.permission_cache_seconds)
        return self._permissions.can_write(intent_repository(intent), user)

    def _author_can_write(self, check: TrustCheck) -> bool:
        try:
            return self._can_write(check, check.author)
        except NotFound:  # GitHub knows no such collaborator (a deleted account, some bots): untrusted
            return False

    def _reply(self, intent: Intent, message: str) -> None:
        pull_request = getattr(intent, "pull_request", None)
        if not pull_request:
            return
        marker = getattr(intent, "marker", None)
        if marker:  # once per marker: another delivery about the same head edits it (unchanged), never adds
            self._vcs().upsert_comment(intent_repository(intent), pull_request, marker, [message])
        else:
            self._vcs().post_comment(intent_repository(intent), pull_request, message)


def merged_pull_request(found: list[AssociatedPullRequest], sha: str) -> AssociatedPullRequest | None:
    """The merged pull request that brought `sha`: the one whose merge commit it is, else the only merged one."""
    merged = [p for p in found if p.merged]
    exact = [p for p in merged if p.merge_commit_sha == sha]
    if exact:
        return exact[0]
    return merged[0] if len(merged) == 1 else None


def intent_repository(intent: Intent) -> str:
    if isinstance(intent, Start):
        return intent.requests[0].repository
    return intent.repository  # type: ignore[union-attr]


def _json(body: bytes, doing: str) -> object:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(doing, [FieldError("body", body[:80].decode("utf-8", "replace"),
                                                f"JSON ({exc.__class__.__name__})")]) from None
    except RecursionError:
        # Python's parser recurses once per level: a body nested about 1,000 levels deep exhausts the
        # stack. Nothing GitHub or a PipelineRequest sends comes near (GitHub's payloads nest 6 deep).
        raise InvalidRequest(doing, [FieldError("body", body[:80].decode("utf-8", "replace"),
                                                "JSON nested fewer than about 1,000 levels deep (this body's "
                                                "arrays and objects nest deeper than the parser takes)")]) from None

"""The small interfaces the pipeline's logic depends on. Adapters implement them for AWS, GitHub,
Slack and local Git; tests and the embedded stack use the same adapters against moto or local twins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chalicelib.core.audit import AuditRecord
from chalicelib.core.fanout import Mark
from chalicelib.core.run_records import EnvironmentRecord, RunRecord
from chalicelib.core.runs import Run
from chalicelib.core.status import StatusEvent


class SecretStore(Protocol):
    def get(self, name: str) -> str: ...


@dataclass(frozen=True)
class StartedRun:
    run_id: str
    execution_arn: str
    already_started: bool  # Step Functions had an execution of that name: nothing new started


class ExecutionStarter(Protocol):
    def start(self, state_machine_arn: str, run: Run) -> StartedRun: ...
    def is_running(self, execution_arn: str) -> bool | None: ...  # None: cannot be told


@dataclass(frozen=True)
class DeliveryClaim:
    first: bool  # this caller recorded the delivery; False: seen before (redelivery or a concurrent twin)
    response: dict | None  # the answer recorded for a completed earlier delivery


class DeliveryLedger(Protocol):
    """Remembers webhook deliveries and dispatch request ids, so their side effects happen once."""

    def claim(self, key: str) -> DeliveryClaim: ...
    def complete(self, key: str, response: dict) -> None: ...
    def abandon(self, key: str) -> None: ...


class Approvals(Protocol):
    """Answers a pending approval; the workflows supply it (the token is kept against the run)."""

    def decide_for_pull_request(self, repository: str, pull_request: int, run_id: str | None,
                                approved: bool, actor: str, sha: str | None = None) -> str: ...  # for the author


class Environments(Protocol):
    """The ephemeral environments that are up (the runs table), as the intake asks about them."""

    def get_environment(self, repository: str, environment: str) -> EnvironmentRecord | None: ...


@dataclass(frozen=True)
class AssociatedPullRequest:
    """A pull request GitHub associates with a commit (GET /repos/{o}/{r}/commits/{sha}/pulls)."""

    number: int
    author: str  # login
    merged: bool
    merge_commit_sha: str | None


class Vcs(Protocol):
    """GitHub, or the embedded stack's stand-in. The pipeline cannot tell them apart."""

    def permission(self, repository: str, user: str) -> str: ...  # admin | maintain | write | triage | read | none
    def resolve_commit(self, repository: str, ref: str) -> str: ...  # sha, branch, tag, refs/pull/<n>/head
    def default_branch(self, repository: str) -> str: ...  # e.g. main
    def clone_url(self, repository: str) -> str: ...
    def pull_requests_of_commit(self, repository: str, sha: str) -> list[AssociatedPullRequest]: ...
    # GitHub's compare of head against base: ahead | behind | identical | diverged (NotFound: a commit it lacks)
    def compare(self, repository: str, base: str, head: str) -> str: ...
    def post_comment(self, repository: str, pull_request: int, body: str) -> int: ...
    def upsert_comment(self, repository: str, pull_request: int, marker: str, bodies: list[str]) -> list[int]: ...
    def set_commit_status(self, repository: str, sha: str, context: str, state: str,
                          description: str, target_url: str | None = None) -> None: ...
    def create_deployment(self, repository: str, sha: str, environment: str, transient: bool,
                          description: str) -> int: ...
    def deployment_ids(self, repository: str, environment: str) -> list[int]: ...  # newest first
    def set_deployment_status(self, repository: str, deployment_id: int, state: str,
                              environment_url: str | None = None, description: str = "") -> None: ...


@dataclass(frozen=True)
class Lock:
    repository: str
    environment: str
    run_id: str
    acquired_at: str
    reason: str = ""


class Locker(Protocol):
    """One lock per (repository, environment), by conditional write."""

    def acquire(self, repository: str, environment: str, run_id: str, reason: str = "") -> Lock: ...  # LockHeld
    def release(self, repository: str, environment: str, run_id: str) -> bool: ...
    def hold(self, repository: str, environment: str, run_id: str, reason: str) -> None: ...
    def force_release(self, repository: str, environment: str) -> Lock | None: ...
    def get(self, repository: str, environment: str) -> Lock | None: ...
    def list(self) -> list[Lock]: ...


class StatusPublisher(Protocol):
    def publish(self, event: StatusEvent) -> None: ...


class AuditLog(Protocol):
    """The run history of environments; the source of the last commit that applied cleanly."""

    def append(self, record: AuditRecord) -> None: ...
    def history(self, repository: str, environment: str) -> list[AuditRecord]: ...
    def last_good_commit(self, repository: str, environment: str) -> str | None: ...


class Notifier(Protocol):
    """A chat channel (Slack's incoming webhook). Raises DependencyFailed when the message did not go."""

    def notify(self, text: str, blocks: list[dict]) -> None: ...


class ArtifactReader(Protocol):
    def get_text(self, key: str) -> str: ...


class StateFiles(Protocol):
    """Terraform states in the state bucket, by key (core/naming.py long_lived_state_key)."""

    def read(self, key: str) -> dict | None: ...  # None: no state there


class DeadLetters(Protocol):
    """Where a status message goes, with the reason, once its retries are spent."""

    def send(self, body: str, reason: str) -> None: ...


class ProgressMarks(Protocol):
    """What is shown per key (a PR comment, a commit status): a retried, older event must not undo a
    newer one, nor a vague one a precise one (`Mark.replaces` decides)."""

    def advance(self, key: str, mark: Mark) -> bool: ...  # True: `mark` replaces what was shown; now recorded


@dataclass(frozen=True)
class HeldTokens:
    """What a Terraform job fetches at start instead of finding it in its environment."""

    task_token: str
    clone_token: str | None = None  # for HTTPS clones; None where git needs none (file://, the stack)


class JobTokens(Protocol):
    """Task tokens by job (core/job.py `token_key`), kept out of Batch job overrides."""

    def put(self, key: str, tokens: HeldTokens) -> None: ...
    def get(self, key: str) -> HeldTokens | None: ...
    def delete(self, key: str) -> None: ...


class RunRecords(Protocol):
    """The runs table as the status fan-out reads it: what the pipeline's Lambdas recorded of a run."""

    def get(self, run_id: str) -> RunRecord | None: ...

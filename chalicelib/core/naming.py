"""Deterministic names: a run id is the Step Functions execution name, so a redelivered webhook
or a retried dispatch maps to the same execution, which Step Functions refuses to start twice."""

from __future__ import annotations

import hashlib
import re

from chalicelib.core.workflows import Workflow

MAX_EXECUTION_NAME = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def run_id(workflow: Workflow, environment: str, sha: str, key: str) -> str:
    """`<workflow>-<environment>-<sha7>-<digest of key>`; key is the delivery or request id."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    head = _UNSAFE.sub("-", f"{workflow.value}-{environment}-{sha[:7]}")
    return f"{head[: MAX_EXECUTION_NAME - len(digest) - 1]}-{digest}"


def ephemeral_environment(pull_request: int) -> str:
    return f"pr-{pull_request}"


def schedule_name(repository: str, environment: str) -> str:
    """The TTL destroy schedule of one environment: one name, so create/move/delete are idempotent."""
    digest = hashlib.sha256(f"{repository}|{environment}".encode()).hexdigest()[:10]
    return _UNSAFE.sub("-", f"ttl-{environment}-{digest}")[:64]


def lock_key(repository: str, environment: str) -> str:
    return f"{repository}#{environment}"


STATE_FILE = "terraform.tfstate"


def long_lived_state_key(repository: str, environment: str, project: str = "") -> str:
    """Where a long-lived environment's Terraform state lives in the state bucket (the executor's
    backend configuration; the preview collision check reads it): `<owner>/<name>/env/<environment>/`,
    or `<owner>/<name>/<project>/env/<environment>/` for a named project (the repository root, named
    "", keeps the first, so state written before projects existed stays valid)."""
    return f"{_state_prefix(repository, project)}/env/{environment}/{STATE_FILE}"


def ephemeral_state_prefix(repository: str, project: str = "") -> str:
    """The S3 backend's `workspace_key_prefix` of ephemeral environments: each `pr-<N>` workspace's
    state is `<prefix>/pr-<N>/terraform.tfstate`, the prefix `<owner>/<name>[/<project>]/ephemeral`."""
    return f"{_state_prefix(repository, project)}/ephemeral"


def _state_prefix(repository: str, project: str) -> str:
    # A project's name may hold '/' (a discovered one is named by its path) but never an `env` or
    # `ephemeral` segment (executor.projects), so no project's keys fall under another's or the root's.
    return f"{repository}/{project}" if project else repository

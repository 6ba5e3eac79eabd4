from __future__ import annotations

import subprocess

import pytest

from chalicelib.core.request import Environment, PipelineRequest
from chalicelib.core.runs import Run
from chalicelib.core.workflows import Command, Workflow
from chalicelib.wiring import Container
from tests.workflows import provision

SHA = "0123456789abcdef0123456789abcdef01234567"
OLD_SHA = "fedcba9876543210fedcba9876543210fedcba98"


@pytest.fixture
def deps(moto_endpoint, tmp_path):
    """The real adapters, built by the wiring, on a fresh moto account with the workflows' resources."""
    settings = provision.create_resources(moto_endpoint, local_git_root=str(tmp_path / "git"))
    bare_repository(tmp_path / "git", "acme/infra")
    return Container(settings)


def bare_repository(git_root, full_name: str) -> None:
    """The infrastructure repository the audit trail is written into, as the stack keeps it."""
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(git_root / f"{full_name}.git")], check=True)


def make_run(workflow: Workflow = Workflow.PLAN_APPLY, environment: str = "prod", sha: str = SHA, key: str = "d1",
             pull_request: int | None = None, ttl_seconds: int | None = None, custom=None) -> Run:
    command = {Workflow.PLAN_APPLY: Command.APPLY, Workflow.APPLY_EPHEMERAL: Command.EPHEMERAL,
               Workflow.DESTROY: Command.DESTROY, Workflow.MODIFY_CRON: Command.CRON,
               Workflow.CUSTOM: Command.CUSTOM, Workflow.PLAN: Command.PLAN}[workflow]
    request = PipelineRequest(
        repository="acme/infra", commit=sha, environment=Environment(environment, "111122223333"),
        command=command, job_definition_arn="arn:aws:batch:us-east-1:123456789012:job-definition/tfpipe-test-executor:1",
        job_queue_arn="arn:aws:batch:us-east-1:123456789012:job-queue/tfpipe-test-jobs", user_email="dev@example.com",
        pull_request=pull_request, ttl_seconds=ttl_seconds, custom=custom, sha=sha)
    return Run.start(workflow, request, key, f"webhook:{key}")


def task_event(run: Run, started_at: float = 0.0, state: dict | None = None, **params) -> dict:
    """What a Task state sends: the workflow state, the execution context, its parameters."""
    execution = {"Id": f"arn:aws:states:us-east-1:123456789012:execution:tfpipe-test-{run.workflow.value}:{run.run_id}",
                 "Name": run.run_id, "StartTime": started_at}
    return {"state": {**run.to_dict(), **(state or {})}, "execution": execution, **params}


def published(deps) -> list[dict]:
    """The status events the tasks put on the status queue so far."""
    return provision.status_events(deps.clients.sqs.meta.endpoint_url, deps.settings.status_queue_url)

"""End-to-end workflow runs on the embedded stack: the real state machines in moto's ASL engine, the
real task Lambdas (the Chalice app's functions, in the stack's Lambda service), jobs run by the local
Batch service. Until the executor is used, a job is the scripted stand-in (`job_standin.py`)."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from chalicelib import wiring
from chalicelib.core.request import CustomCommand, Environment, PipelineRequest
from chalicelib.core.runs import Run
from chalicelib.core.workflows import WORKFLOW_BY_COMMAND, Command, Workflow
from tests.tasks.conftest import bare_repository
from tests.workflows import definitions, provision
from tfpipe.local.testing import stack_fixture

STAGE = "test"
ACCOUNT = provision.ACCOUNT
SHA = "1111111111111111111111111111111111111111"
GOOD_SHA = "2222222222222222222222222222222222222222"
NEWER_SHA = "3333333333333333333333333333333333333333"
SECRET = "e2e-webhook-secret"
GITHUB_TOKEN_SECRET = f"tfpipe/{STAGE}/github-token"
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}

stack = stack_fixture(app="app:app", stage=STAGE, scope="module", webhook_secret=SECRET)


class Pipeline:
    """Starts runs of the real state machines and watches what they did."""

    def __init__(self, stack, settings, workdir: Path):
        self.stack = stack
        self.settings = settings
        self.script_path = workdir / "standin-script.json"
        self.log_path = workdir / "standin-log.jsonl"
        self.script_path.write_text("{}")
        self.log_path.write_text("")
        self.sfn = stack.client("stepfunctions")
        self._events: list[dict] = []

    @property
    def deps(self):
        return wiring.container()

    @contextlib.contextmanager
    def changed_settings(self, **env: str):
        """TFPIPE_* settings changed for the task Lambdas while the block runs, restored after it."""
        with pytest.MonkeyPatch.context() as patch:
            for key, value in env.items():
                patch.setenv(key, value)
            wiring.reset()
            try:
                yield
            finally:
                patch.undo()
                wiring.reset()

    def script(self, environment: str, action: str, sha: str | None = None, **outcome) -> None:
        """What the stand-in job does for (environment, action[, sha]): a result, or `error=` a failure."""
        script = json.loads(self.script_path.read_text())
        script[f"{environment}:{action}" + (f":{sha[:7]}" if sha else "")] = outcome
        self.script_path.write_text(json.dumps(script))

    def run(self, command: Command, environment: str, sha: str = SHA, key: str = "k", pull_request=None,
            ttl_seconds=None, custom: CustomCommand | None = None, job_definition: str | None = None,
            account: str = "111122223333") -> Run:
        request = PipelineRequest(
            repository="acme/infra", commit=sha, environment=Environment(environment, account),
            command=command, job_definition_arn=job_definition or self.settings["TFPIPE_JOB_DEFINITION_ARN"],
            job_queue_arn=self.settings["TFPIPE_JOB_QUEUE_ARN"], user_email="dev@example.com",
            pull_request=pull_request, ttl_seconds=ttl_seconds, custom=custom, sha=sha)
        return Run.start(WORKFLOW_BY_COMMAND[command], request, key, f"test:{key}")

    def start(self, run: Run) -> Run:
        self.sfn.start_execution(stateMachineArn=self.machine(run.workflow), name=run.run_id,
                                 input=json.dumps(run.to_dict()))
        return run

    def machine(self, workflow: Workflow) -> str:
        return self.settings[f"TFPIPE_STATE_MACHINE_{workflow.settings_key}"]

    def execution_arn(self, run: Run) -> str:
        return self.machine(run.workflow).replace(":stateMachine:", ":execution:") + f":{run.run_id}"

    def wait(self, run: Run, timeout: float = 120) -> dict:
        """Poll the execution until it ends (bounded), as moto's own Step Functions tests do."""
        deadline = time.monotonic() + timeout
        while True:
            described = self.sfn.describe_execution(executionArn=self.execution_arn(run))
            if described["status"] in TERMINAL:
                return described
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run.run_id} still {described['status']} after {timeout} s; "
                                     f"states: {self.states(run)}")
            time.sleep(0.1)

    def wait_until(self, what: str, check, timeout: float = 120):
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout} s for {what}")
            time.sleep(0.1)

    def wait_for_approval(self, run: Run) -> None:
        def pending():
            record = self.deps.runs.get(run.run_id)
            return record is not None and record.approval_state == "pending"
        self.wait_until(f"run {run.run_id} to ask for approval", pending)

    def states(self, run: Run) -> list[str]:
        history = self.sfn.get_execution_history(executionArn=self.execution_arn(run), maxResults=1000)["events"]
        return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]

    def events(self, run: Run) -> list[tuple[str, str]]:
        return [(e["phase"], e["status"]) for e in self.event_bodies(run)]

    def event_bodies(self, run: Run) -> list[dict]:
        self._events += provision.status_events(self.stack.aws_url, self.settings["TFPIPE_STATUS_QUEUE_URL"])
        return sorted((e for e in self._events if e["run_id"] == run.run_id), key=lambda e: _instant(e["timestamp"]))

    def jobs(self, run: Run) -> list[dict]:
        return self.jobs_of(run.run_id)

    def jobs_of(self, run_id: str) -> list[dict]:
        """The job specs the stand-in was given for a run, in order."""
        lines = [json.loads(line) for line in self.log_path.read_text().splitlines() if line]
        return [line["spec"] for line in lines if line["spec"]["run_id"] == run_id]

    def lock(self, environment: str):
        return self.deps.locker.get("acme/infra", environment)


def _instant(timestamp: object) -> float:
    """A status event's time as seconds; ISO 8601 is the contract, a number is read as epoch seconds."""
    if isinstance(timestamp, int | float):
        return float(timestamp)
    return datetime.fromisoformat(str(timestamp).replace("Z", "+00:00")).timestamp()


def register_standin(stack, workdir: Path, tokens_table: str) -> str:
    """A job definition whose command is the scripted stand-in, reading its script from `workdir` and
    its task token from `tokens_table`."""
    return stack.client("batch").register_job_definition(
        jobDefinitionName="tfpipe-test-standin", type="container", platformCapabilities=["FARGATE"],
        containerProperties={
            "image": "tfpipe-executor", "command": [sys.executable, "-m", "tests.workflows.job_standin"],
            "environment": [{"name": "TFPIPE_STANDIN_SCRIPT", "value": str(workdir / "standin-script.json")},
                            {"name": "TFPIPE_STANDIN_LOG", "value": str(workdir / "standin-log.jsonl")},
                            {"name": "TFPIPE_TOKENS_TABLE", "value": tokens_table}],
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}]},
    )["jobDefinitionArn"]


def _batch(stack, workdir: Path, tokens_table: str) -> tuple[str, str]:
    batch = stack.client("batch")
    role = stack.client("iam").create_role(RoleName="tfpipe-test-batch", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    compute = batch.create_compute_environment(computeEnvironmentName="tfpipe-test-local", type="UNMANAGED",
                                               state="ENABLED", serviceRole=role)["computeEnvironmentArn"]
    queue = batch.create_job_queue(jobQueueName="tfpipe-test-jobs", state="ENABLED", priority=1,
                                   computeEnvironmentOrder=[{"order": 1, "computeEnvironment": compute}])["jobQueueArn"]
    return register_standin(stack, workdir, tokens_table), queue


def _state_machines(stack) -> dict[str, str]:
    sfn = stack.client("stepfunctions")
    arns = definitions.function_arns(provision.REGION, ACCOUNT, f"tfpipe-{STAGE}-")
    found = {}
    for workflow in Workflow:
        source = definitions.substitute(definitions.text(workflow), arns)
        arn = sfn.create_state_machine(name=f"tfpipe-{STAGE}-{workflow.value}", definition=source,
                                       roleArn=f"arn:aws:iam::{ACCOUNT}:role/tfpipe-{STAGE}-states")["stateMachineArn"]
        found[f"TFPIPE_STATE_MACHINE_{workflow.settings_key}"] = arn
    return found


@pytest.fixture(scope="module")
def pipeline(stack, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("workflows")
    settings = provision.create_resources(stack.aws_url, STAGE, status_queue=f"tfpipe-{STAGE}-status-observed")
    definition, queue = _batch(stack, workdir, settings.tokens_table)
    bare_repository(workdir / "git", "acme/infra")
    stack.client("secretsmanager").create_secret(Name=settings.webhook_secret_name, SecretString=SECRET)
    # The lock asks GitHub (the stack's stand-in) how a PLAN-APPLY's commit and the applied one are ordered.
    stack.client("secretsmanager").create_secret(Name=GITHUB_TOKEN_SECRET, SecretString="local-github-token")
    env = {
        "TFPIPE_STAGE": STAGE, "TFPIPE_LOCKS_TABLE": settings.locks_table, "TFPIPE_RUNS_TABLE": settings.runs_table,
        "TFPIPE_TOKENS_TABLE": settings.tokens_table,
        "TFPIPE_STATUS_QUEUE_URL": settings.status_queue_url, "TFPIPE_SCHEDULE_GROUP": settings.schedule_group,
        "TFPIPE_SCHEDULER_ROLE_ARN": settings.scheduler_role_arn, "TFPIPE_JOB_DEFINITION_ARN": definition,
        "TFPIPE_JOB_QUEUE_ARN": queue, "TFPIPE_LOCAL_GIT_ROOT": str(workdir / "git"),
        "TFPIPE_WEBHOOK_SECRET_NAME": settings.webhook_secret_name, "TFPIPE_GITHUB_TOKEN_SECRET_NAME": GITHUB_TOKEN_SECRET,
        "TFPIPE_LOCK_WAIT": "1s", "TFPIPE_LOCK_MAX_WAIT": "2m", "TFPIPE_APPROVAL_TIMEOUT": "10m",
        "TFPIPE_TTL_MIN": "1s", **_state_machines(stack)}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        wiring.reset()
        yield Pipeline(stack, env, workdir)
    wiring.reset()


def execution_of(pipeline: Pipeline, workflow: Workflow, run_id: str) -> str | None:
    """The execution of `workflow` whose input is run `run_id`, whatever its name (a schedule names none)."""
    sfn = pipeline.sfn
    for execution in sfn.list_executions(stateMachineArn=pipeline.machine(workflow))["executions"]:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        if json.loads(described["input"]).get("run_id") == run_id:
            return execution["executionArn"]
    return None

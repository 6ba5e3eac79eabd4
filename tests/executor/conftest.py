"""Fixtures for the executor: moto (S3 state with native locking, artifacts, SQS, STS, Secrets
Manager, Step Functions), a real Git repository holding a small Terraform configuration, and the
executor itself run the way Batch runs it: `python -m executor`, everything from the environment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest

from chalicelib.core.job import JOB_ENV, TASK_TOKEN_ENV, JobAction, JobSpec

REPO_ROOT = Path(__file__).resolve().parents[2]
EXECUTOR_ROOT = REPO_ROOT / "executor"
INFRA = Path(__file__).parent / "infra"
# The inner package `executor/executor` is what the image ships; make it importable here too.
if str(EXECUTOR_ROOT) not in sys.path:
    sys.path.insert(0, str(EXECUTOR_ROOT))

STATE_BUCKET = "tfpipe-test-state"
ARTIFACTS_BUCKET = "tfpipe-test-artifacts"
ACCOUNT = "123456789012"  # moto's default account: the deploy role's credentials act in it
REPOSITORY = "acme/infra"


@dataclass
class Aws:
    endpoint: str
    s3: object
    sqs: object
    sfn: object
    secrets: object
    status_queue_url: str

    def status_events(self) -> list[dict]:
        events = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.status_queue_url, MaxNumberOfMessages=10,
                                                WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                return events
            for m in messages:
                events.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.status_queue_url, ReceiptHandle=m["ReceiptHandle"])

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        found = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        return sorted(o["Key"] for o in found)

    def text(self, bucket: str, key: str) -> str:
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()


@pytest.fixture
def aws(moto_endpoint, monkeypatch) -> Aws:
    # Step Functions' service integrations inside moto call back into the server on MOTO_PORT.
    monkeypatch.setenv("MOTO_PORT", moto_endpoint.rsplit(":", 1)[1])
    kw = {"endpoint_url": moto_endpoint, "region_name": "us-east-1"}
    s3 = boto3.client("s3", **kw)
    for bucket in (STATE_BUCKET, ARTIFACTS_BUCKET):
        s3.create_bucket(Bucket=bucket)
    sqs = boto3.client("sqs", **kw)
    queue = sqs.create_queue(QueueName="tfpipe-status")["QueueUrl"]
    return Aws(moto_endpoint, s3, sqs, boto3.client("stepfunctions", **kw), boto3.client("secretsmanager", **kw), queue)


class InfraRepo:
    """A bare Git repository (clone URL file://...) with the test configuration; commits change it."""

    def __init__(self, root: Path):
        self.bare = root / "infra.git"
        self.work = root / "infra-work"
        shutil.copytree(INFRA, self.work)
        self._git("init", "--quiet", "--initial-branch=main")
        subprocess.run(["git", "init", "--quiet", "--bare", str(self.bare)], check=True)
        self.commit("initial configuration")

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def _git(self, *args: str) -> str:
        env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
        return subprocess.run(["git", "-C", str(self.work), *args], check=True, capture_output=True, text=True,
                              env=env).stdout.strip()

    def write(self, relative: str, text: str) -> None:
        path = self.work / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def commit(self, message: str) -> str:
        self._git("add", "-A")
        self._git("commit", "--quiet", "--allow-empty", "-m", message)
        self._git("push", "--quiet", str(self.bare), "HEAD:refs/heads/main")
        return self._git("rev-parse", "HEAD")


@pytest.fixture
def http_server():
    """A real HTTP server on loopback answering GETs with the codes queued in `answers` (then 200)."""
    answers: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(answers.pop(0) if answers else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/health", answers
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def infra(tmp_path) -> InfraRepo:
    return InfraRepo(tmp_path)


def make_spec(repo: InfraRepo, sha: str, action: JobAction, run_id: str = "run-1", environment: str = "staging",
              **overrides) -> JobSpec:
    workspace = environment if environment.startswith("pr-") else "default"
    spec = JobSpec(run_id=run_id, workflow="plan-apply", action=action, repository=REPOSITORY, clone_url=repo.url,
                   sha=sha, environment=environment, account_id=ACCOUNT, workspace=workspace,
                   actor="dev@example.com", artifacts_prefix=f"runs/{run_id}/")
    return replace(spec, **overrides)


def executor_env(aws: Aws, spec: JobSpec, token: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TFPIPE_", "PYTEST_"))}
    env.update({
        "PYTHONPATH": os.pathsep.join([str(EXECUTOR_ROOT), str(REPO_ROOT)]),
        "AWS_ENDPOINT_URL": aws.endpoint,
        "TFPIPE_STATE_BUCKET": STATE_BUCKET, "TFPIPE_ARTIFACTS_BUCKET": ARTIFACTS_BUCKET,
        "TFPIPE_STATUS_QUEUE_URL": aws.status_queue_url, "TFPIPE_JOB_HEARTBEAT": "1s",
        "TFPIPE_JOB_LOCK_TIMEOUT": "0s", "TFPIPE_HEALTH_CHECK_INTERVAL": "1s",
        JOB_ENV: spec.to_json(),
    })
    if token:
        env[TASK_TOKEN_ENV] = token
    env.update(extra)
    return env


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]

    @property
    def answer(self) -> dict:
        """Without a task token the executor prints its result (or error) as the last line."""
        return self.lines[-1]


def start_executor(aws: Aws, spec: JobSpec, token: str | None = None, **extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "executor"], env=executor_env(aws, spec, token, **extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT)


def run_executor(aws: Aws, spec: JobSpec, token: str | None = None, timeout: float = 180, **extra: str) -> Finished:
    started = time.monotonic()
    proc = start_executor(aws, spec, token, **extra)
    stdout, stderr = proc.communicate(timeout=timeout)
    return Finished(proc.returncode, stdout, stderr, time.monotonic() - started)


# ---- a real Step Functions execution waiting on the job's task token --------------------------------
# moto's ASL engine runs `sqs:sendMessage.waitForTaskToken`: the state machine hands its task token
# to a queue, the test gives it to the executor, and the execution ends with what the executor sent.
HEARTBEAT_SECONDS = 4  # the executor heartbeats every 1s; a job longer than this needs them


def token_execution(aws: Aws, name: str) -> tuple[str, str]:
    queue = aws.sqs.create_queue(QueueName="job-tokens")["QueueUrl"]
    definition = {"StartAt": "Job", "States": {"Job": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "HeartbeatSeconds": HEARTBEAT_SECONDS, "TimeoutSeconds": 600, "End": True,
        "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}}}}}
    machine = aws.sfn.create_state_machine(name=f"job-{name}", definition=json.dumps(definition),
                                           roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn")["stateMachineArn"]
    execution = aws.sfn.start_execution(stateMachineArn=machine, name=name)["executionArn"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for message in aws.sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", []):
            aws.sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            return execution, json.loads(message["Body"])["token"]
    raise AssertionError("the state machine never handed out its task token")


def finished_execution(aws: Aws, execution: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = aws.sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.2)
    raise AssertionError(f"execution {execution} still running after {timeout}s")

"""One Batch job on the embedded stack: its AWS-shaped detail and the subprocess that runs it.

Statuses follow AWS Batch: SUBMITTED -> RUNNABLE -> STARTING -> RUNNING -> SUCCEEDED | FAILED.
The job's container is a subprocess in its own session (so terminate can signal the whole group)
started in a fresh working directory with the job definition's environment plus the overrides.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TERMINAL = ("SUCCEEDED", "FAILED")
DEFAULT_LOG_GROUP = "/aws/batch/job"  # where Batch logs when the definition names no awslogs-group
_REF = re.compile(r"Ref::([A-Za-z0-9_-]+)")


def now_ms() -> int:
    return int(time.time() * 1000)


def substitute_parameters(command: list[str], parameters: Mapping[str, str]) -> list[str]:
    """Batch replaces `Ref::name` placeholders in the command with the job's parameters."""
    return [_REF.sub(lambda m: parameters.get(m[1], m[0]), part) for part in command]


def merge_environment(definition: list[dict], overrides: list[dict]) -> list[dict]:
    merged = {item["name"]: item.get("value", "") for item in definition}
    merged.update({item["name"]: item.get("value", "") for item in overrides})
    return [{"name": name, "value": value} for name, value in merged.items()]


@dataclass
class Job:
    name: str
    queue_arn: str
    definition: dict  # DescribeJobDefinitions entry
    parameters: dict[str, str]
    overrides: dict
    region: str
    account: str
    timeout_seconds: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    job_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = "SUBMITTED"
    status_reason: str | None = None
    created_at: int = field(default_factory=now_ms)
    started_at: int | None = None
    stopped_at: int | None = None
    exit_code: int | None = None
    container_reason: str | None = None
    terminate_reason: str | None = None
    process: subprocess.Popen | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def arn(self) -> str:
        return f"arn:aws:batch:{self.region}:{self.account}:job/{self.job_id}"

    @property
    def command(self) -> list[str]:
        command = self.overrides.get("command") or self.definition.get("containerProperties", {}).get("command", [])
        return substitute_parameters(list(command), self.parameters)

    @property
    def environment(self) -> list[dict]:
        return merge_environment(self.definition.get("containerProperties", {}).get("environment", []),
                                 self.overrides.get("environment", []))

    @property
    def _log_options(self) -> dict:
        return (self.definition.get("containerProperties", {}).get("logConfiguration") or {}).get("options") or {}

    @property
    def log_group(self) -> str:
        return self._log_options.get("awslogs-group", DEFAULT_LOG_GROUP)

    @property
    def log_stream_name(self) -> str:
        prefix = self._log_options.get("awslogs-stream-prefix") or self.definition["jobDefinitionName"]
        return f"{prefix}/default/{self.job_id}"

    def detail(self) -> dict[str, Any]:
        """The JobDetail of DescribeJobs (and the `detail` of its EventBridge events)."""
        properties = self.definition.get("containerProperties", {})
        container: dict[str, Any] = {
            "image": properties.get("image", ""), "command": self.command, "environment": self.environment,
            "resourceRequirements": self.overrides.get("resourceRequirements") or properties.get("resourceRequirements", []),
            "volumes": [], "mountPoints": [], "ulimits": [], "networkInterfaces": [], "secrets": [],
            "logStreamName": self.log_stream_name,
        }
        for key in ("jobRoleArn", "executionRoleArn"):
            if properties.get(key):
                container[key] = properties[key]
        if self.exit_code is not None:
            container["exitCode"] = self.exit_code
        if self.container_reason:
            container["reason"] = self.container_reason
        detail: dict[str, Any] = {
            "jobArn": self.arn, "jobName": self.name, "jobId": self.job_id, "jobQueue": self.queue_arn,
            "status": self.status, "attempts": self._attempts(), "createdAt": self.created_at,
            "retryStrategy": self.definition.get("retryStrategy", {"attempts": 1, "evaluateOnExit": []}),
            "dependsOn": [], "jobDefinition": self.definition["jobDefinitionArn"], "parameters": self.parameters,
            "container": container, "tags": self.tags,
            "platformCapabilities": self.definition.get("platformCapabilities", []),
        }
        if self.status_reason:
            detail["statusReason"] = self.status_reason
        if self.started_at:
            detail["startedAt"] = self.started_at
        if self.stopped_at:
            detail["stoppedAt"] = self.stopped_at
        if self.timeout_seconds:
            detail["timeout"] = {"attemptDurationSeconds": self.timeout_seconds}
        return detail

    def _attempts(self) -> list[dict]:
        if self.started_at is None or self.stopped_at is None:
            return []
        container = {"logStreamName": self.log_stream_name}
        if self.exit_code is not None:
            container["exitCode"] = self.exit_code
        if self.container_reason:
            container["reason"] = self.container_reason
        return [{"container": container, "startedAt": self.started_at, "stoppedAt": self.stopped_at,
                 "statusReason": self.status_reason or ""}]

    def summary(self) -> dict[str, Any]:
        """A JobSummary of ListJobs."""
        summary: dict[str, Any] = {"jobArn": self.arn, "jobId": self.job_id, "jobName": self.name,
                                   "createdAt": self.created_at, "status": self.status,
                                   "jobDefinition": self.definition["jobDefinitionArn"]}
        for key, value in (("statusReason", self.status_reason), ("startedAt", self.started_at),
                           ("stoppedAt", self.stopped_at)):
            if value:
                summary[key] = value
        if self.exit_code is not None:
            summary["container"] = {"exitCode": self.exit_code, **({"reason": self.container_reason}
                                                                   if self.container_reason else {})}
        return summary


def run_container(job: Job, base_env: Mapping[str, str], workdir: Path, on_output: Callable[[str], None],
                  on_started: Callable[[], None]) -> int:
    """Run the job's command to completion, streaming its merged stdout/stderr line by line."""
    env = dict(base_env)
    env.update({item["name"]: item["value"] for item in job.environment})
    env.update({"AWS_BATCH_JOB_ID": job.job_id, "AWS_BATCH_JQ_NAME": job.queue_arn.rsplit("/", 1)[-1],
                "AWS_BATCH_JOB_ATTEMPT": "1", "AWS_BATCH_CE_NAME": "tfpipe-local"})
    workdir.mkdir(parents=True, exist_ok=True)
    if not job.command:
        raise ValueError("the job definition has no command and none was given in containerOverrides")
    process = subprocess.Popen(job.command, cwd=workdir, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True, text=True, errors="replace")
    with job.lock:
        job.process = process
    on_started()
    assert process.stdout is not None
    for line in process.stdout:
        on_output(line.rstrip("\n"))
    return process.wait()


def stop_process(process: subprocess.Popen, grace_seconds: float) -> None:
    """What ECS does on StopTask: SIGTERM to the container, SIGKILL after the stop timeout."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass

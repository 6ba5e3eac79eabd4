"""The local Batch service: SubmitJob, DescribeJobs, ListJobs, TerminateJob (and CancelJob) on the wire.

Job definitions and queues are read from moto (where provisioning or a test created them); every
other Batch call is passed to moto. Jobs run as subprocesses, at most `max_concurrent` at a time like
a compute environment's vCPUs, their output goes to moto's CloudWatch Logs (`/aws/batch/job`, stream
`<definition>/default/<job id>`, or the definition's awslogs options), and each status change after
submission is put on EventBridge as AWS's "Batch Job State Change" event.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from werkzeug.wrappers import Request, Response

from tfpipe.local.batch_job import TERMINAL, Job, now_ms, run_container, stop_process
from tfpipe.local.cloudwatch_log import LogSink

log = logging.getLogger("tfpipe.local.batch")

EXITED = "Essential container in task exited"
TIMED_OUT = "Job attempt duration exceeded timeout"


class BatchClientError(Exception):
    """Answered as AWS Batch's ClientException (HTTP 400)."""


class BatchService:
    def __init__(self, aws_url: str, fallback: Callable, state_dir: Path, base_env: Callable[[], Mapping[str, str]],
                 region: str = "us-east-1", account: str = "123456789012", max_concurrent: int = 2,
                 stop_timeout: float = 30.0, credentials: Mapping[str, str] | None = None):
        self.fallback = fallback
        self.jobs_dir = Path(state_dir) / "batch"
        self.base_env = base_env
        self.region = region
        self.account = account
        self.stop_timeout = stop_timeout
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._jobs: dict[str, Job] = {}
        self._jobs_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closing = threading.Event()
        creds = dict(credentials or {})
        self._client = lambda service: boto3.client(
            service, endpoint_url=aws_url, region_name=region,
            aws_access_key_id=creds.get("AWS_ACCESS_KEY_ID", "testing"),
            aws_secret_access_key=creds.get("AWS_SECRET_ACCESS_KEY", "testing"))
        self._operations: dict[str, Callable[[dict], dict]] = {
            "/v1/submitjob": self.submit_job, "/v1/describejobs": self.describe_jobs,
            "/v1/listjobs": self.list_jobs, "/v1/terminatejob": self.terminate_job,
            "/v1/canceljob": self.terminate_job,
        }

    # -- API -------------------------------------------------------------------------------------
    def submit_job(self, body: dict) -> dict:
        if self._closing.is_set():
            raise BatchClientError("the embedded stack is shutting down; no new jobs")
        for required in ("jobName", "jobQueue", "jobDefinition"):
            if not body.get(required):
                raise BatchClientError(f"{required} is required")
        definition = self._job_definition(body["jobDefinition"])
        queue_arn = self._job_queue_arn(body["jobQueue"])
        timeout = (body.get("timeout") or definition.get("timeout") or {}).get("attemptDurationSeconds")
        job = Job(name=body["jobName"], queue_arn=queue_arn, definition=definition,
                  parameters={**definition.get("parameters", {}), **body.get("parameters", {})},
                  overrides=body.get("containerOverrides") or {}, region=self.region, account=self.account,
                  timeout_seconds=timeout, tags={**definition.get("tags", {}), **body.get("tags", {})})
        with self._jobs_lock:
            self._jobs[job.job_id] = job
        thread = threading.Thread(target=self._run, args=(job,), name=f"tfpipe-batch-{job.job_id[:8]}", daemon=True)
        self._threads.append(thread)
        thread.start()
        return {"jobArn": job.arn, "jobName": job.name, "jobId": job.job_id}

    def describe_jobs(self, body: dict) -> dict:
        ids = [ref.rsplit("/", 1)[-1] for ref in body.get("jobs", [])]
        with self._jobs_lock:
            found = [self._jobs[i] for i in ids if i in self._jobs]
        return {"jobs": [job.detail() for job in found]}

    def list_jobs(self, body: dict) -> dict:
        if not body.get("jobQueue"):
            raise BatchClientError("jobQueue is required (array and multi-node parents are not run locally)")
        queue_arn = self._job_queue_arn(body["jobQueue"])
        filters = {f["name"]: f["values"] for f in body.get("filters", [])}
        status = None if filters else body.get("jobStatus", "RUNNING")
        with self._jobs_lock:
            jobs = [j for j in self._jobs.values() if j.queue_arn == queue_arn and (status is None or j.status == status)]
        for value in filters.get("JOB_NAME", []):
            jobs = [j for j in jobs if _name_matches(j.name, value)]
        for value in filters.get("JOB_DEFINITION", []):
            jobs = [j for j in jobs if value in (j.definition["jobDefinitionArn"], j.definition["jobDefinitionName"])]
        jobs.sort(key=lambda j: j.created_at, reverse=True)
        start = int(body.get("nextToken") or 0)
        size = int(body.get("maxResults") or 100)
        page = jobs[start:start + size]
        answer: dict[str, Any] = {"jobSummaryList": [job.summary() for job in page]}
        if start + size < len(jobs):
            answer["nextToken"] = str(start + size)
        return answer

    def terminate_job(self, body: dict) -> dict:
        job_id = (body.get("jobId") or "").rsplit("/", 1)[-1]
        reason = body.get("reason") or "Terminated by user"
        with self._jobs_lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise BatchClientError(f"Job {job_id} not found")
        self.terminate(job, reason)
        return {}

    def terminate(self, job: Job, reason: str) -> None:
        with job.lock:
            if job.status in TERMINAL or job.terminate_reason:
                return
            job.terminate_reason = reason
            process = job.process
        if process is not None:
            threading.Thread(target=stop_process, args=(process, self.stop_timeout), daemon=True,
                             name=f"tfpipe-batch-stop-{job.job_id[:8]}").start()

    def get(self, job_id: str) -> Job | None:
        with self._jobs_lock:
            return self._jobs.get(job_id)

    # -- running ---------------------------------------------------------------------------------
    def _run(self, job: Job) -> None:
        self._transition(job, "RUNNABLE")
        while not self._slots.acquire(timeout=0.1):
            if job.terminate_reason or self._closing.is_set():
                self._finish(job, "FAILED", job.terminate_reason or "Stack shut down")
                return
        try:
            if job.terminate_reason or self._closing.is_set():
                self._finish(job, "FAILED", job.terminate_reason or "Stack shut down")
                return
            self._transition(job, "STARTING")
            self._attempt(job)
        finally:
            self._slots.release()

    def _attempt(self, job: Job) -> None:
        sink = LogSink(self._client("logs"), job.log_group, job.log_stream_name, self.jobs_dir / f"{job.job_id}.log")
        timer = None
        if job.timeout_seconds:
            timer = threading.Timer(job.timeout_seconds, self.terminate, args=(job, TIMED_OUT))
            timer.daemon = True
            timer.start()

        def started() -> None:
            with job.lock:
                job.started_at = now_ms()
                doomed = job.process if job.terminate_reason else None  # terminated while it was starting
            self._transition(job, "RUNNING")
            if doomed is not None:
                threading.Thread(target=stop_process, args=(doomed, self.stop_timeout), daemon=True).start()

        try:
            code = run_container(job, self.base_env(), self.jobs_dir / job.job_id, sink.write, started)
        except (OSError, ValueError) as exc:
            sink.write(f"CannotStartContainerError: {exc}")
            sink.close()
            with job.lock:
                job.container_reason = f"CannotStartContainerError: {exc}"
            self._finish(job, "FAILED", f"CannotStartContainerError: {exc}")
            return
        finally:
            if timer:
                timer.cancel()
        sink.close()
        with job.lock:
            job.exit_code = code if code >= 0 else 128 - code  # a signal, reported like Docker does
        if job.terminate_reason:
            self._finish(job, "FAILED", job.terminate_reason)
        else:
            self._finish(job, "SUCCEEDED" if code == 0 else "FAILED", EXITED)

    def _finish(self, job: Job, status: str, reason: str) -> None:
        with job.lock:
            job.status_reason = reason
            job.stopped_at = now_ms()
        self._transition(job, status)

    def _transition(self, job: Job, status: str) -> None:
        with job.lock:
            job.status = status
            detail = job.detail()
        log.info("batch job %s (%s): %s", job.name, job.job_id, status)
        try:
            self._client("events").put_events(Entries=[{
                "Source": "aws.batch", "DetailType": "Batch Job State Change", "Resources": [job.arn],
                "Detail": json.dumps(detail)}])
        except (ClientError, BotoCoreError) as exc:
            log.warning("putting the Batch Job State Change event for %s: %s", job.job_id, exc)

    def close(self) -> None:
        """Terminate every unfinished job (SIGTERM then SIGKILL) and wait for their runners."""
        self._closing.set()
        with self._jobs_lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            self.terminate(job, "Stack shut down")
        for thread in self._threads:
            thread.join(timeout=self.stop_timeout + 5)

    # -- lookups in moto -------------------------------------------------------------------------
    def _job_definition(self, reference: str) -> dict:
        batch = self._client("batch")
        if reference.startswith("arn:") or ":" in reference:
            found = batch.describe_job_definitions(jobDefinitions=[reference])["jobDefinitions"]
        else:
            found = batch.describe_job_definitions(jobDefinitionName=reference, status="ACTIVE")["jobDefinitions"]
        found = [d for d in found if d.get("status", "ACTIVE") == "ACTIVE"]
        if not found:
            raise BatchClientError(f"Job definition {reference} does not exist")
        return max(found, key=lambda d: d.get("revision", 0))

    def _job_queue_arn(self, reference: str) -> str:
        found = self._client("batch").describe_job_queues(jobQueues=[reference])["jobQueues"]
        if not found:
            raise BatchClientError(f"Job queue {reference} does not exist")
        return found[0]["jobQueueArn"]

    # -- wire ------------------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        operation = self._operations.get(environ.get("PATH_INFO", "").rstrip("/").lower())
        if operation is None or environ.get("REQUEST_METHOD") != "POST":
            return self.fallback(environ, start_response)
        request = Request(environ)
        try:
            body = json.loads(request.get_data() or b"{}")
            response = Response(json.dumps(operation(body)), status=200, content_type="application/json")
        except (BatchClientError, json.JSONDecodeError) as exc:
            response = Response(json.dumps({"message": str(exc)}), status=400, content_type="application/json",
                                headers={"x-amzn-ErrorType": "ClientException"})
        return response(environ, start_response)


def _name_matches(name: str, pattern: str) -> bool:
    return name.startswith(pattern[:-1]) if pattern.endswith("*") else name == pattern

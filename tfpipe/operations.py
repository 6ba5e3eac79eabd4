"""What the CLI and the demo do to a running pipeline: dispatch requests, decide approvals, read
runs, environments and their artifacts. Talks to the API like any tool (signed requests) and reads
state with the pipeline's own adapters."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

import requests

from chalicelib.core.audit import in_time_order, last_good_commit
from chalicelib.core.failure_cause import JobFailureCause
from chalicelib.core.signature import HEADER, sign
from chalicelib.tasks.status import describe_error
from chalicelib.wiring import Container
from tfpipe.target import Target

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


class OperatorError(Exception):
    pass


@dataclass
class ApiAnswer:
    status: int
    body: dict


class Operator:
    def __init__(self, target: Target):
        self.target = target
        target.activate()
        self.deps = Container(target.settings)

    # -- the API, signed like every other caller ----------------------------------------------------

    def _secret(self) -> str:
        if self.target.webhook_secret:
            return self.target.webhook_secret
        return self.deps.secrets.get(self.target.settings.webhook_secret_name)

    def post(self, path: str, payload: dict) -> ApiAnswer:
        body = json.dumps(payload).encode()
        try:
            response = requests.post(f"{self.target.api_url}{path}", data=body, timeout=30,
                                     headers={"Content-Type": "application/json", HEADER: sign(self._secret(), body)})
        except requests.RequestException as exc:
            raise OperatorError(f"calling {self.target.api_url}{path}: {exc.__class__.__name__}; is the "
                                f"{self.target.description} running?") from None
        try:
            data = response.json()
        except ValueError:
            data = {"message": response.text[:500]}
        return ApiAnswer(response.status_code, data)

    def dispatch(self, request: dict) -> ApiAnswer:
        request = {"request_id": f"cli-{uuid.uuid4()}", **request}
        return self.post("/dispatch", request)

    def decide(self, run_id: str, approved: bool, actor: str) -> ApiAnswer:
        return self.post(f"/runs/{run_id}/{'approve' if approved else 'reject'}", {"actor": actor})

    # -- reading state ------------------------------------------------------------------------------

    def runs(self) -> list[dict]:
        records = sorted(self.deps.runs.list_runs(), key=lambda r: r.started_at, reverse=True)
        return [vars(r) for r in records]

    def run(self, run_id: str) -> dict:
        record = self.deps.runs.get(run_id)
        if record is None:
            raise OperatorError(f"showing run {run_id}: no such run; `tfpipe runs` lists them")
        return vars(record)

    def execution(self, run_id: str) -> dict:
        sfn = self.deps.clients.stepfunctions
        detail = sfn.describe_execution(executionArn=self.run(run_id)["execution_arn"])
        history = sfn.get_execution_history(executionArn=detail["executionArn"], maxResults=1000)["events"]
        steps = [{"state": e["stateEnteredEventDetails"]["name"], "at": e["timestamp"].isoformat()}
                 for e in history if "stateEnteredEventDetails" in e]
        return {"status": detail["status"], "steps": steps, "output": detail.get("output"),
                "error": detail.get("error"), "cause": detail.get("cause")}

    def failure(self, run_id: str) -> dict | None:
        """Why a run failed: the last task failure its workflow caught (a job's SendTaskFailure, a task
        Lambda's error), with Terraform's error blocks and the failed job's log when a job said so;
        None when no task failed."""
        sfn = self.deps.clients.stepfunctions
        history = sfn.get_execution_history(executionArn=self.run(run_id)["execution_arn"], maxResults=1000)["events"]
        failed = next((e.get("taskFailedEventDetails") or {} for e in reversed(history) if e["type"] == "TaskFailed"),
                      None)
        if failed is None:
            return None
        error = {"Error": failed.get("error") or "Error", "Cause": failed.get("cause") or ""}
        job = JobFailureCause.parse(error["Cause"])
        return {"error": error["Error"], "reason": describe_error(error),
                "diagnostics": [d.to_dict() for d in job.diagnostics] if job else [],
                "log": job.log if job else None,
                "log_link": self.target.settings.artifact_link(job.log) if job and job.log else None}

    def artifacts(self, run_id: str) -> list[str]:
        s3 = self.deps.clients.s3
        listing = s3.list_objects_v2(Bucket=self.target.settings.artifacts_bucket, Prefix=f"runs/{run_id}/")
        return sorted(o["Key"] for o in listing.get("Contents", []))

    def log_tail(self, run_id: str, lines: int = 20) -> list[str]:
        logs = [k for k in self.artifacts(run_id) if k.endswith("log.txt")]
        tail: list[str] = []
        for key in logs:
            body = self.deps.clients.s3.get_object(Bucket=self.target.settings.artifacts_bucket, Key=key)["Body"]
            tail += body.read().decode("utf-8", "replace").splitlines()[-lines:]
        return tail[-lines:]

    def environments(self) -> list[dict]:
        """Every environment known to the pipeline: its lock, expiry, and last applied commit."""
        found: dict[tuple[str, str], dict] = {}

        def entry(repository: str, environment: str) -> dict:
            return found.setdefault((repository, environment), {
                "repository": repository, "environment": environment, "commit": None, "expires_at": None,
                "state": "unknown", "locked_by": None})

        for record in self.deps.runs.list_environments():
            item = entry(record.repository, record.environment)
            item.update(expires_at=record.destroy_at, state=record.state)
        for lock in self.deps.locker.list():
            entry(lock.repository, lock.environment)["locked_by"] = lock.run_id
        for run in self.deps.runs.list_runs():
            entry(run.repository, run.environment)
        for (repository, environment), item in found.items():
            history = in_time_order(self.deps.audit_log.history(repository, environment))
            item["commit"] = last_good_commit(history)
            if item["state"] == "unknown":
                destroyed = bool(history) and (history[-1].action, history[-1].result) == ("destroy", "destroyed")
                item["state"] = "destroyed" if destroyed else "applied" if item["commit"] else "none applied"
        return sorted(found.values(), key=lambda i: (i["repository"], i["environment"]))

    def repository_of(self, environment: str, repository: str | None = None) -> str:
        """The one repository that has `environment` (or the one named), else a clear error."""
        if repository:
            return repository
        known = {e["repository"] for e in self.environments() if e["environment"] == environment}
        if len(known) != 1:
            where = "; name one with --repository" if known else "; `tfpipe envs` lists them"
            raise OperatorError(f"finding environment {environment}: {len(known)} match{where}")
        return known.pop()

    def wait_for_run(self, run_id: str, timeout: float = 300, until=TERMINAL) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                execution = self.execution(run_id)
            except OperatorError:
                execution = {"status": "NOT_STARTED"}
            if execution["status"] in until:
                return execution
            if time.monotonic() > deadline:
                raise OperatorError(f"waiting for run {run_id}: still {execution['status']} after {timeout:.0f} s")
            time.sleep(0.5)

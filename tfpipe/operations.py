"""What the CLI and the demo do to a running pipeline: request runs, decide approvals, read runs,
environments and their artifacts. Talks to the API's operator routes like any tool, SigV4-signed with
IAM credentials (service execute-api; API Gateway authorizes them), and reads state with the
pipeline's own adapters."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import boto3.session
import botocore.session
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core.audit import in_time_order, last_good_commit
from chalicelib.core.failure_cause import JobFailureCause
from chalicelib.core.request import Environment
from chalicelib.core.tiers import artifacts_prefix, tier_for
from chalicelib.core.workflows import Workflow
from chalicelib.tasks.status import describe_error
from chalicelib.wiring import Container
from tfpipe import run_history
from tfpipe.run_history import History
from tfpipe.target import Target

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
WAITING_FOR_APPROVAL = "waiting-for-approval"


def shown_status(record: dict) -> str:
    """A run's status as people read it: a running run whose approval is open waits for approval."""
    if record.get("status") == "running" and record.get("approval_state") == "pending":
        return WAITING_FOR_APPROVAL
    return record.get("status") or "running"


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

    # -- the API's operator routes, SigV4-signed (IAM) ---------------------------------------------

    def _credentials(self) -> Credentials:
        """The stack's operator key on the embedded stack; in AWS the caller's own credentials."""
        if self.target.operator:
            return Credentials(self.target.operator["access_key_id"], self.target.operator["secret_access_key"])
        found = botocore.session.Session().get_credentials()
        if found is None:
            raise OperatorError(f"signing a call to {self.target.api_url}: no AWS credentials found; the API's "
                                "operator routes take SigV4-signed calls (IAM). Configure a profile or "
                                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
        return found.get_frozen_credentials()

    def caller_arn(self, doing: str) -> str:
        """Who this CLI acts as: the IAM identity of the credentials it signs with (STS GetCallerIdentity),
        recorded where an operator acts directly on the pipeline's state (an unlock)."""
        credentials = self._credentials()
        sts = boto3.session.Session(aws_access_key_id=credentials.access_key, aws_secret_access_key=credentials.secret_key,
                                    aws_session_token=credentials.token,
                                    region_name=self.target.settings.region).client("sts")
        try:
            return sts.get_caller_identity()["Arn"]
        except (BotoCoreError, ClientError) as exc:
            raise OperatorError(f"{doing}: finding your IAM identity (STS GetCallerIdentity) to record who did it: "
                                f"{exc}") from None

    def post(self, path: str, payload: dict) -> ApiAnswer:
        body = json.dumps(payload).encode()
        url = f"{self.target.api_url}{path}"
        signed = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
        SigV4Auth(self._credentials(), "execute-api", self.target.settings.region).add_auth(signed)
        try:
            response = requests.post(url, data=body, timeout=30, headers=dict(signed.headers))
        except requests.RequestException as exc:
            raise OperatorError(f"calling {self.target.api_url}{path}: {exc.__class__.__name__}; is the "
                                f"{self.target.description} running?") from None
        try:
            data = response.json()
        except ValueError:
            data = {"message": response.text[:500]}
        return ApiAnswer(response.status_code, data)

    def dispatch(self, request: dict) -> ApiAnswer:
        """Start the runs a PipelineRequest asks for (`POST /runs`, the operators' dispatch)."""
        request = {"request_id": f"cli-{uuid.uuid4()}", **request}
        return self.post("/runs", request)

    def decide(self, run_id: str, approved: bool, plan_sha256: str | None = None) -> ApiAnswer:
        """Approve or reject; the pipeline records the signing IAM identity as who decided. An approval
        names the plan it approves: `plan_sha256`, else the one the run waits with (`pending_plan`)."""
        if not approved:
            return self.post(f"/runs/{run_id}/reject", {})
        plan = plan_sha256 if plan_sha256 is not None else self.pending_plan(run_id)
        return self.post(f"/runs/{run_id}/approve", {"plan_sha256": plan or ""})

    def pending_plan(self, run_id: str) -> str | None:
        """The sha256 of the plan a run waits with for approval (None for an unknown run: the API says so)."""
        if not self.deps.settings.runs_table:
            raise OperatorError(f"approving run {run_id}: reading the plan it waits with needs TFPIPE_RUNS_TABLE; "
                                "set it, or name the plan you approve with --plan-sha256")
        record = self.deps.runs.get(run_id)
        return record.plan_sha256 if record else None

    # -- reading state ------------------------------------------------------------------------------

    def runs(self, repository: str | None = None, environment: str | None = None, status: str | None = None,
             limit: int | None = None) -> list[dict]:
        """Runs, newest first; `status` "waiting-for-approval" matches runs whose approval is open."""
        records = sorted(self.deps.runs.list_runs(), key=lambda r: r.started_at, reverse=True)
        rows = [vars(r) for r in records if (repository is None or r.repository == repository)
                and (environment is None or r.environment == environment)]
        if status is not None:
            rows = [r for r in rows if shown_status(r) == status or r["status"] == status]
        return rows[:limit] if limit else rows

    def run(self, run_id: str) -> dict:
        record = self.deps.runs.get(run_id)
        if record is None:
            raise OperatorError(f"showing run {run_id}: no such run; `tfpipe runs` lists them")
        return vars(record)

    def history(self, run_id: str) -> tuple[dict, History]:
        """The run's execution as Step Functions describes it, and its history read."""
        sfn = self.deps.clients.stepfunctions
        detail = sfn.describe_execution(executionArn=self.run(run_id)["execution_arn"])
        events, token = [], None
        while True:
            page = sfn.get_execution_history(executionArn=detail["executionArn"], maxResults=1000,
                                             **({"nextToken": token} if token else {}))
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                return detail, run_history.read(events, run_id)

    def execution(self, run_id: str) -> dict:
        return self.execution_view(self.artifacts_prefix(run_id), *self.history(run_id))

    @staticmethod
    def execution_view(prefix: str, detail: dict, history: History) -> dict:
        return {"status": detail["status"], "steps": history.steps,
                "output": run_history.as_json(detail.get("output")), "error": detail.get("error"),
                "cause": run_history.as_json(detail.get("cause")), "status_events": history.status_events,
                "jobs": [{"state": j.state, "action": j.action, "rollback": j.rollback, "result": j.result,
                          "error": j.error, "log": j.log_key(prefix)} for j in history.jobs]}

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

    def artifacts_prefix(self, run_id: str) -> str:
        record = self.run(run_id)  # the run's tier says under which prefix its jobs wrote
        tier = tier_for(Workflow(record["workflow"]), Environment(record["environment"], "").is_ephemeral)
        return artifacts_prefix(tier, run_id)

    def artifacts(self, run_id: str) -> list[str]:
        s3 = self.deps.clients.s3
        listing = s3.list_objects_v2(Bucket=self.target.settings.artifacts_bucket, Prefix=self.artifacts_prefix(run_id))
        return sorted(o["Key"] for o in listing.get("Contents", []))

    def last_log(self, run_id: str, history: History | None = None) -> tuple[str | None, list[str]]:
        """(key, lines) of the log of the job that ran last and left one (the plan's log says little
        about a failed apply); a run that ran no job has none."""
        history = history or self.history(run_id)[1]
        present, prefix = set(self.artifacts(run_id)), self.artifacts_prefix(run_id)
        for job in reversed(history.jobs):
            key = job.log_key(prefix)
            if key in present:
                body = self.deps.clients.s3.get_object(Bucket=self.target.settings.artifacts_bucket, Key=key)["Body"]
                return key, body.read().decode("utf-8", "replace").splitlines()
        return None, []

    def log_tail(self, run_id: str, lines: int = 20) -> list[str]:
        return self.last_log(run_id)[1][-lines:]

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
                changes = [r for r in history if r.action != "unlock"]  # an unlock changes nothing there
                destroyed = bool(changes) and (changes[-1].action, changes[-1].result) == ("destroy", "destroyed")
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

    def wait_for_run(self, run_id: str, timeout: float = 300, until=TERMINAL,
                     on_poll: Callable[[dict, History], None] | None = None) -> dict:
        """Poll the run's execution until its status is in `until`; `on_poll` sees each answer and the
        history read (to show progress)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                detail, history = self.history(run_id)
                execution = self.execution_view(self.artifacts_prefix(run_id), detail, history)
            except OperatorError:
                execution, history = {"status": "NOT_STARTED"}, History()
            if on_poll is not None:
                on_poll(execution, history)
            if execution["status"] in until:
                return execution
            if time.monotonic() > deadline:
                raise OperatorError(f"waiting for run {run_id}: still {execution['status']} after {timeout:.0f} s")
            time.sleep(0.5)

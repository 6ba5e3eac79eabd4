"""AWS Batch "Job State Change" events (EventBridge), read into what the pipeline needs when a job
FAILED: whose task token to fail, and which run to report it for.

The event's `detail` is the job's JobDetail as DescribeJobs returns it; the job's environment
(`detail.container.environment`, a list of name/value pairs) carries the JobSpec and the task token
the submitting Lambda put there.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.core.job import JOB_ENV, TASK_TOKEN_ENV, JobAction, JobErrorClass, JobSpec
from chalicelib.core.status import Phase, Status, StatusEvent
from chalicelib.core.workflows import Workflow

DETAIL_TYPE = "Batch Job State Change"
FAILED_JOB_PATTERN = {"source": ["aws.batch"], "detail-type": [DETAIL_TYPE], "detail": {"status": ["FAILED"]}}

# The phase a job's action belongs to; a PLAN-APPLY job of the PLAN-APPLY workflow is its rollback.
PHASE_BY_ACTION: dict[JobAction, Phase] = {
    JobAction.PLAN: Phase.PLAN, JobAction.APPLY: Phase.APPLY, JobAction.DESTROY: Phase.DESTROY,
    JobAction.CUSTOM: Phase.CUSTOM, JobAction.PLAN_APPLY: Phase.APPLY, JobAction.PLAN_DESTROY: Phase.PLAN,
}


@dataclass(frozen=True)
class FailedJob:
    job_id: str
    job_name: str
    reason: str
    exit_code: int | None
    log_stream: str | None
    task_token: str | None
    spec: JobSpec | None  # None: not a tfpipe job, or its spec could not be read

    @property
    def cause(self) -> str:
        code = f", exit code {self.exit_code}" if self.exit_code is not None else ""
        return f"Batch job {self.job_name} ({self.job_id}) failed: {self.reason}{code}"


def failed_job(detail: dict) -> FailedJob:
    container = detail.get("container") or {}
    environment = {item.get("name"): item.get("value") for item in container.get("environment") or []
                   if isinstance(item, dict)}
    spec = None
    if environment.get(JOB_ENV):
        try:
            spec = JobSpec.from_json(environment[JOB_ENV])
        except (ValueError, TypeError, KeyError):
            spec = None
    reason = detail.get("statusReason") or container.get("reason") or "no reason given"
    attempts = detail.get("attempts") or []
    last = (attempts[-1].get("container") or {}) if attempts else {}
    exit_code = container.get("exitCode", last.get("exitCode"))
    return FailedJob(job_id=str(detail.get("jobId", "")), job_name=str(detail.get("jobName", "")), reason=str(reason),
                     exit_code=exit_code if isinstance(exit_code, int) else None,
                     log_stream=container.get("logStreamName") or last.get("logStreamName"),
                     task_token=environment.get(TASK_TOKEN_ENV) or None, spec=spec)


def is_job_died_report(event: StatusEvent) -> bool:
    """Whether `event` is `failure_status`'s report: Batch saw the container exit and knows no more
    (the executor's own failure, when it reported one, says what went wrong)."""
    details = event.details or {}
    return details.get("error_class") == JobErrorClass.JOB_FAILED.value and "batch_job_id" in details


def failure_status(job: FailedJob, time: str) -> StatusEvent | None:
    """The status event that tells people the job died; None for a job that is not a tfpipe run's."""
    spec = job.spec
    if spec is None:
        return None
    phase = PHASE_BY_ACTION[spec.action]
    if spec.action == JobAction.PLAN_APPLY and spec.workflow == Workflow.PLAN_APPLY.value:
        phase = Phase.ROLLBACK
    details = {"error_class": JobErrorClass.JOB_FAILED.value, "batch_job_id": job.job_id}
    if job.log_stream:
        details["log_stream"] = job.log_stream
    return StatusEvent(run_id=spec.run_id, workflow=spec.workflow, phase=phase, status=Status.FAILED,
                       repository=spec.repository, sha=spec.sha, environment=spec.environment, actor=spec.actor,
                       message=f"{spec.action.value} job of {spec.sha[:7]} for {spec.environment} died: {job.reason}",
                       timestamp=time, pull_request=spec.pull_request, details=details)


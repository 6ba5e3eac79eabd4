"""Terraform jobs on AWS Batch: the job spec travels in the job's environment (`TFPIPE_JOB`), never a
secret nor the task token, which the job fetches from the tokens table (docs/security.md)."""

from __future__ import annotations

import re

from chalicelib.core.errors import DependencyFailed
from chalicelib.core.job import JOB_ENV, JobSpec

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
MAX_JOB_NAME = 128


def job_name(spec: JobSpec) -> str:
    return _UNSAFE.sub("-", f"tfpipe-{spec.action.value}-{spec.run_id}")[:MAX_JOB_NAME]


class BatchJobs:
    def __init__(self, client):
        self._client = client

    def submit(self, spec: JobSpec, job_definition: str, job_queue: str) -> str:
        """Submit the job; answers its id."""
        try:
            answer = self._client.submit_job(
                jobName=job_name(spec), jobQueue=job_queue, jobDefinition=job_definition,
                # No tags: tagging on submit needs batch:TagResource too; the job name carries the run id.
                containerOverrides={"environment": [{"name": JOB_ENV, "value": spec.to_json()}]})
        except Exception as exc:
            raise DependencyFailed(f"submitting the {spec.action.value} job of run {spec.run_id} for "
                                   f"{spec.environment} to {job_queue}: {exc}") from exc
        return answer["jobId"]

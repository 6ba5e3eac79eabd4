"""A Batch job FAILED: fail its task token at once (so its workflow moves on in seconds, not at the
heartbeat timeout) and tell people through the status queue.

Only the first to close the token reports: if the executor already failed it with a precise error
class (and then exited non-zero), Step Functions answers that the token is closed and this stays
quiet, so the workflow's own, better-worded failure status is the one people see.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from chalicelib.adapters.task_callbacks import TokenClosed
from chalicelib.core.batch_events import failed_job, failure_status
from chalicelib.core.job import JobErrorClass, token_key
from chalicelib.ports import JobTokens, StatusPublisher

log = logging.getLogger(__name__)


def job_failed(detail: dict, time: str, callbacks, publisher: StatusPublisher, tokens: JobTokens | None = None) -> dict:
    """`callbacks` is the StepFunctionsCallbacks adapter: `fail` raises TokenClosed for a token no task
    waits on any more, DependencyFailed when Step Functions could not be reached (then this raises,
    and EventBridge's asynchronous invocation is retried). The token is the one submit_job left in
    the tokens table for the job (`tokens`), or, for a job started by hand, the one in its environment."""
    job = failed_job(detail)
    held = None
    if tokens is not None and job.spec and job.spec.job_key:
        held = tokens.get(token_key(job.spec))
        if held is None:  # the executor deletes its item once it answered: the task has ended
            log.info("batch job %s failed after its job answered its task token", job.job_id)
            return {"job_id": job.job_id, "token": "already closed"}
        job = replace(job, task_token=held.task_token)
    if job.task_token is None:
        log.info("batch job %s failed; it carries no task token, so it is not a tfpipe run's", job.job_id)
        return {"job_id": job.job_id, "token": "none"}
    try:
        callbacks.fail(job.task_token, JobErrorClass.JOB_FAILED.value, job.cause)
    except TokenClosed as exc:
        log.info("batch job %s failed after its task was already ended (%s)", job.job_id, type(exc).__name__)
        return {"job_id": job.job_id, "token": "already closed"}
    if held is not None:
        try:
            tokens.delete(token_key(job.spec))
        except Exception:  # the token is closed now; its item expires through the table's TTL
            log.warning("deleting the answered token of batch job %s", job.job_id, exc_info=True)
    event = failure_status(job, time)
    if event is not None:
        publisher.publish(event)
    return {"job_id": job.job_id, "token": "failed", "run_id": event.run_id if event else None}

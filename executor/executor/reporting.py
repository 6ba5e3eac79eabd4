"""What leaves the job besides artifacts: status events on the SQS status queue and the answer to
the task token. Everything is masked on the way out; a lost status event never fails the job."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.core.failure_cause import Diagnostic, JobFailureCause, trimmed
from chalicelib.core.job import JobResult, JobSpec
from chalicelib.core.status import Phase, Status, StatusEvent
from executor.failures import JobFailure


class Reporter:
    def __init__(self, spec: JobSpec, status_publisher, callbacks, token: str | None, masker, log):
        self._spec = spec
        self._publisher = status_publisher
        self._callbacks = callbacks
        self._token = token
        self._masker = masker
        self._log = log

    @property
    def answers_a_token(self) -> bool:
        return bool(self._callbacks and self._token)

    def publish(self, phase: Phase, status: Status, message: str, artifacts: dict, details: dict | None = None) -> None:
        if self._publisher is None:
            return
        spec = self._spec
        event = StatusEvent(
            run_id=spec.run_id, workflow=spec.workflow, phase=phase, status=status, repository=spec.repository,
            sha=spec.sha, environment=spec.environment, actor=spec.actor, message=self._masker.mask(message),
            timestamp=datetime.now(UTC).isoformat(timespec="seconds"), pull_request=spec.pull_request,
            artifacts=dict(artifacts), details=self._masker.mask_data({"action": spec.action.value, **(details or {})}))
        try:
            self._publisher.publish(event)
        except Exception as exc:
            self._log.event(f"publishing status: {exc}", level="warning")

    def cause(self, failure: JobFailure, log_key: str | None) -> JobFailureCause:
        """Why the job failed, masked, then bounded (masking first: a cut must never leave part of a
        secret in clear)."""
        mask = self._masker.mask
        diagnostics = [Diagnostic(mask(d.summary), mask(d.text), mask(d.file) if d.file else None, d.line)
                       for d in failure.diagnostics]
        return JobFailureCause(message=mask(str(failure)), diagnostics=trimmed(diagnostics), log=log_key,
                               log_tail=mask(self._log.tail()))

    def answer(self, result: JobResult | None, failure: JobFailure | None, cause: JobFailureCause | None = None) -> bool:
        """SendTaskSuccess or SendTaskFailure; False when there is no token or it could not be answered."""
        if not self.answers_a_token:
            return False
        try:
            if failure:
                cause = cause or self.cause(failure, None)
                self._callbacks.fail(self._token, failure.error.value, self._masker.mask(cause.to_json()))
            else:
                self._callbacks.succeed(self._token, self._masker.mask_data(result.to_dict()))
            return True
        except Exception as exc:
            self._log.event(f"answering the task token: {exc}", level="error")
            return False

"""How a job fails: an error class from the contract (`JobErrorClass`), a message saying what was
being done, and Terraform's own `Error:` blocks when Terraform failed. The runner turns it into
SendTaskFailure(error, cause) with a `JobFailureCause` (chalicelib/core/failure_cause.py)."""

from __future__ import annotations

from chalicelib.core.failure_cause import Diagnostic
from chalicelib.core.job import JobErrorClass


class JobFailure(Exception):
    def __init__(self, error: JobErrorClass, message: str, diagnostics: list[Diagnostic] | None = None):
        self.error = error
        self.diagnostics = list(diagnostics or [])  # unmasked: the reporter masks them on the way out
        super().__init__(message)

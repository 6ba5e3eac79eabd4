"""How a job fails: an error class from the contract (`JobErrorClass`) and a message saying what was
being done. The runner turns it into SendTaskFailure(error, cause)."""

from __future__ import annotations

from chalicelib.core.job import JobErrorClass


class JobFailure(Exception):
    def __init__(self, error: JobErrorClass, message: str):
        self.error = error
        super().__init__(message)

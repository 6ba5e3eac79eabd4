"""The few domain exceptions, and the one place they map to HTTP codes and ASL error names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One bad field: what it is, what it got, what is accepted."""

    field: str
    got: object
    accepted: str

    def __str__(self) -> str:
        got = self.got if isinstance(self.got, str | int | float | type(None)) else type(self.got).__name__
        return f"{self.field}: got {got!r}; accepted: {self.accepted}"

    def to_dict(self) -> dict:
        return {"field": self.field, "got": _printable(self.got), "accepted": self.accepted}


def _printable(value: object) -> object:
    if isinstance(value, str | int | float | bool | type(None)):
        return value if not isinstance(value, str) else value[:200]
    return type(value).__name__


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose.

    `code` is the error name a Step Functions Catch/Retry matches; `http_status` is what an API
    route answers. Subclasses set both; the message says what was being done.
    """

    code = "PipelineError"
    http_status = 500

    def to_dict(self) -> dict:
        return {"error": self.code, "message": str(self)}


class InvalidRequest(PipelineError):
    code = "InvalidRequest"
    http_status = 400

    def __init__(self, doing: str, errors: list[FieldError]):
        self.errors = errors
        super().__init__(f"{doing}: " + "; ".join(str(e) for e in errors))

    def to_dict(self) -> dict:
        return {"error": self.code, "message": str(self), "fields": [e.to_dict() for e in self.errors]}


class Unauthenticated(PipelineError):
    code = "Unauthenticated"
    http_status = 401


class Forbidden(PipelineError):
    code = "Forbidden"
    http_status = 403


class NotFound(PipelineError):
    code = "NotFound"
    http_status = 404


class PayloadTooLarge(PipelineError):
    code = "PayloadTooLarge"
    http_status = 413


class LockHeld(PipelineError):
    """The environment lock is held by another run; workflows wait and retry on this name."""

    code = "LockHeld"
    http_status = 409


class Conflict(PipelineError):
    """The request names a state the pipeline is no longer in (an approval of a plan the run does not
    wait with, or of a run a newer plan superseded)."""

    code = "Conflict"
    http_status = 409


class StalePlan(PipelineError):
    """The approved plan may not be applied any more (the environment moved on since it was made); the
    workflow refuses the apply on this name, as it does when the executor finds the state moved."""

    code = "StalePlan"
    http_status = 409


class DependencyFailed(PipelineError):
    """A service the pipeline depends on (AWS, GitHub, Slack) failed; usually worth retrying."""

    code = "DependencyFailed"
    http_status = 502


class PreviewCollision(PipelineError):
    """A preview plan would create a resource named like one of a long-lived environment's (shared-account
    mode, core/collisions.py); APPLY EPHEMERAL refuses it before apply on this name."""

    code = "PreviewCollision"
    http_status = 409


HTTP_STATUS_BY_CODE = {cls.code: cls.http_status for cls in
                       (PipelineError, InvalidRequest, Unauthenticated, Forbidden, NotFound,
                        PayloadTooLarge, LockHeld, Conflict, StalePlan, DependencyFailed, PreviewCollision)}

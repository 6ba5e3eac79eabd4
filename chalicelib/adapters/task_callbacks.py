"""Step Functions task-token callbacks: heartbeat, success, failure.

Used by the executor (its Terraform job's token) and by the approval handlers (the approval token).
A token the execution no longer waits for (timed out, execution stopped) raises `TokenClosed`, so a
caller can tell "nobody is listening" from a failure to reach Step Functions.
"""

from __future__ import annotations

import json

from chalicelib.core.errors import DependencyFailed

MAX_ERROR = 256
MAX_CAUSE = 32768
_CLOSED = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}


class TokenClosed(Exception):
    """Step Functions no longer waits for this token."""


class StepFunctionsCallbacks:
    def __init__(self, client):
        self._client = client

    def heartbeat(self, token: str) -> None:
        self._call("sending a task heartbeat", self._client.send_task_heartbeat, taskToken=token)

    def succeed(self, token: str, output: dict) -> None:
        self._call("sending task success", self._client.send_task_success, taskToken=token,
                   output=json.dumps(output, sort_keys=True, default=str))

    def fail(self, token: str, error: str, cause: str) -> None:
        # Step Functions caps both fields; keep the tail of the cause, where the error usually is.
        self._call(f"sending task failure {error}", self._client.send_task_failure, taskToken=token,
                   error=error[:MAX_ERROR], cause=cause[-MAX_CAUSE:])

    @staticmethod
    def _call(doing: str, method, **kwargs) -> None:
        try:
            method(**kwargs)
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
            if code in _CLOSED:
                raise TokenClosed(f"{doing}: {code}") from exc
            raise DependencyFailed(f"{doing}: {exc}") from exc

"""Starting workflow executions. The run id is the execution name, so starting twice is harmless."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from chalicelib.core.errors import DependencyFailed
from chalicelib.core.runs import Run
from chalicelib.ports import StartedRun


def execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


class StepFunctionsStarter:
    def __init__(self, client):
        self._client = client

    def start(self, state_machine_arn: str, run: Run) -> StartedRun:
        try:
            response = self._client.start_execution(stateMachineArn=state_machine_arn, name=run.run_id,
                                                    input=json.dumps(run.to_dict()))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ExecutionAlreadyExists":
                return StartedRun(run.run_id, execution_arn(state_machine_arn, run.run_id), already_started=True)
            raise DependencyFailed(f"starting {run.workflow.title} run {run.run_id} for "
                                   f"{run.request.environment.name}: {exc}") from exc
        return StartedRun(run.run_id, response["executionArn"], already_started=False)

    def is_running(self, execution_arn: str) -> bool | None:
        """Whether the execution still runs; None when it cannot be told (unknown, or no answer)."""
        try:
            return self._client.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
        except ClientError:
            return None

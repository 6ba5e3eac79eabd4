"""TTL destroy schedules: one-time EventBridge Scheduler `at()` schedules that start the DESTROY
state machine, named by `core.naming.schedule_name` so create, move and delete are idempotent, and
deleted by the scheduler itself once they fire (ActionAfterCompletion DELETE)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from chalicelib.core.errors import DependencyFailed


def at_expression(when: datetime) -> str:
    return f"at({when.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S')})"


def parse_at_expression(expression: str) -> datetime | None:
    if not expression.startswith("at(") or not expression.endswith(")"):
        return None
    return datetime.strptime(expression[3:-1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


class SchedulerTtlSchedules:
    def __init__(self, client, group: str, role_arn: str):
        self._client = client
        self._group = group or "default"
        self._role_arn = role_arn

    def put(self, name: str, when: datetime, target_arn: str, target_input: dict) -> None:
        """Create the schedule, or move it when it exists already."""
        args = {"Name": name, "GroupName": self._group, "ScheduleExpression": at_expression(when),
                "ScheduleExpressionTimezone": "UTC", "FlexibleTimeWindow": {"Mode": "OFF"},
                "ActionAfterCompletion": "DELETE", "State": "ENABLED",
                "Description": f"tfpipe: destroy {target_input.get('request', {}).get('environment', {}).get('name')}",
                "Target": {"Arn": target_arn, "RoleArn": self._role_arn,
                           "Input": json.dumps(target_input, sort_keys=True),
                           "RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 3600}}}
        try:
            self._client.create_schedule(**args)
        except ClientError as exc:
            if _code(exc) != "ConflictException":
                raise DependencyFailed(f"creating TTL schedule {name} in group {self._group}: {exc}") from exc
            try:
                self._client.update_schedule(**args)
            except ClientError as exc2:
                raise DependencyFailed(f"moving TTL schedule {name} in group {self._group}: {exc2}") from exc2

    def when(self, name: str) -> datetime | None:
        """When the schedule fires, or None when there is none."""
        try:
            answer = self._client.get_schedule(Name=name, GroupName=self._group)
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return None
            raise DependencyFailed(f"reading TTL schedule {name} in group {self._group}: {exc}") from exc
        return parse_at_expression(answer["ScheduleExpression"])

    def delete(self, name: str) -> bool:
        try:
            self._client.delete_schedule(Name=name, GroupName=self._group)
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return False
            raise DependencyFailed(f"deleting TTL schedule {name} in group {self._group}: {exc}") from exc
        return True

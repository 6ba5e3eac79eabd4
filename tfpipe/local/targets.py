"""Delivering to a target ARN, the way EventBridge and EventBridge Scheduler do, chosen by table."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from tfpipe.local.lambda_service import function_name

log = logging.getLogger("tfpipe.local.targets")


class TargetError(Exception):
    pass


class Targets:
    def __init__(self, client: Callable[[str], Any], invoke_async: Callable[[str, bytes], None]):
        self._client = client  # service name -> boto3 client on the stack
        self._invoke_async = invoke_async
        self._table: dict[str, Callable[[str, str], None]] = {
            "states": self._start_execution, "lambda": self._invoke, "sqs": self._send_message,
        }

    def deliver(self, arn: str, payload: str) -> None:
        parts = arn.split(":")
        deliver = self._table.get(parts[2] if len(parts) > 2 else "")
        if deliver is None:
            raise TargetError(f"delivering to {arn}: only Step Functions, Lambda and SQS targets run locally")
        deliver(arn, payload)

    def _start_execution(self, arn: str, payload: str) -> None:
        # AWS names an unnamed execution with a UUID; moto would name every one "None".
        execution = self._client("stepfunctions").start_execution(stateMachineArn=arn, input=payload,
                                                                  name=str(uuid.uuid4()))
        log.info("started %s", execution["executionArn"])

    def _invoke(self, arn: str, payload: str) -> None:
        name = function_name(arn)
        if name is None:
            raise TargetError(f"delivering to {arn}: not a Lambda function ARN")
        self._invoke_async(name, payload.encode())

    def _send_message(self, arn: str, payload: str) -> None:
        _, _, _, _, account, name = arn.split(":", 5)
        sqs = self._client("sqs")
        url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=payload)

"""SQS queues polled into the Chalice app's `@app.on_sqs_message` functions, with Lambda's semantics.

Like Lambda's event source mapping: a batch of up to `batch_size` messages is one invocation; a
function error leaves the whole batch to reappear after the queue's visibility timeout (and moto
moves a message to the DLQ once its receive count passes the redrive policy's maxReceiveCount); a
`{"batchItemFailures": [{"itemIdentifier": <messageId>}]}` answer deletes every other message.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

log = logging.getLogger("tfpipe.local.sqs")


def lambda_sqs_record(message: dict, queue_arn: str, region: str) -> dict:
    attributes = {
        name: {"stringValue": value.get("StringValue"), "binaryValue": value.get("BinaryValue"),
               "stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
        for name, value in message.get("MessageAttributes", {}).items()
    }
    return {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
            "attributes": message.get("Attributes", {}), "messageAttributes": attributes,
            "md5OfBody": message.get("MD5OfBody", ""), "eventSource": "aws:sqs", "eventSourceARN": queue_arn,
            "awsRegion": region}


def failed_ids(answer: Any) -> set[str] | None:
    """Message ids a partial-batch answer reports as failed; None when the answer is not one."""
    if isinstance(answer, dict) and isinstance(answer.get("batchItemFailures"), list):
        return {str(item.get("itemIdentifier")) for item in answer["batchItemFailures"] if isinstance(item, dict)}
    return None


class SqsPoller:
    def __init__(self, sqs: Any, invoke: Callable[[str, bytes], Any], function_name: str, queue: str,
                 batch_size: int, region: str, idle_seconds: float = 0.2):
        self._sqs = sqs
        self._invoke = invoke  # LambdaService.invoke
        self.function_name = function_name
        self.queue = queue
        self.batch_size = max(1, batch_size)
        self.region = region
        self.idle_seconds = idle_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"tfpipe-sqs-{function_name}", daemon=True)
        self._queue_url: str | None = None
        self._queue_arn = ""

    def start(self) -> SqsPoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        warned = False
        while not self._stop.is_set():
            try:
                if self._queue_url is None:
                    self._resolve()
                if not self.poll_once():
                    self._stop.wait(self.idle_seconds)
            except ClientError as exc:
                if not warned:
                    log.warning("polling %s for %s: %s (retrying)", self.queue, self.function_name, exc)
                    warned = True
                self._queue_url = None
                self._stop.wait(1.0)
            except Exception:
                log.exception("polling %s for %s", self.queue, self.function_name)
                self._stop.wait(1.0)

    def _resolve(self) -> None:
        name = self.queue.rsplit(":", 1)[-1]
        self._queue_url = self._sqs.get_queue_url(QueueName=name)["QueueUrl"]
        self._queue_arn = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]

    def poll_once(self) -> bool:
        """Receive one batch and run it; False when the queue was empty."""
        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=min(self.batch_size, 10), AttributeNames=["All"],
            MessageAttributeNames=["All"], WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return False
        event = {"Records": [lambda_sqs_record(m, self._queue_arn, self.region) for m in messages]}
        outcome = self._invoke(self.function_name, json.dumps(event).encode())
        if outcome.error:
            log.warning("%s failed a batch of %d from %s; it returns after the visibility timeout",
                        self.function_name, len(messages), self.queue)
            return True
        try:
            failed = failed_ids(json.loads(outcome.payload or b"null"))
        except json.JSONDecodeError:
            failed = None
        done = [m for m in messages if not failed or m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        return True

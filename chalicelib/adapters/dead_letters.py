"""The status queue's dead-letter queue, written to directly when a message's retries are spent so
that it arrives with the reason (SQS's own redrive moves it without one)."""

from __future__ import annotations

from chalicelib.core.errors import DependencyFailed

REASON_ATTRIBUTE = "tfpipe-failure-reason"
MAX_REASON = 4000


class SqsDeadLetters:
    def __init__(self, client, queue_url: str):
        self._client = client
        self._queue_url = queue_url

    def send(self, body: str, reason: str) -> None:
        try:
            self._client.send_message(
                QueueUrl=self._queue_url, MessageBody=body,
                MessageAttributes={REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason[:MAX_REASON]}})
        except Exception as exc:
            raise DependencyFailed(f"moving a status message to the dead-letter queue: {exc}") from exc

"""Status events onto the SQS status queue; one consumer fans them out to Slack and GitHub."""

from __future__ import annotations

from chalicelib.core.errors import DependencyFailed
from chalicelib.core.status import StatusEvent


class SqsStatusPublisher:
    def __init__(self, client, queue_url: str):
        self._client = client
        self._queue_url = queue_url

    def publish(self, event: StatusEvent) -> None:
        try:
            self._client.send_message(QueueUrl=self._queue_url, MessageBody=event.to_json())
        except Exception as exc:
            raise DependencyFailed(
                f"publishing {event.phase.value}/{event.status.value} status of run {event.run_id}: {exc}") from exc

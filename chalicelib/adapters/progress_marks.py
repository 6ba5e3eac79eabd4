"""Progress marks in the deliveries table: one item per PR comment holding the progress of the event
it shows, moved forward only, by conditional write (an event retried after newer ones went out must
not put an older state back on the pull request)."""

from __future__ import annotations

import time

from botocore.exceptions import ClientError

from chalicelib.core.errors import DependencyFailed


class DynamoDbProgressMarks:
    def __init__(self, client, table: str, keep_days: int = 30, clock=time.time):
        self._client = client
        self._table = table
        self._keep = keep_days * 86400
        self._clock = clock

    def advance(self, key: str, progress: str) -> bool:
        try:
            self._client.put_item(
                TableName=self._table,
                Item={"delivery": {"S": key}, "progress": {"S": progress},
                      "expires_at": {"N": str(int(self._clock()) + self._keep)}},
                ConditionExpression="attribute_not_exists(delivery) OR progress <= :p",
                ExpressionAttributeValues={":p": {"S": progress}})
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise DependencyFailed(f"recording the progress shown for {key}: {exc}") from exc

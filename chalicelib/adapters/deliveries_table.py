"""The delivery ledger in DynamoDB: one item per webhook delivery or dispatch request id.

An item is claimed by conditional put; a claim left `in-progress` past its lease (its holder died)
can be taken over by a conditional update, so a crash never swallows a delivery. Items expire
through the table's TTL attribute.
"""

from __future__ import annotations

import json
import time

from botocore.exceptions import ClientError

from chalicelib.core.errors import DependencyFailed
from chalicelib.ports import DeliveryClaim


class DynamoDbDeliveryLedger:
    def __init__(self, client, table: str, lease_seconds: int = 120, keep_days: int = 30, clock=time.time):
        self._client = client
        self._table = table
        self._lease = lease_seconds
        self._keep = keep_days * 86400
        self._clock = clock

    def claim(self, key: str) -> DeliveryClaim:
        now = int(self._clock())
        try:
            self._client.put_item(
                TableName=self._table,
                Item={"delivery": {"S": key}, "state": {"S": "in-progress"}, "claimed_at": {"N": str(now)},
                      "expires_at": {"N": str(now + self._keep)}},
                ConditionExpression="attribute_not_exists(delivery)")
            return DeliveryClaim(first=True, response=None)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise DependencyFailed(f"recording delivery {key}: {exc}") from exc
        item = self._client.get_item(TableName=self._table, Key={"delivery": {"S": key}},
                                     ConsistentRead=True).get("Item", {})
        if item.get("state", {}).get("S") == "done":
            return DeliveryClaim(first=False, response=json.loads(item["response"]["S"]))
        return DeliveryClaim(first=self._take_over(key, now), response=None)

    def _take_over(self, key: str, now: int) -> bool:
        try:
            self._client.update_item(
                TableName=self._table, Key={"delivery": {"S": key}},
                UpdateExpression="SET claimed_at = :now",
                ConditionExpression="#s = :progress AND claimed_at < :stale",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={":now": {"N": str(now)}, ":progress": {"S": "in-progress"},
                                           ":stale": {"N": str(now - self._lease)}})
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise DependencyFailed(f"taking over delivery {key}: {exc}") from exc

    def complete(self, key: str, response: dict) -> None:
        self._client.update_item(
            TableName=self._table, Key={"delivery": {"S": key}},
            UpdateExpression="SET #s = :done, #r = :response",
            ExpressionAttributeNames={"#s": "state", "#r": "response"},
            ExpressionAttributeValues={":done": {"S": "done"}, ":response": {"S": json.dumps(response)}})

    def abandon(self, key: str) -> None:
        self._client.delete_item(TableName=self._table, Key={"delivery": {"S": key}},
                                 ConditionExpression="#s = :progress",
                                 ExpressionAttributeNames={"#s": "state"},
                                 ExpressionAttributeValues={":progress": {"S": "in-progress"}})

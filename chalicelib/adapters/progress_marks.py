"""Progress marks in the deliveries table: one item per PR comment (and commit status, deployment)
holding the mark of the event it shows. An event retried after newer ones went out must not put an
older state back, and Batch's vague "job died" must not replace a precise failure of the same run;
`Mark.replaces` (chalicelib/core/fanout.py) decides, this adapter makes the decision stick.

Compare and swap: read the shown mark, decide, write on condition that the item is still the one that
was read (each write stores a fresh `version`); a concurrent twin that wrote in between makes the
write fail, and the decision is taken again against what it wrote."""

from __future__ import annotations

import json
import time
import uuid

from botocore.exceptions import ClientError

from chalicelib.core.errors import DependencyFailed
from chalicelib.core.fanout import Mark

ATTEMPTS = 5


class DynamoDbProgressMarks:
    def __init__(self, client, table: str, keep_days: int = 30, clock=time.time):
        self._client = client
        self._table = table
        self._keep = keep_days * 86400
        self._clock = clock

    def advance(self, key: str, mark: Mark) -> bool:
        for _ in range(ATTEMPTS):
            item = self._read(key)
            if not mark.replaces(_mark(item)):
                return False
            if self._swap(key, mark, item):
                return True
        raise DependencyFailed(f"recording the progress shown for {key}: it changed under {ATTEMPTS} attempts")

    def _read(self, key: str) -> dict | None:
        try:
            return self._client.get_item(TableName=self._table, Key={"delivery": {"S": key}},
                                         ConsistentRead=True).get("Item")
        except ClientError as exc:
            raise DependencyFailed(f"reading the progress shown for {key}: {exc}") from exc

    def _swap(self, key: str, mark: Mark, was: dict | None) -> bool:
        if was is None:
            condition, values = "attribute_not_exists(delivery)", {}
        elif "version" in was:
            condition, values = "version = :was", {":was": was["version"]}
        else:  # written before marks had versions
            condition, values = "attribute_not_exists(version) AND progress = :was", {":was": was["progress"]}
        try:
            self._client.put_item(
                TableName=self._table,
                Item={"delivery": {"S": key}, "progress": {"S": mark.progress},
                      "mark": {"S": json.dumps(mark.to_dict(), sort_keys=True)}, "version": {"S": uuid.uuid4().hex},
                      "expires_at": {"N": str(int(self._clock()) + self._keep)}},
                ConditionExpression=condition, **({"ExpressionAttributeValues": values} if values else {}))
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise DependencyFailed(f"recording the progress shown for {key}: {exc}") from exc


def _mark(item: dict | None) -> Mark | None:
    if item is None:
        return None
    if "mark" in item:
        return Mark.from_dict(json.loads(item["mark"]["S"]))
    return Mark(progress=item["progress"]["S"])

"""Environment locks in DynamoDB, by conditional write (docs/architecture.md section 3, Locks).

One item per (repository, environment), keyed `<repository>#<environment>`; a second item per
environment, `queue#<repository>#<environment>`, names the newest PLAN-APPLY waiting for it, so older
waiters know they are superseded. The table's one key is `pk` (string, terraform/names.json).
"""

from __future__ import annotations

from datetime import UTC, datetime

from botocore.exceptions import ClientError

from chalicelib.core.errors import DependencyFailed, LockHeld
from chalicelib.core.lock_queue import QueuedRun
from chalicelib.core.naming import lock_key
from chalicelib.ports import Lock

QUEUE_PREFIX = "queue#"


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _lock(item: dict) -> Lock:
    return Lock(item["repository"]["S"], item["environment"]["S"], item["run_id"]["S"],
                item["acquired_at"]["S"], item.get("reason", {}).get("S", ""))


class DynamoDbLocker:
    def __init__(self, client, table: str, clock=_now):
        self._client = client
        self._table = table
        self._clock = clock

    def _item(self, repository: str, environment: str, run_id: str, reason: str) -> dict:
        return {"pk": {"S": lock_key(repository, environment)}, "repository": {"S": repository},
                "environment": {"S": environment}, "run_id": {"S": run_id},
                "acquired_at": {"S": self._clock()}, "reason": {"S": reason}}

    def acquire(self, repository: str, environment: str, run_id: str, reason: str = "") -> Lock:
        # Re-entrant for the same run: a retried Lambda whose first write landed still gets its lock.
        item = self._item(repository, environment, run_id, reason)
        try:
            self._client.put_item(TableName=self._table, Item=item,
                                  ConditionExpression="attribute_not_exists(pk) OR run_id = :me",
                                  ExpressionAttributeValues={":me": {"S": run_id}})
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise DependencyFailed(f"taking the lock of {environment} in {repository}: {exc}") from exc
            holder = self.get(repository, environment)
            held_by = f"run {holder.run_id} since {holder.acquired_at}" if holder else "another run"
            why = f" ({holder.reason})" if holder and holder.reason else ""
            raise LockHeld(f"taking the lock of {environment} in {repository}: held by {held_by}{why}") from None
        return _lock(item)

    def release(self, repository: str, environment: str, run_id: str) -> bool:
        try:
            self._client.delete_item(TableName=self._table, Key={"pk": {"S": lock_key(repository, environment)}},
                                     ConditionExpression="run_id = :me",
                                     ExpressionAttributeValues={":me": {"S": run_id}})
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise DependencyFailed(f"releasing the lock of {environment} in {repository}: {exc}") from exc
        return True

    def hold(self, repository: str, environment: str, run_id: str, reason: str) -> None:
        """Keep the lock with a reason an operator reads; taken anew if it was lost meanwhile."""
        try:
            self._client.put_item(TableName=self._table, Item=self._item(repository, environment, run_id, reason),
                                  ConditionExpression="attribute_not_exists(pk) OR run_id = :me",
                                  ExpressionAttributeValues={":me": {"S": run_id}})
        except ClientError as exc:
            if _conditional_failed(exc):
                raise LockHeld(f"holding the lock of {environment} in {repository} for run {run_id}: "
                               "another run holds it") from None
            raise DependencyFailed(f"holding the lock of {environment} in {repository}: {exc}") from exc

    def force_release(self, repository: str, environment: str) -> Lock | None:
        try:
            answer = self._client.delete_item(TableName=self._table,
                                              Key={"pk": {"S": lock_key(repository, environment)}},
                                              ReturnValues="ALL_OLD")
        except ClientError as exc:
            raise DependencyFailed(f"clearing the lock of {environment} in {repository}: {exc}") from exc
        old = answer.get("Attributes")
        return _lock(old) if old else None

    def get(self, repository: str, environment: str) -> Lock | None:
        try:
            item = self._client.get_item(TableName=self._table, ConsistentRead=True,
                                         Key={"pk": {"S": lock_key(repository, environment)}}).get("Item")
        except ClientError as exc:
            raise DependencyFailed(f"reading the lock of {environment} in {repository}: {exc}") from exc
        return _lock(item) if item else None

    def list(self) -> list[Lock]:
        return [_lock(item) for item in self._scan() if not item["pk"]["S"].startswith(QUEUE_PREFIX)]

    def _scan(self) -> list[dict]:
        items, kwargs = [], {"TableName": self._table, "ConsistentRead": True}
        try:
            while True:
                page = self._client.scan(**kwargs)
                items.extend(page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    return items
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except ClientError as exc:
            raise DependencyFailed(f"listing locks in {self._table}: {exc}") from exc

    # The line for the lock: only the newest run in it (waiting or holding) is kept; superseding needs no more.

    def enqueue(self, repository: str, environment: str, run_id: str, queued_at: float) -> QueuedRun:
        """Become the newest in line unless a newer run is there; answers whoever is newest now."""
        key = {"S": QUEUE_PREFIX + lock_key(repository, environment)}
        try:
            self._client.put_item(
                TableName=self._table,
                Item={"pk": key, "run_id": {"S": run_id}, "queued_at": {"N": repr(queued_at)}},
                ConditionExpression="attribute_not_exists(pk) OR queued_at < :at OR run_id = :me",
                ExpressionAttributeValues={":at": {"N": repr(queued_at)}, ":me": {"S": run_id}})
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise DependencyFailed(f"queueing run {run_id} for the lock of {environment}: {exc}") from exc
        return self.newest_in_line(repository, environment) or QueuedRun(run_id, queued_at)

    def newest_in_line(self, repository: str, environment: str) -> QueuedRun | None:
        key = {"pk": {"S": QUEUE_PREFIX + lock_key(repository, environment)}}
        try:
            item = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        except ClientError as exc:
            raise DependencyFailed(f"reading who is in line for the lock of {environment}: {exc}") from exc
        return QueuedRun(item["run_id"]["S"], float(item["queued_at"]["N"])) if item else None

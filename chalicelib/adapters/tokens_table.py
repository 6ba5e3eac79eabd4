"""Task tokens of Terraform jobs, in DynamoDB (`<app>-<stage>-tokens`), keyed by run id and job key.

The submit_job Lambda puts a job's task token (and, for HTTPS clones, the token git needs) here
before it submits the job; the job, told only its run id and job key, fetches them at start and
deletes the item once it answered. Nothing in the Batch job (its overrides, which `describe_jobs`
shows to anyone allowed to describe jobs) could answer a workflow step. Items expire through the
table's TTL attribute when nobody deleted them (a job that never started).

The job roles may only GetItem and DeleteItem here. IAM cannot restrict a role to one run's item, so
any job of a tier could read another job's item if it knew the key: the key's random part (a
uuid4 per job, never logged) and the tier split (a job role answers only its tier's workflows,
docs/security.md) bound that.
"""

from __future__ import annotations

import time

from chalicelib.core.errors import DependencyFailed
from chalicelib.ports import HeldTokens

KEEP_SECONDS = 2 * 86400  # past the longest job (4 h) and any queueing before it


class DynamoDbJobTokens:
    def __init__(self, client, table: str, keep_seconds: int = KEEP_SECONDS, clock=time.time):
        self._client = client
        self._table = table
        self._keep = keep_seconds
        self._clock = clock

    def put(self, key: str, tokens: HeldTokens) -> None:
        item = {"pk": {"S": key}, "task_token": {"S": tokens.task_token},
                "expires_at": {"N": str(int(self._clock()) + self._keep)}}
        if tokens.clone_token:
            item["clone_token"] = {"S": tokens.clone_token}
        try:
            self._client.put_item(TableName=self._table, Item=item)
        except Exception as exc:  # botocore's message names the table, never the item's values
            raise DependencyFailed(f"keeping the task token of job {key} in {self._table}: "
                                   f"{type(exc).__name__}: {exc}") from exc

    def get(self, key: str) -> HeldTokens | None:
        try:
            item = self._client.get_item(TableName=self._table, Key={"pk": {"S": key}},
                                         ConsistentRead=True).get("Item")
        except Exception as exc:
            raise DependencyFailed(f"reading the task token of job {key} from {self._table}: "
                                   f"{type(exc).__name__}: {exc}") from exc
        if not item:
            return None
        return HeldTokens(item["task_token"]["S"], (item.get("clone_token") or {}).get("S"))

    def delete(self, key: str) -> None:
        try:
            self._client.delete_item(TableName=self._table, Key={"pk": {"S": key}})
        except Exception as exc:
            raise DependencyFailed(f"deleting the task token of job {key} from {self._table}: "
                                   f"{type(exc).__name__}: {exc}") from exc

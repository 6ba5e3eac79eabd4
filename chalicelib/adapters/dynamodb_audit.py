"""The interim run history: audit records kept in the runs table (kind `audit`).

It stands in behind the `AuditLog` interface until the Git-backed audit trail replaces it in
`chalicelib/wiring.py`; the last commit that applied cleanly is computed the same way from either.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from chalicelib.core.audit import AuditRecord, last_good_commit
from chalicelib.core.errors import DependencyFailed
from chalicelib.core.naming import lock_key


class DynamoDbAuditLog:
    def __init__(self, client, table: str):
        self._client = client
        self._table = table

    def append(self, record: AuditRecord) -> None:
        key = f"audit#{lock_key(record.repository, record.environment)}#{record.finished_at}#{record.run_id}#" \
              f"{record.action}"
        item = {"pk": {"S": key}, "kind": {"S": "audit"}, "repository": {"S": record.repository},
                "environment": {"S": record.environment}, "record": {"S": record.to_json()}}
        try:
            self._client.put_item(TableName=self._table, Item=item)
        except ClientError as exc:
            raise DependencyFailed(f"recording {record.action} of {record.sha[:7]} to {record.environment}: "
                                   f"{exc}") from exc

    def history(self, repository: str, environment: str) -> list[AuditRecord]:
        records, kwargs = [], {
            "TableName": self._table, "ConsistentRead": True,
            "FilterExpression": "kind = :k AND repository = :r AND environment = :e",
            "ExpressionAttributeValues": {":k": {"S": "audit"}, ":r": {"S": repository}, ":e": {"S": environment}}}
        try:
            while True:
                page = self._client.scan(**kwargs)
                records.extend(AuditRecord.from_json(i["record"]["S"]) for i in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except ClientError as exc:
            raise DependencyFailed(f"reading the history of {environment} in {repository}: {exc}") from exc
        return sorted(records, key=lambda r: r.finished_at)

    def last_good_commit(self, repository: str, environment: str) -> str | None:
        return last_good_commit(self.history(repository, environment))

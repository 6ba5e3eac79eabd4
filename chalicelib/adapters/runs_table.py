"""The runs table in DynamoDB: runs with their pending approval tokens, and the ephemeral
environments alive with their expiry. One key, `pk` (string, terraform/names.json); `kind` tells the
items apart: `run` (key: the run id), `environment` (key: `env#<repository>#<environment>`).
The table expires items by `expires_at`, so nothing here that must outlive its time uses that name."""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict
from datetime import UTC, datetime

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.core.errors import DependencyFailed, NotFound
from chalicelib.core.naming import lock_key
from chalicelib.core.run_records import EnvironmentRecord, RunRecord

_to_item, _from_item = TypeSerializer().serialize, TypeDeserializer().deserialize


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _plain(item: dict) -> dict:
    return {k: _from_item(v) for k, v in item.items()}


def _number(value):
    return int(value) if value is not None else None


def _run(data: dict) -> RunRecord:
    fields = {k: data.get(k) for k in RunRecord.__dataclass_fields__ if k in data}
    fields["pull_request"] = _number(fields.get("pull_request"))
    for name in ("requested_by", "commit_authors"):  # DynamoDB gives lists back; the record keeps tuples
        fields[name] = tuple(fields.get(name) or ())
    return RunRecord(**fields)


def environment_key(repository: str, environment: str) -> str:
    return "env#" + lock_key(repository, environment)


class DynamoDbRunsTable:
    def __init__(self, client, table: str, clock=_now):
        self._client = client
        self._table = table
        self._clock = clock

    def _put(self, data: dict, doing: str, once: bool = False) -> bool:
        """Write an item; with `once`, only if absent (False when it was already there)."""
        item = {k: _to_item(v) for k, v in data.items() if v is not None}
        extra = {"ConditionExpression": "attribute_not_exists(pk)"} if once else {}
        try:
            self._client.put_item(TableName=self._table, Item=item, **extra)
        except ClientError as exc:
            if once and exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise DependencyFailed(f"{doing}: {exc}") from exc
        return True

    def _get(self, key: str, doing: str) -> dict | None:
        try:
            item = self._client.get_item(TableName=self._table, Key={"pk": {"S": key}},
                                         ConsistentRead=True).get("Item")
        except ClientError as exc:
            raise DependencyFailed(f"{doing}: {exc}") from exc
        return _plain(item) if item else None

    def _scan(self, kind: str, doing: str) -> list[dict]:
        items, kwargs = [], {"TableName": self._table, "ConsistentRead": True,
                             "FilterExpression": "kind = :kind", "ExpressionAttributeValues": {":kind": {"S": kind}}}
        try:
            while True:
                page = self._client.scan(**kwargs)
                items.extend(_plain(i) for i in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    return items
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except ClientError as exc:
            raise DependencyFailed(f"{doing}: {exc}") from exc

    # -- runs ---------------------------------------------------------------------------------------

    def start(self, record: RunRecord) -> None:
        """Record a run; a Lambda retry of the same step leaves the first record as it was."""
        data = {**asdict(record), "pk": record.run_id, "kind": "run", "updated_at": self._clock()}
        self._put(data, f"recording run {record.run_id}", once=True)

    def get(self, run_id: str) -> RunRecord | None:
        data = self._get(run_id, f"reading run {run_id}")
        return _run(data) if data and data.get("kind") == "run" else None

    def finish(self, run_id: str, status: str) -> None:
        with contextlib.suppress(NotFound):  # a run never recorded (its first step failed) stays unrecorded
            self._update(run_id, "SET #s = :s, updated_at = :now", {":s": status}, f"finishing run {run_id}",
                         condition="attribute_exists(pk)", names={"#s": "status"})
        with contextlib.suppress(NotFound):  # an approval still open when its run ended (it timed out) is not
            self._update(run_id, "SET approval_state = :e, updated_at = :now REMOVE approval_token",
                         {":e": "expired", ":p": "pending"}, f"closing the approval of finished run {run_id}",
                         condition="approval_state = :p")

    def _update(self, key: str, expression: str, values: dict, doing: str, condition: str | None = None,
                names: dict | None = None, returns: str = "ALL_NEW") -> dict:
        extra = {"ConditionExpression": condition} if condition else {}
        if names:
            extra["ExpressionAttributeNames"] = names
        try:
            return self._client.update_item(
                TableName=self._table, Key={"pk": {"S": key}}, UpdateExpression=expression,
                ExpressionAttributeValues={k: _to_item(v) for k, v in {**values, ":now": self._clock()}.items()},
                ReturnValues=returns, **extra)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise NotFound(f"{doing}: no such run, or not in the expected state") from None
            raise DependencyFailed(f"{doing}: {exc}") from exc

    def list_runs(self) -> list[RunRecord]:
        return [_run(d) for d in self._scan("run", "listing runs")]

    # -- approvals ----------------------------------------------------------------------------------

    def save_approval(self, run_id: str, token: str, plan_sha256: str | None = None) -> None:
        """Open the run's approval for the plan `plan_sha256` (kept as it was when None: a re-opening)."""
        plan = ", plan_sha256 = :plan" if plan_sha256 else ""
        self._update(run_id, f"SET approval_token = :t, approval_state = :p, updated_at = :now{plan} REMOVE superseded_by",
                     {":t": token, ":p": "pending", **({":plan": plan_sha256} if plan_sha256 else {})},
                     f"keeping the approval token of run {run_id}", condition="attribute_exists(pk)")

    def claim_approval(self, run_id: str, approved: bool, actor: str) -> str:
        """The pending approval's task token, marked decided so it is answered once; NotFound otherwise."""
        doing = f"{'approving' if approved else 'rejecting'} run {run_id}"
        try:
            answer = self._update(
                run_id, "SET approval_state = :d, approver = :a, updated_at = :now REMOVE approval_token",
                {":d": "approved" if approved else "rejected", ":a": actor, ":p": "pending"}, doing,
                condition="approval_state = :p AND attribute_exists(approval_token)", returns="UPDATED_OLD")
        except NotFound:
            record = self.get(run_id)
            if record and record.approval_state:
                raise NotFound(f"{doing}: its approval is no longer open ({record.approval_state})") from None
            raise
        return _from_item(answer["Attributes"]["approval_token"])

    def supersede_approval(self, run_id: str, newer_run_id: str) -> str:
        """The pending approval's task token, marked superseded by `newer_run_id` so nobody can approve
        it any more; NotFound when it is not pending (decided, expired, superseded already)."""
        answer = self._update(
            run_id, "SET approval_state = :s, superseded_by = :by, updated_at = :now REMOVE approval_token",
            {":s": "superseded", ":by": newer_run_id, ":p": "pending"},
            f"voiding the approval of run {run_id} (superseded by run {newer_run_id})",
            condition="approval_state = :p AND attribute_exists(approval_token)", returns="UPDATED_OLD")
        return _from_item(answer["Attributes"]["approval_token"])

    def expire_approval(self, run_id: str) -> None:
        """The decision reached Step Functions too late (the approval had timed out): nobody decided."""
        self._update(run_id, "SET approval_state = :e, updated_at = :now REMOVE approver", {":e": "expired"},
                     f"marking the approval of run {run_id} expired")

    def pending_approvals(self, repository: str) -> list[RunRecord]:
        return [r for r in self.list_runs() if r.repository == repository and r.approval_state == "pending"]

    # -- ephemeral environments ---------------------------------------------------------------------

    def put_environment(self, record: EnvironmentRecord) -> None:
        data = {**asdict(record), "destroy_input": json.dumps(record.destroy_input, sort_keys=True),
                "pk": environment_key(record.repository, record.environment), "kind": "environment"}
        self._put(data, f"recording environment {record.environment} of {record.repository}")

    def get_environment(self, repository: str, environment: str) -> EnvironmentRecord | None:
        data = self._get(environment_key(repository, environment),
                         f"reading environment {environment} of {repository}")
        return _environment(data) if data else None

    def list_environments(self) -> list[EnvironmentRecord]:
        return [_environment(d) for d in self._scan("environment", "listing ephemeral environments")]

    def set_environment_state(self, repository: str, environment: str, state: str) -> None:
        with contextlib.suppress(NotFound):  # nothing recorded (never scheduled): nothing to mark
            self._update(environment_key(repository, environment), "SET #s = :s, updated_at = :now",
                         {":s": state}, f"marking environment {environment} {state}",
                         condition="attribute_exists(pk)", names={"#s": "state"})

    def delete_environment(self, repository: str, environment: str) -> None:
        try:
            self._client.delete_item(TableName=self._table,
                                     Key={"pk": {"S": environment_key(repository, environment)}})
        except ClientError as exc:
            raise DependencyFailed(f"forgetting environment {environment} of {repository}: {exc}") from exc


def _environment(data: dict) -> EnvironmentRecord:
    return EnvironmentRecord(data["repository"], data["environment"], int(data["destroy_at"]),
                             data["schedule_name"], json.loads(data["destroy_input"]), data.get("state", "active"))

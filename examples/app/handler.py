"""Guestbook: a small HTTP service behind a Lambda function URL that keeps its state in DynamoDB.

GET /            count this visit and answer with the total
GET /messages    the newest guestbook messages
POST /messages   sign the guestbook: {"name": "...", "text": "..."}
GET /health      answer 200 when the table can be read (the pipeline polls it after every apply)

Events are Lambda function URL events (payload format 2.0). Uses only boto3, which the Lambda runtime
ships, so the package is this one file.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import UTC, datetime

import boto3

MAX_NAME = 64
MAX_TEXT = 500
PAGE = 20
_table = None


def table():
    # Made on first use, not at import, so the endpoint and table name come from the environment the
    # function runs with (AWS, or moto in tests and on the embedded stack).
    global _table
    if _table is None:
        _table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    return _table


def answer(status: int, body: dict) -> dict:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def count_visit(_event: dict) -> dict:
    item = table().update_item(
        Key={"pk": "counter", "sk": "visits"},
        UpdateExpression="ADD visits :one",
        ExpressionAttributeValues={":one": 1},
        ReturnValues="UPDATED_NEW",
    )["Attributes"]
    return answer(200, {"visits": int(item["visits"]), "environment": os.environ.get("ENVIRONMENT", "")})


def list_messages(_event: dict) -> dict:
    items = table().query(
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": "message"},
        ScanIndexForward=False, Limit=PAGE,
    )["Items"]
    return answer(200, {"messages": [{"name": i["name"], "text": i["text"], "at": i["sk"].split("#")[0]} for i in items]})


def sign(event: dict) -> dict:
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode("utf-8", "replace")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return answer(400, {"error": 'signing the guestbook: the body must be JSON {"name": ..., "text": ...}'})
    name, text = (data.get("name"), data.get("text")) if isinstance(data, dict) else (None, None)
    if not (isinstance(name, str) and 0 < len(name.strip()) <= MAX_NAME):
        return answer(400, {"error": f"signing the guestbook: name must be 1-{MAX_NAME} characters"})
    if not (isinstance(text, str) and 0 < len(text.strip()) <= MAX_TEXT):
        return answer(400, {"error": f"signing the guestbook: text must be 1-{MAX_TEXT} characters"})
    # Sort key: a sortable UTC time (microseconds) plus a random suffix, so concurrent signatures both stay.
    sk = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") + "#" + uuid.uuid4().hex[:12]
    table().put_item(Item={"pk": "message", "sk": sk, "name": name.strip(), "text": text.strip()})
    return answer(201, {"signed": True})


def health(_event: dict) -> dict:
    table().get_item(Key={"pk": "counter", "sk": "visits"})
    return answer(200, {"ok": True})


ROUTES = {
    ("GET", "/"): count_visit,
    ("GET", "/messages"): list_messages,
    ("POST", "/messages"): sign,
    ("GET", "/health"): health,
}


def handler(event: dict, _context: object = None) -> dict:
    method = event.get("requestContext", {}).get("http", {}).get("method", "GET")
    path = event.get("rawPath") or "/"
    route = ROUTES.get((method, path.rstrip("/") or "/"))
    if route is None:
        known = ", ".join(f"{m} {p}" for m, p in ROUTES)
        return answer(404, {"error": f"no route for {method} {path}; routes: {known}"})
    return route(event)

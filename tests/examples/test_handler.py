"""The guestbook handler against DynamoDB on moto: its state lives in the table, so it persists across
requests and across cold starts."""

from __future__ import annotations

import boto3
import pytest

from tests.examples.guestbook import call, cold_start

TABLE = "guestbook-test"


@pytest.fixture
def table(moto_endpoint, monkeypatch):
    # The key schema of examples/main.tf's table (the Terraform test applies the real one).
    boto3.client("dynamodb").create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}])
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("ENVIRONMENT", "pr-7")
    return TABLE


def test_visits_are_counted_across_requests_and_cold_starts(table):
    first = cold_start()
    assert call(first, "GET", "/") == (200, {"visits": 1, "environment": "pr-7"})
    assert call(first, "GET", "/")[1]["visits"] == 2
    assert call(cold_start(), "GET", "/")[1]["visits"] == 3


def test_signatures_persist_newest_first(table):
    app = cold_start()
    assert call(app, "POST", "/messages", {"name": "Ada", "text": "first"}) == (201, {"signed": True})
    assert call(app, "POST", "/messages", {"name": "Grace", "text": "second"}, base64_body=True)[0] == 201
    status, body = call(cold_start(), "GET", "/messages")
    assert status == 200
    assert [(m["name"], m["text"]) for m in body["messages"]] == [("Grace", "second"), ("Ada", "first")]


@pytest.mark.parametrize(("body", "says"), [
    ("not json", "must be JSON"),
    ({"name": "", "text": "hi"}, "name must be 1-64 characters"),
    ({"name": "Ada", "text": "x" * 501}, "text must be 1-500 characters"),
    (["a list"], "name must be"),
])
def test_a_bad_signature_is_refused_and_nothing_is_stored(table, body, says):
    app = cold_start()
    status, answer = call(app, "POST", "/messages", body)
    assert status == 400 and says in answer["error"]
    assert call(app, "GET", "/messages")[1]["messages"] == []


def test_health_answers_when_the_table_is_readable_and_unknown_routes_say_what_exists(table):
    app = cold_start()
    assert call(app, "GET", "/health") == (200, {"ok": True})
    status, answer = call(app, "DELETE", "/")
    assert status == 404 and "GET /messages" in answer["error"]

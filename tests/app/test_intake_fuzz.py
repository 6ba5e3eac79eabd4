"""Property-based fuzzing of webhook and dispatch bodies and headers: never a 5xx, never a start
without a valid signature (webhooks) or OIDC token (dispatch)."""

from __future__ import annotations

import json
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.core.signature import sign
from tests.conftest import FIXTURES, load_fixture

EVENTS = sorted({p.parent.name for p in FIXTURES.glob("*/*.json")} | {"", "unknown", "Push", "../etc"})
REAL = [(p.parent.name, p.name) for p in sorted(FIXTURES.glob("*/*.json"))]
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12)
headers = st.dictionaries(
    st.sampled_from(["X-GitHub-Event", "X-GitHub-Delivery", "X-Hub-Signature-256", "Authorization", "X-Other"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80), max_size=4)


def mutate(payload: object, path: list, value: object) -> object:
    """Replace the node at a path of keys/indexes (as far as it goes) with value."""
    if not path or not isinstance(payload, dict | list) or not payload:
        return value
    if isinstance(payload, dict):
        key = sorted(payload)[path[0] % len(payload)]
        return {**payload, key: mutate(payload[key], path[1:], value)}
    index = path[0] % len(payload)
    return [*payload[:index], mutate(payload[index], path[1:], value), *payload[index + 1:]]


@FUZZ
@given(body=st.binary(max_size=2048), extra=headers)
def test_unsigned_or_badly_signed_bodies_are_refused_and_start_nothing(pipeline, body, extra):
    response = pipeline.post("/webhooks/github", body, extra)
    assert response.status_code < 500
    if extra.get("X-Hub-Signature-256") != sign(pipeline.secret, body):
        assert response.status_code == 401
    response = pipeline.post("/dispatch", body, extra)
    assert response.status_code < 500
    assert pipeline.executions() == []


@FUZZ
@given(event=st.sampled_from(EVENTS), payload=json_values, delivery=st.text(max_size=40))
def test_signed_arbitrary_json_never_gets_a_5xx(pipeline, event, payload, delivery):
    body = json.dumps(payload).encode()
    response = pipeline.post("/webhooks/github", body, {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery,
                                                        "X-Hub-Signature-256": sign(pipeline.secret, body)})
    assert response.status_code < 500, response.body


@FUZZ
@given(real=st.sampled_from(REAL), path=st.lists(st.integers(min_value=0, max_value=50), max_size=5),
       value=json_values)
def test_signed_real_payloads_with_one_field_mangled_never_get_a_5xx(pipeline, real, path, value):
    event, name = real
    payload = mutate(load_fixture(event, name), path, value)
    response = pipeline.webhook(event, payload)
    assert response.status_code < 500, response.body


@FUZZ
@given(request=st.dictionaries(st.sampled_from(["repository", "commit", "environment", "command", "user_email",
                                                "ttl", "args", "pull_request", "request_id", "job_queue_arn"]),
                               json_values, max_size=10))
def test_signed_arbitrary_dispatch_requests_never_get_a_5xx(pipeline, request):
    response = pipeline.dispatch(request)
    assert response.status_code in (202, 400, 401), response.body


def nested(depth: int, kind: str) -> str:
    """JSON text of `depth` arrays or objects inside each other."""
    if kind == "array":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "null" + "}" * depth


@pytest.mark.parametrize("kind", ["array", "object"])
@pytest.mark.parametrize("route", ["webhook", "dispatch"])
def test_a_signed_body_nested_a_thousand_levels_deep_gets_400_naming_the_problem(pipeline, route, kind):
    body = nested(1_000, kind).encode()
    if route == "webhook":
        response = pipeline.webhook("push", body)
    else:
        token = pipeline.actions_token({"repository": "acme/infra", "commit": "a" * 40})
        response = pipeline.post("/dispatch", body, {"Authorization": f"Bearer {token}"})

    assert response.status_code == 400, response.body
    answer = json.loads(response.body)
    assert answer["error"] == "InvalidRequest"
    assert "nested fewer than about 1,000 levels deep" in answer["message"]
    assert [f["field"] for f in answer["fields"]] == ["body"]
    assert pipeline.executions() == []


@FUZZ
@given(real=st.sampled_from(REAL), path=st.lists(st.integers(min_value=0, max_value=50), max_size=5),
       around_the_limit=st.integers(min_value=-300, max_value=100), kind=st.sampled_from(["array", "object"]))
def test_signed_real_payloads_with_deep_nesting_anywhere_never_get_a_5xx(pipeline, real, path, around_the_limit, kind):
    # Around the parser's limit (the recursion limit, which hypothesis raises while it runs a test): a body
    # the parser still reads must trip no later step either.
    depth = sys.getrecursionlimit() + around_the_limit
    event, name = real
    marker = "\u0000tfpipe-nested\u0000"
    text = json.dumps(mutate(load_fixture(event, name), path, marker)).replace(json.dumps(marker), nested(depth, kind))
    response = pipeline.webhook(event, text.encode())
    assert response.status_code < 500, response.body


@FUZZ
@given(field=st.sampled_from(["repository", "commit", "environment", "command", "ttl", "args", "request_id"]),
       around_the_limit=st.integers(min_value=-300, max_value=100), kind=st.sampled_from(["array", "object"]))
def test_signed_dispatch_requests_with_a_deeply_nested_field_never_get_a_5xx(pipeline, field, around_the_limit, kind):
    depth = sys.getrecursionlimit() + around_the_limit
    request = {"repository": "acme/infra", "commit": "a" * 40, "environment": "prod", "command": "plan",
               "user_email": "dev@example.com"}
    body = json.dumps({**request, field: "\u0000"}).replace(json.dumps("\u0000"), nested(depth, kind)).encode()
    response = pipeline.post("/dispatch", body, {"Authorization": f"Bearer {pipeline.actions_token(request)}"})
    assert response.status_code in (202, 400), response.body

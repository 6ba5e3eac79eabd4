"""The operator routes (`POST /runs`, `/runs/{id}/approve|reject`) are IAM-authorized: `chalice
package` marks them AWS_IAM, and the app acts only on the caller ARN API Gateway hands over. Chalice's
local client admits IAM routes without checking anything, like an API deployed without that
authorization would: the app refuses them itself (the SigV4 check is tests/workflows' and tests/local's)."""

from __future__ import annotations

import json

from chalice import IAMAuthorizer

from app import app

ARN = "arn:aws:iam::123456789012:user/lead"


def test_every_route_but_githubs_two_is_iam_authorized():
    authorized = {(path, method): isinstance(entry.authorizer, IAMAuthorizer)
                  for path, methods in app.routes.items() for method, entry in methods.items()}
    assert {k for k, v in authorized.items() if not v} == {("/webhooks/github", "POST"), ("/dispatch", "POST")}
    assert authorized[("/runs/{run_id}/approve", "POST")] and authorized[("/runs", "POST")]


def test_a_run_request_without_an_iam_caller_is_refused_403_and_starts_nothing(pipeline):
    body = json.dumps({"repository": "acme/infra", "commit": "d" * 40, "environment": "prod", "command": "apply",
                       "user_email": "dev@acme.io"}).encode()
    response = pipeline.post("/runs", body, {})
    assert response.status_code == 403
    assert "no IAM caller" in json.loads(response.body)["message"]
    assert pipeline.executions() == []


def test_an_approval_without_an_iam_caller_is_refused_403_whatever_actor_it_names(pipeline):
    response = pipeline.post("/runs/plan-apply-prod-0123456-000000000000/approve",
                             json.dumps({"actor": "lead@example.com"}).encode(), {})
    assert response.status_code == 403
    assert "AWS_IAM" in json.loads(response.body)["message"]

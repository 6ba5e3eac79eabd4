"""End to end on the embedded stack: real Terraform applies the sample app (built by its tfpipe.yml
command, state in S3 with native locking), the stack serves its function URL on loopback, and the app
keeps its state across HTTP requests; its health_check_url answers as the executor expects."""

from __future__ import annotations

import json

import pytest
import requests
from chalice import Chalice

from tests.examples.test_terraform import apply, build, checkout_with_s3_state
from tests.infra.terraform_cli import terraform
from tfpipe.local.testing import stack_fixture

pytestmark = [pytest.mark.e2e, pytest.mark.terraform]
# The stack needs a Chalice app; this test exercises only its AWS APIs, Lambda service and function URLs.
stack = stack_fixture(app=Chalice(app_name="guestbook-e2e"), stage="test", scope="module")


def test_sample_app_deployed_by_terraform_answers_on_its_url_with_persistent_state(stack, tmp_path):
    work, env = checkout_with_s3_state(tmp_path)
    terraform(["workspace", "new", "-no-color", "pr-3"], work, env)
    outputs = apply(work, env, {**build(work, "apply-ephemeral-pr-3-1"), "environment": "pr-3"})

    url = stack.function_url(outputs["table_name"])
    assert requests.get(url, timeout=30).json() == {"visits": 1, "environment": "pr-3"}
    assert requests.get(url, timeout=30).json()["visits"] == 2
    signed = requests.post(url.rstrip("/") + "/messages", json={"name": "Ada", "text": "hello"}, timeout=30)
    assert signed.status_code == 201
    listed = requests.get(url.rstrip("/") + "/messages", timeout=30).json()["messages"]
    assert [(m["name"], m["text"]) for m in listed] == [("Ada", "hello")]
    # What the executor polls after apply: the health URL, on the same function.
    health = url.rstrip("/") + outputs["health_check_url"].removeprefix(outputs["function_url"].rstrip("/"))
    answer = requests.get(health, timeout=30)
    assert answer.status_code == 200 and json.loads(answer.text) == {"ok": True}

"""examples/.github/scripts/tfpipe_dispatch.py, run as GitHub Actions runs it, on real GitHub event
payloads: what it sends to a loopback server is signed the way the intake verifies and is a
PipelineRequest the intake's own parser accepts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chalicelib.core import signature
from chalicelib.core.durations import TtlBounds
from chalicelib.core.request import RequestDefaults, parse_pipeline_request
from tests.conftest import load_fixture
from tests.infra.terraform_cli import REPO

SCRIPT = REPO / "examples" / ".github" / "scripts" / "tfpipe_dispatch.py"
SECRET = "dispatch-test-secret"
SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
DEFAULTS = RequestDefaults("arn:aws:batch:us-east-1:123456789012:job-definition/tfpipe-dev-executor:1",
                           "arn:aws:batch:us-east-1:123456789012:job-queue/tfpipe-dev-jobs",
                           {"prod": "123456789012"}, "210987654321")


@pytest.fixture
def intake():
    """A loopback stand-in for POST /dispatch that records raw bodies and headers; answers 202."""
    received: list[tuple[bytes, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.rfile.read(int(self.headers["Content-Length"])), dict(self.headers)))
            self.send_response(202)
            self.end_headers()
            self.wfile.write(b'{"started": true}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/dispatch", received
    server.shutdown()
    server.server_close()


def dispatch(tmp_path, url: str, event_name: str, payload: dict) -> subprocess.CompletedProcess:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payload))
    env = {"PATH": os.environ["PATH"], "GITHUB_EVENT_NAME": event_name, "GITHUB_EVENT_PATH": str(event),
           "GITHUB_RUN_ID": "4242", "GITHUB_RUN_ATTEMPT": "1", "TFPIPE_DISPATCH_URL": url,
           "TFPIPE_WEBHOOK_SECRET": SECRET, "TFPIPE_ENVIRONMENT": "prod"}
    return subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def accepted(received) -> list:
    requests = []
    for body, headers in received:
        assert signature.verify(SECRET, body, headers["X-Hub-Signature-256"])
        requests.append(parse_pipeline_request(json.loads(body), DEFAULTS, TtlBounds(900, 7 * 86400, 4 * 3600)))
    return requests


def test_push_to_the_default_branch_dispatches_an_apply(tmp_path, intake):
    url, received = intake
    payload = load_fixture("push", "payload.json") | {"ref": "refs/heads/master", "after": SHA}
    result = dispatch(tmp_path, url, "push", payload)
    assert result.returncode == 0, result.stderr
    [request] = accepted(received)
    assert (request.command.value, request.environment.name, request.sha) == ("apply", "prod", SHA)
    assert request.user_email == payload["pusher"]["email"]
    assert SECRET not in result.stdout + result.stderr


def test_opened_pull_request_dispatches_a_plan_and_its_ephemeral_environment(tmp_path, intake):
    url, received = intake
    payload = load_fixture("pull_request", "opened.payload.json")
    assert dispatch(tmp_path, url, "pull_request", payload).returncode == 0
    plan, ephemeral = accepted(received)
    number = payload["pull_request"]["number"]
    assert (plan.command.value, plan.environment.name, plan.pull_request) == ("plan", "prod", number)
    assert (ephemeral.command.value, ephemeral.environment.name) == ("ephemeral", f"pr-{number}")
    assert ephemeral.environment.account_id == DEFAULTS.ephemeral_account_id
    assert plan.request_id != ephemeral.request_id


def test_closed_pull_request_dispatches_the_destroy_of_its_environment(tmp_path, intake):
    url, received = intake
    payload = load_fixture("pull_request", "closed.payload.json")
    assert dispatch(tmp_path, url, "pull_request", payload).returncode == 0
    [request] = accepted(received)
    assert (request.command.value, request.environment.name) == ("destroy", f"pr-{payload['number']}")


@pytest.mark.parametrize(("comment", "command", "ttl"), [
    ("/ephemeral ttl=2h", "ephemeral", 7200), ("/ttl 8h", "cron", 8 * 3600), ("/plan", "plan", None),
    ("/terraform state list", "custom", None), ("/destroy", "destroy", None),
])
def test_pull_request_comment_commands_are_dispatched(tmp_path, intake, comment, command, ttl):
    url, received = intake
    payload = load_fixture("issue_comment", "created.payload.json")
    payload["issue"]["pull_request"] = {"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1"}
    payload["comment"]["body"] = comment
    assert dispatch(tmp_path, url, "issue_comment", payload).returncode == 0
    [request] = accepted(received)
    assert request.command.value == command and request.commit == "refs/pull/1/head"
    assert request.ttl_seconds == ttl


def test_a_terraform_comment_naming_a_long_lived_environment_is_dispatched_to_it(tmp_path, intake):
    url, received = intake
    payload = load_fixture("issue_comment", "created.payload.json")
    payload["issue"]["pull_request"] = {"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1"}
    payload["comment"]["body"] = "/terraform state list env=prod"
    assert dispatch(tmp_path, url, "issue_comment", payload).returncode == 0
    [request] = accepted(received)
    assert (request.command.value, request.environment.name, request.custom.argv) == ("custom", "prod",
                                                                                       ["state", "list"])


def test_ordinary_comments_and_issue_comments_dispatch_nothing(tmp_path, intake):
    url, received = intake
    payload = load_fixture("issue_comment", "created.payload.json")  # on an issue, not a pull request
    assert dispatch(tmp_path, url, "issue_comment", payload).returncode == 0
    payload["issue"]["pull_request"] = {"url": "x"}
    result = dispatch(tmp_path, url, "issue_comment", payload)  # "You are totally right! ..."
    assert result.returncode == 0 and "nothing to dispatch" in result.stdout
    assert received == []


def test_a_refused_request_fails_the_job_with_the_intakes_reason(tmp_path):
    class Refuse(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(401)
            self.end_headers()
            self.wfile.write(b'{"error": "signature does not match"}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        payload = load_fixture("pull_request", "closed.payload.json")
        result = dispatch(tmp_path, f"http://127.0.0.1:{server.server_port}/dispatch", "pull_request", payload)
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 1
    assert "HTTP 401" in result.stderr and "signature does not match" in result.stderr

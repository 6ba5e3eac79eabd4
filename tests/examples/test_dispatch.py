"""examples/.github/scripts/tfpipe_dispatch.py, run as GitHub Actions runs it, on real GitHub event
payloads: it asks the (stood-in) Actions token endpoint for its OIDC token and sends PipelineRequests to
a loopback server; each token passes the intake's own checks (chalicelib/core/actions_token.py with the
issuer's keys fetched over HTTP) and each body is a PipelineRequest the intake's own parser accepts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest

from chalicelib.adapters.oidc_keys import OidcKeys
from chalicelib.core import actions_token
from chalicelib.core.durations import TtlBounds
from chalicelib.core.request import RequestDefaults, parse_pipeline_request
from tests.conftest import load_fixture
from tests.infra.terraform_cli import REPO
from tfpipe.local.github.oidc import ActionsOidc, serving_alone

SCRIPT = REPO / "examples" / ".github" / "scripts" / "tfpipe_dispatch.py"
SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
DEFAULTS = RequestDefaults("arn:aws:batch:us-east-1:123456789012:job-definition/tfpipe-dev-executor:1",
                           "arn:aws:batch:us-east-1:123456789012:job-queue/tfpipe-dev-jobs",
                           {"prod": "123456789012"}, "210987654321")


@pytest.fixture(scope="module")
def issuer():
    """Actions' OIDC issuer and token endpoint, stood in on loopback."""
    with serving_alone() as oidc:
        yield oidc


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


def dispatch(tmp_path, url: str, event_name: str, payload: dict, issuer: ActionsOidc | None = None,
             sha: str = SHA, **extra: str) -> subprocess.CompletedProcess:
    """The script as a job runs it; with `issuer`, the job has `id-token: write` and its token is
    asked of the stand-in for this repository, the event's ref and `sha`."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payload))
    env = {"PATH": os.environ["PATH"], "GITHUB_EVENT_NAME": event_name, "GITHUB_EVENT_PATH": str(event),
           "GITHUB_RUN_ID": "4242", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_SHA": sha, "TFPIPE_DISPATCH_URL": url,
           "TFPIPE_ENVIRONMENT": "prod", **extra}
    if issuer is not None:
        job = {"repository": payload["repository"]["full_name"], "ref": payload.get("ref") or "", "sha": sha}
        env.update(ACTIONS_ID_TOKEN_REQUEST_URL=f"{issuer.issuer}/idtoken?{urlencode(job)}",
                   ACTIONS_ID_TOKEN_REQUEST_TOKEN="job-request-token")
    return subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def accepted(received, issuer: ActionsOidc, default_branch: str = "master") -> list:
    """The requests received, each authenticated as the intake authenticates POST /dispatch."""
    keys, doing = OidcKeys(issuer.issuer), "authenticating the dispatch request"
    requests = []
    for body, headers in received:
        token = actions_token.verify(actions_token.bearer(headers["Authorization"], doing, "tfpipe"), keys.key,
                                     issuer.issuer, "tfpipe", doing)
        request = parse_pipeline_request(json.loads(body), DEFAULTS, TtlBounds(900, 7 * 86400, 4 * 3600))
        actions_token.require_repository(token, request.repository, doing)
        actions_token.require_default_branch(token, default_branch, doing)
        actions_token.require_commit(token, request.sha, request.commit, doing)
        requests.append(request)
    return requests


def test_push_to_the_default_branch_dispatches_an_apply_with_the_jobs_oidc_token(tmp_path, intake, issuer):
    url, received = intake
    payload = load_fixture("push", "payload.json") | {"ref": "refs/heads/master", "after": SHA, "deleted": False}
    result = dispatch(tmp_path, url, "push", payload, issuer)
    assert result.returncode == 0, result.stderr
    [request] = accepted(received, issuer)
    assert (request.command.value, request.environment.name, request.sha) == ("apply", "prod", SHA)
    assert request.user_email == payload["pusher"]["email"]
    token = received[0][1]["Authorization"].removeprefix("Bearer ")
    assert token not in result.stdout + result.stderr


def test_workflow_dispatch_on_the_default_branch_dispatches_the_chosen_command_of_its_commit(tmp_path, intake,
                                                                                            issuer):
    url, received = intake
    payload = load_fixture("workflow_dispatch", "payload.json")
    payload = payload | {"ref": f"refs/heads/{payload['repository']['default_branch']}", "inputs": {"command": "plan"}}
    assert dispatch(tmp_path, url, "workflow_dispatch", payload, issuer).returncode == 0
    [request] = accepted(received, issuer, payload["repository"]["default_branch"])
    assert (request.command.value, request.sha) == ("plan", SHA)


@pytest.mark.parametrize(("event_name", "fixture", "changes"), [
    ("pull_request", "opened.payload.json", {}),
    ("issue_comment", "created.payload.json", {}),
    ("push", "payload.json", {"ref": "refs/heads/feature"}),
], ids=["pull-request", "comment", "push-to-another-branch"])
def test_pull_requests_comments_and_other_branches_dispatch_nothing_and_ask_no_token(tmp_path, intake, event_name,
                                                                                     fixture, changes):
    url, received = intake
    payload = load_fixture(event_name, fixture) | changes
    result = dispatch(tmp_path, url, event_name, payload)  # no token endpoint: asking for one would fail
    assert result.returncode == 0, result.stderr
    assert "nothing to dispatch" in result.stdout
    assert received == []


def test_a_job_without_id_token_permission_fails_saying_so_and_sends_nothing(tmp_path, intake):
    url, received = intake
    payload = load_fixture("push", "payload.json") | {"ref": "refs/heads/master", "after": SHA, "deleted": False}
    result = dispatch(tmp_path, url, "push", payload)
    assert result.returncode == 1
    assert "id-token: write" in result.stderr
    assert received == []


def test_a_refused_request_fails_the_job_with_the_intakes_reason(tmp_path, issuer):
    class Refuse(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(401)
            self.end_headers()
            self.wfile.write(b'{"error": "Unauthenticated", "message": "wrong audience"}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        payload = load_fixture("push", "payload.json") | {"ref": "refs/heads/master", "after": SHA, "deleted": False}
        result = dispatch(tmp_path, f"http://127.0.0.1:{server.server_port}/dispatch", "push", payload, issuer)
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 1
    assert "HTTP 401" in result.stderr and "wrong audience" in result.stderr


def bare_commit(path, branch: str = "main") -> str:
    """A commit made inside a bare repository with Git's plumbing: no hook runs, so no push webhook
    starts a run of its own beside the one the workflow dispatches."""
    def git(*args: str, stdin: str | None = None) -> str:
        return subprocess.run(["git", *args], cwd=path, input=stdin, capture_output=True, text=True,
                              check=True).stdout.strip()

    blob = git("hash-object", "-w", "--stdin", stdin="# infrastructure\n")
    tree = git("mktree", stdin=f"100644 blob {blob}\tmain.tf\n")
    sha = git("-c", "user.name=octocat", "-c", "user.email=octocat@example.com", "commit-tree", tree, "-m", "first")
    git("update-ref", f"refs/heads/{branch}", sha)
    return sha


@pytest.fixture(scope="module")
def stack():
    import tempfile

    from tfpipe.local.stack import Stack

    # Jobs are a no-op: this is about who may start a run, not what the run does.
    with Stack(app="app:app", stage="dispatch", state_dir=tempfile.mkdtemp(prefix="tfpipe-dispatch-"), provision=True,
               job_command=[sys.executable, "-c", "pass"]) as running:
        yield running


def run_on_the_stack(tmp_path, stack, repository: str, **extra: str) -> tuple[str, subprocess.CompletedProcess]:
    """The workflow's script, as a job pushed to `repository`'s main on the stand-in runs it."""
    sha = bare_commit(stack.create_repository(repository))
    payload = load_fixture("push", "payload.json") | {"ref": "refs/heads/main", "after": sha, "deleted": False}
    payload["repository"] = payload["repository"] | {"full_name": repository, "default_branch": "main"}
    (tmp_path / "event.json").write_text(json.dumps(payload))
    job = {"repository": repository, "ref": "refs/heads/main"}  # the job's sha: the branch's head
    return sha, subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=60, env={
        "PATH": os.environ["PATH"], "GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(tmp_path / "event.json"),
        "GITHUB_RUN_ID": "77", "GITHUB_SHA": sha, "TFPIPE_DISPATCH_URL": f"{stack.api_url}/dispatch",
        "ACTIONS_ID_TOKEN_REQUEST_URL": f"{stack.oidc_issuer}/idtoken?{urlencode(job)}",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "job-request-token", **extra})


def executions(stack) -> list[dict]:
    sfn = stack.client("stepfunctions")
    listed = sfn.list_executions(stateMachineArn=stack.env["TFPIPE_STATE_MACHINE_PLAN_APPLY"])["executions"]
    return [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]) for e in listed]


@pytest.mark.e2e
def test_the_workflows_script_starts_a_run_on_the_embedded_stack_with_the_stand_ins_token(tmp_path, stack):
    sha, result = run_on_the_stack(tmp_path, stack, "acme/dispatched")

    assert result.returncode == 0, result.stderr
    assert "apply prod: HTTP 202" in result.stdout and "plan-apply-prod-" in result.stdout
    assert [e["request"]["sha"] for e in executions(stack) if e["request"]["repository"] == "acme/dispatched"] == [sha]


@pytest.mark.e2e
def test_a_token_for_another_audience_is_refused_by_the_embedded_stack_and_starts_nothing(tmp_path, stack):
    _, result = run_on_the_stack(tmp_path, stack, "acme/elsewhere", TFPIPE_OIDC_AUDIENCE="https://github.com/acme")

    assert result.returncode == 1
    assert "HTTP 401" in result.stderr and "wrong audience 'https://github.com/acme'" in result.stderr
    assert [e for e in executions(stack) if e["request"]["repository"] == "acme/elsewhere"] == []

"""`tfpipe local up` as a user runs it: ready within the budget, endpoints in stack.json, and on
Ctrl-C or SIGTERM a clean exit that leaves no process, no open port and no stack.json. Started again
on the same state dir: the settings its shell exports are kept, a second one is refused, environments
the audit trail remembers are said to be gone, and artifact links open."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from urllib.parse import urlparse

import boto3
import pytest
import requests

from tfpipe.local.stack import REPO_ROOT


def _listening(url: str) -> bool:
    parsed = urlparse(url)
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((parsed.hostname, parsed.port)) == 0


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_local_up_serves_until_signalled_then_leaves_nothing_behind(tmp_path, stop_signal):
    state_dir = tmp_path / "state"
    began = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "tfpipe.cli", "local", "up", "--state-dir", str(state_dir),
                                "--repo", "acme/infra"], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        stack_json = state_dir / "stack.json"
        while not stack_json.exists():
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() - began < 30, "stack.json never appeared"
            time.sleep(0.1)
        info = json.loads(stack_json.read_text())
        assert all(_listening(url) for url in info["endpoints"].values())
        assert requests.get(f"{info['endpoints']['github']}/repos/acme/infra", timeout=5).json()["full_name"] == "acme/infra"
        assert info["webhook_secret"] and info["env"]["TFPIPE_GITHUB_API_URL"] == info["endpoints"]["github"]
        marker = f"tfpipe_leftover_{uuid.uuid4().hex[:12]}"
        _leave_work_running(info, marker)
        _wait_for(lambda: len(_processes_with(marker)) >= 2, "the job and the invocation to be running")

        process.send_signal(stop_signal)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0, output
    assert "embedded stack ready in" in output and "stopped" in output
    assert not stack_json.exists()
    assert not any(_listening(url) for url in info["endpoints"].values())
    assert _processes_with(marker) == []  # neither the Batch job nor the function invocation outlived the stack


def _processes_with(marker: str) -> list[str]:
    found = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout
    return found.split()


def _wait_for(check, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _leave_work_running(info: dict, marker: str) -> None:
    """A Batch job and an uploaded function's invocation, each sleeping far past the stack's stop."""
    env = info["env"]
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    batch = session.client("batch", endpoint_url=env.get("AWS_ENDPOINT_URL_BATCH") or info["endpoints"]["batch"])
    batch.submit_job(jobName=marker, jobQueue=env["TFPIPE_JOB_QUEUE_ARN_PLAN"],
                     jobDefinition=env["TFPIPE_JOB_DEFINITION_ARN_PLAN"],
                     containerOverrides={"command": [sys.executable, "-c", f"import time; time.sleep(600)  # {marker}"]})
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr(f"{marker}.py", "import time\n\ndef handler(event, context):\n    time.sleep(600)\n")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "lambda.amazonaws.com"}}]}
    role = session.client("iam", endpoint_url=info["endpoints"]["aws"]).create_role(
        RoleName=marker, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    aws = session.client("lambda", endpoint_url=info["endpoints"]["aws"])
    aws.create_function(FunctionName=marker, Runtime="python3.11", Handler=f"{marker}.handler", Timeout=900,
                        Role=role, Code={"ZipFile": code.getvalue()})
    aws.invoke(FunctionName=marker, InvocationType="Event", Payload=b"{}")


# -- a second start of the same stack, with the user's settings exported ------------------------------

PROD_SHA, PR_SHA = "1" * 40, "2" * 40


def _audit_trail_of_an_earlier_stack(git_root) -> None:
    """What a stack that ran before leaves in the state dir: prod applied; pr-1 applied, then destroyed."""
    from chalicelib.adapters.audit_git import GitAuditLog
    from chalicelib.core.audit import AuditRecord
    from tfpipe.local.github import git_repos

    git_repos.create_repository(git_root, "acme/infra")
    trail = GitAuditLog(git_root)
    for run, action, environment, sha, result, at in (
            ("r1", "apply", "prod", PROD_SHA, "applied", "2026-01-01T10:00:00Z"),
            ("r2", "ephemeral-apply", "pr-1", PR_SHA, "applied", "2026-01-01T11:00:00Z"),
            ("r3", "destroy", "pr-1", PR_SHA, "destroyed", "2026-01-01T12:00:00Z")):
        trail.append(AuditRecord(run_id=run, workflow=action, action=action, environment=environment,
                                 account_id="123456789012", repository="acme/infra", sha=sha, actor="dev@example.com",
                                 result=result, started_at=at, finished_at=at))


def _wait_for_stack_json(path, process, output) -> dict:
    began = time.monotonic()
    while not path.exists():
        assert process.poll() is None, output.read_text()
        assert time.monotonic() - began < 60, "stack.json never appeared"
        time.sleep(0.1)
    _wait_for(lambda: "point a shell at it" in output.read_text(), "the end of the ready message")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def restarted(tmp_path_factory):
    """`tfpipe local up` on a state dir an earlier stack used, in a shell exporting TFPIPE_* settings:
    two the user chose, two that name what the stack itself provisions and wires."""
    state_dir = tmp_path_factory.mktemp("restarted")
    _audit_trail_of_an_earlier_stack(state_dir / "git")
    output = state_dir.parent / f"{state_dir.name}.out"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TFPIPE_")},
           "TFPIPE_ALLOWED_REPOSITORIES": "acme/*", "TFPIPE_TTL_MIN": "30s",
           "TFPIPE_LOCKS_TABLE": "a-table-in-aws", "TFPIPE_STAGE": "prod"}
    with output.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "tfpipe.cli", "local", "up", "--state-dir", str(state_dir)],
                                   cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        info = _wait_for_stack_json(state_dir / "stack.json", process, output)
        yield state_dir, info, output
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _signed(info: dict, path: str, payload: dict, **headers: str) -> requests.Response:
    """A webhook signed with the local webhook secret, as GitHub signs it."""
    from chalicelib.core.signature import sign

    body = json.dumps(payload).encode()
    return requests.post(f"{info['api_url']}{path}", data=body, timeout=30, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": sign(info["webhook_secret"], body), **headers})


def _run_request(info: dict, payload: dict) -> requests.Response:
    """`POST /runs` SigV4-signed with the stack's operator key from stack.json, as the CLI signs it."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url, body = f"{info['api_url']}/runs", json.dumps(payload).encode()
    signed = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    operator = info["operator"]
    SigV4Auth(Credentials(operator["access_key_id"], operator["secret_access_key"]), "execute-api",
              info["region"]).add_auth(signed)
    return requests.post(url, data=body, timeout=30, headers=dict(signed.headers))


def test_local_up_keeps_the_settings_exported_in_its_shell_and_shows_them_in_stack_json(restarted):
    from tests.conftest import load_fixture

    _, info, output = restarted
    env = info["env"]
    cron = {"repository": "acme/infra", "commit": "a" * 40, "environment": "pr-1", "command": "cron",
            "user_email": "dev@example.com"}

    too_short = _run_request(info, {**cron, "ttl": "20s", "request_id": str(uuid.uuid4())})
    shortest = _run_request(info, {**cron, "ttl": "30s", "request_id": str(uuid.uuid4())})
    off_the_list = _signed(info, "/webhooks/github", load_fixture("push", "1.payload.json"),
                           **{"X-GitHub-Event": "push", "X-GitHub-Delivery": str(uuid.uuid4())})

    assert (env["TFPIPE_ALLOWED_REPOSITORIES"], env["TFPIPE_TTL_MIN"]) == ("acme/*", "30s")
    assert too_short.status_code == 400 and [f["field"] for f in too_short.json()["fields"]] == ["ttl"]
    assert "between 30s and 7d" in too_short.json()["message"]
    assert shortest.status_code == 202 and len(shortest.json()["runs"]) == 1
    assert off_the_list.status_code == 202 and off_the_list.json()["runs"] == []
    assert "Codertocat/Hello-World is not on tfpipe's allow-list" in off_the_list.json()["message"]
    # What names the stack's own resources stays the stack's, and the user is told.
    assert (env["TFPIPE_LOCKS_TABLE"], env["TFPIPE_STAGE"]) == ("tfpipe-dev-locks", "dev")
    assert "not taken from this shell (the stack points them at its own resources and endpoints): " \
           "TFPIPE_LOCKS_TABLE, TFPIPE_STAGE" in output.read_text()


def test_a_second_local_up_on_a_running_stacks_state_dir_refuses_and_leaves_the_first_alone(restarted):
    state_dir, info, _ = restarted
    before = (state_dir / "stack.json").read_text()

    second = subprocess.run([sys.executable, "-m", "tfpipe.cli", "local", "up", "--state-dir", str(state_dir)],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)

    assert second.returncode == 1
    assert f"already running, pid {info['pid']}" in second.stderr
    assert (state_dir / "stack.json").read_text() == before
    assert requests.get(f"{info['endpoints']['github']}/repos/acme/infra", timeout=5).status_code == 200


def test_local_up_warns_that_environments_in_the_audit_trail_are_gone(restarted):
    *_, output = restarted
    warnings = [line for line in output.read_text().splitlines() if line.startswith("warning: the audit trail")]

    assert len(warnings) == 1
    assert warnings[0].startswith("warning: the audit trail of acme/infra names environments that no longer "
                                  f"exist: prod (last applied {PROD_SHA[:7]}).")
    assert "pr-1" not in warnings[0]  # destroyed before the restart: nothing to miss


def test_an_artifact_link_on_the_local_stack_opens_the_artifact(restarted):
    from chalicelib.settings import Settings

    _, info, _ = restarted
    env = info["env"]
    key = f"runs/{uuid.uuid4().hex}/plan.txt"
    s3 = boto3.client("s3", endpoint_url=info["endpoints"]["aws"], region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.put_object(Bucket=env["TFPIPE_ARTIFACTS_BUCKET"], Key=key, Body=b"Plan: 1 to add", ContentType="text/plain")

    link = Settings.from_env(env).artifact_link(key)  # as comments, Slack and `tfpipe show` link it
    opened = requests.get(link, timeout=5)

    assert (opened.status_code, opened.content) == (200, b"Plan: 1 to add")
    assert opened.headers["Content-Type"].startswith("text/plain")
    assert requests.get(link.replace("plan.txt", "missing.txt"), timeout=5).status_code == 404


def test_local_up_with_a_malformed_exported_setting_refuses_naming_it(tmp_path):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TFPIPE_")}, "TFPIPE_TTL_MIN": "half an hour"}

    done = subprocess.run([sys.executable, "-m", "tfpipe.cli", "local", "up", "--state-dir", str(tmp_path)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, env=env)

    assert done.returncode == 1
    assert "TFPIPE_TTL_MIN: expected a duration like 90m" in done.stderr
    assert not (tmp_path / "stack.json").exists()


def test_local_up_with_previews_in_prods_account_refuses_naming_both_settings_and_the_way_out(tmp_path):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TFPIPE_")},
           "TFPIPE_EPHEMERAL_ACCOUNT_ID": "123456789012"}  # prod's account on the stack (moto's default)

    done = subprocess.run([sys.executable, "-m", "tfpipe.cli", "local", "up", "--state-dir", str(tmp_path)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, env=env)

    assert done.returncode == 1
    assert "TFPIPE_EPHEMERAL_ACCOUNT_ID 123456789012 is also the account of long-lived environment prod " \
           "(TFPIPE_ENVIRONMENTS)" in done.stderr
    assert "TFPIPE_EPHEMERAL_SHARED_ACCOUNT=allow" in done.stderr
    assert not (tmp_path / "stack.json").exists()

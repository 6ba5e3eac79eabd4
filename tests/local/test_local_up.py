"""`tfpipe local up` as a user runs it: ready within the budget, endpoints in stack.json, and on
Ctrl-C or SIGTERM a clean exit that leaves no process, no open port and no stack.json."""

from __future__ import annotations

import io
import json
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
    batch.submit_job(jobName=marker, jobQueue=env["TFPIPE_JOB_QUEUE_ARN"], jobDefinition=env["TFPIPE_JOB_DEFINITION_ARN"],
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

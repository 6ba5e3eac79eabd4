"""How a Terraform call is stopped: one SIGINT on timeout or interrupt, then the result says why.
Terraform itself is exercised end to end elsewhere (test_callbacks: SIGTERM mid-apply); here a
scripted stand-in makes the timing exact."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest
from executor.failures import JobFailure
from executor.interrupt import Interrupt
from executor.joblog import JobLog
from executor.masking import Masker
from executor.terraform import Terraform, base_env

from chalicelib.core.job import JobErrorClass

STANDIN = """#!/bin/sh
trap 'echo "interrupted, saving state"; exit 130' INT
echo "working on $1"
while true; do sleep 0.05; done
"""


@pytest.fixture
def standin(tmp_path):
    path = tmp_path / "terraform"
    path.write_text(STANDIN)
    path.chmod(0o755)
    return path


def make(standin, interrupt: Interrupt) -> Terraform:
    return Terraform(str(standin), standin.parent, {"PATH": "/usr/bin:/bin"}, JobLog("run-1", Masker(), io.StringIO()),
                     interrupt, grace_seconds=5)


def test_phase_timeout_interrupts_once_and_reports_timeout_with_scripted_terraform_standin(standin):
    run = make(standin, Interrupt()).run(["apply"], timeout=0.5)
    assert run.timed_out and not run.interrupted and run.returncode == 130
    assert "interrupted, saving state" in run.output
    with pytest.raises(JobFailure, match=r"exceeded the phase timeout of 0\.5s") as caught:
        run.check(JobErrorClass.APPLY_FAILED, "terraform apply for prod")
    assert caught.value.error is JobErrorClass.TIMEOUT


def test_an_interrupt_request_is_forwarded_and_reported_as_interrupted_with_scripted_terraform_standin(standin):
    interrupt = Interrupt()
    threading.Timer(0.3, interrupt.request, args=("received SIGTERM",)).start()
    run = make(standin, interrupt).run(["apply"], timeout=60)
    assert run.interrupted and run.stop_reason == "received SIGTERM"
    with pytest.raises(JobFailure, match="terraform apply for prod: received SIGTERM") as caught:
        run.check(JobErrorClass.APPLY_FAILED, "terraform apply for prod")
    assert caught.value.error is JobErrorClass.INTERRUPTED


def test_terraform_gets_the_deploy_credentials_and_none_of_the_jobs_own():
    environ = {"PATH": "/bin", "AWS_ACCESS_KEY_ID": "job-key", "AWS_SECRET_ACCESS_KEY": "job-secret",
               "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/creds", "AWS_PROFILE": "dev", "TFPIPE_TASK_TOKEN": "tok",
               "TFPIPE_JOB": "{}", "TF_VAR_stray": "x", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}
    env = base_env(environ, {"AWS_ACCESS_KEY_ID": "deploy-key", "AWS_SECRET_ACCESS_KEY": "deploy-secret",
                             "AWS_SESSION_TOKEN": "deploy-token"}, "pr-4", {"api_key": "v"})
    assert env["AWS_ACCESS_KEY_ID"] == "deploy-key" and env["AWS_SESSION_TOKEN"] == "deploy-token"
    assert not {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_PROFILE", "TFPIPE_TASK_TOKEN", "TFPIPE_JOB",
                "TF_VAR_stray"} & set(env)
    assert (env["TF_WORKSPACE"], env["TF_VAR_api_key"], env["TF_IN_AUTOMATION"]) == ("pr-4", "v", "1")
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"


def test_terraform_that_ignores_interrupts_is_killed_with_its_children_after_the_grace_with_scripted_terraform_standin(
        tmp_path):
    stubborn = tmp_path / "terraform"
    stubborn.write_text("#!/bin/sh\ntrap '' INT\nsleep 300 &\necho child $!\nwait\n")
    stubborn.chmod(0o755)
    tf = Terraform(str(stubborn), tmp_path, {"PATH": "/usr/bin:/bin"}, JobLog("run-1", Masker(), io.StringIO()),
                   Interrupt(), grace_seconds=0.3)
    run = tf.run(["apply"], timeout=0.2)
    assert run.timed_out and run.returncode == -9
    child = int(run.output.split("child ", 1)[1].split()[0])
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)  # the plugin-like child went with it


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting for whoever reaps orphans."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False

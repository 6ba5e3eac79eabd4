"""Long applies survive: the target role's credentials are refreshed while the job runs, and state
Terraform could not save is kept with the run's artifacts with a way back."""

from __future__ import annotations

import configparser
import io
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import boto3
import pytest
from executor.credentials import assume_target_role
from executor.isolation import work_user
from executor.joblog import JobLog
from executor.masking import MASK, Masker
from executor.refresh import PROFILE, RefreshedCredentials

from chalicelib.core.job import JobAction
from tests.executor.conftest import ACCOUNT, ARTIFACTS_BUCKET, STATE_BUCKET, make_spec, start_executor


@pytest.fixture
def workdir():
    """Like the runner's: the work user may pass through it, not list it (pytest's own is private)."""
    path = Path(tempfile.mkdtemp(prefix="tfpipe-job-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _credential_process(refreshed: RefreshedCredentials, env: dict[str, str], work) -> dict:
    """Run the profile's credential_process the way the AWS SDKs do (`sh -c`), as the work user."""
    config = configparser.ConfigParser()
    config.read(env["AWS_CONFIG_FILE"])
    command = config[f"profile {env['AWS_PROFILE']}"]["credential_process"]
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True,
                          env={"PATH": "/usr/bin:/bin"}, **work.spawn_kwargs())
    return json.loads(done.stdout)


def test_the_profiles_credential_process_answers_refreshed_credentials_with_a_later_expiration(aws, workdir):
    sts = boto3.client("sts", endpoint_url=aws.endpoint, region_name="us-east-1")
    masker, log = Masker(), JobLog("run-1", Masker(), io.StringIO())
    work = work_user("tfpipe-work", log)
    refreshed = RefreshedCredentials(workdir, lambda: assume_target_role(sts, ACCOUNT, "tfpipe-deploy", "run-1"),
                                     work, masker, log, interval=3600)
    env = refreshed.start()
    try:
        assert env["AWS_PROFILE"] == PROFILE and "AWS_ACCESS_KEY_ID" not in env  # no static keys for Terraform
        first = _credential_process(refreshed, env, work)
        assert first["Version"] == 1 and first["AccessKeyId"] and first["SessionToken"]
        time.sleep(1.1)  # STS states expiry to the second
        refreshed.refresh()
        second = _credential_process(refreshed, env, work)
    finally:
        refreshed.stop()
    assert second["AccessKeyId"] != first["AccessKeyId"]
    assert second["Expiration"] > first["Expiration"]
    assert masker.mask(f"{first['SecretAccessKey']} {second['SessionToken']}") == f"{MASK} {MASK}"


def test_a_runner_thread_refreshes_the_credentials_on_its_interval(aws, workdir):
    sts = boto3.client("sts", endpoint_url=aws.endpoint, region_name="us-east-1")
    log = JobLog("run-1", Masker(), io.StringIO())
    refreshed = RefreshedCredentials(workdir, lambda: assume_target_role(sts, ACCOUNT, "tfpipe-deploy", "run-1"),
                                     work_user("tfpipe-work", log), Masker(), log, interval=0.2)
    refreshed.start()
    first = json.loads(refreshed.credentials_path.read_text())["AccessKeyId"]
    try:
        deadline = time.monotonic() + 30
        while json.loads(refreshed.credentials_path.read_text())["AccessKeyId"] == first:
            assert time.monotonic() < deadline, "the credentials were never refreshed"
            time.sleep(0.1)
    finally:
        refreshed.stop()
    assert "refreshed the target role's credentials (valid until" in log.text()


@pytest.mark.terraform
def test_state_terraform_could_not_save_is_uploaded_with_the_runs_artifacts_and_the_failure_says_how_to_push_it(
        aws, infra):
    infra.write("environments/staging.tfvars", "sleep_seconds = 5\n")
    sha = infra.commit("slow apply")
    proc = start_executor(aws, make_spec(infra, sha, JobAction.PLAN_APPLY))
    try:
        for line in proc.stdout:
            if "terraform_data.slow[0]: Creating..." in line:
                break
        # The backend goes away mid-apply: terraform cannot write the state it made.
        deadline = time.monotonic() + 30
        while True:
            for key in aws.keys(STATE_BUCKET):
                aws.s3.delete_object(Bucket=STATE_BUCKET, Key=key)
            try:
                aws.s3.delete_bucket(Bucket=STATE_BUCKET)
                break
            except aws.s3.exceptions.ClientError:
                assert time.monotonic() < deadline
        stdout, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1
    answer = json.loads(stdout.strip().splitlines()[-1])
    key = "runs/run-1/errored.tfstate"
    assert answer["error"] == "ApplyFailed"
    assert f"left it in s3://{ARTIFACTS_BUCKET}/{key}" in answer["cause"]
    assert "terraform state push errored.tfstate" in answer["cause"]
    state = json.loads(aws.text(ARTIFACTS_BUCKET, key))
    assert {r["type"] for r in state["resources"]} >= {"aws_ssm_parameter", "terraform_data"}

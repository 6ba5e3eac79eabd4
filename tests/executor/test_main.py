"""`python -m executor` when it cannot even start: a clear line on stdout, exit 2, and the token
failed with JobFailed so the workflow does not wait for a heartbeat timeout."""

from __future__ import annotations

import json
import subprocess
import sys

from chalicelib.core.job import JOB_ENV, JobAction
from tests.executor.conftest import REPO_ROOT, executor_env, finished_execution, make_spec, token_execution


def run_main(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "executor"], env=env, capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=60)


def test_without_a_job_spec_it_says_so_and_exits_2(aws, infra):
    env = executor_env(aws, make_spec(infra, "0" * 40, JobAction.PLAN))
    del env[JOB_ENV]
    done = run_main(env)
    assert done.returncode == 2
    assert json.loads(done.stdout.splitlines()[-1])["message"] == f"starting the executor: {JOB_ENV} is not set"


def test_missing_buckets_fail_the_task_token_with_job_failed(aws, infra):
    execution, token = token_execution(aws, "cannot-start")
    env = executor_env(aws, make_spec(infra, "0" * 40, JobAction.PLAN), token=token)
    env.pop("TFPIPE_STATE_BUCKET")
    done = run_main(env)
    assert done.returncode == 2
    assert "TFPIPE_STATE_BUCKET not set" in done.stdout
    described = finished_execution(aws, execution)
    assert (described["status"], described["error"]) == ("FAILED", "JobFailed")


def test_a_malformed_job_spec_is_refused_naming_the_variable(aws, infra):
    env = executor_env(aws, make_spec(infra, "0" * 40, JobAction.PLAN))
    env[JOB_ENV] = json.dumps({"run_id": "x", "action": "launch"})
    done = run_main(env)
    assert done.returncode == 2
    assert f"reading {JOB_ENV}" in done.stdout


def test_python_dash_m_executor_works_from_a_checkout_as_the_local_batch_service_runs_it(aws, infra, tmp_path):
    """The embedded stack runs the job definition's command `python -m executor` with the repository
    on PYTHONPATH (not the package's folder) in a job directory of its own."""
    env = executor_env(aws, make_spec(infra, "0" * 40, JobAction.PLAN))
    env["PYTHONPATH"] = str(REPO_ROOT)
    del env[JOB_ENV]
    done = subprocess.run([sys.executable, "-m", "executor"], env=env, capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["message"] == f"starting the executor: {JOB_ENV} is not set"

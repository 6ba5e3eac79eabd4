"""Untrusted code (build steps, Terraform and what Terraform runs) never meets the runner's secrets.

A hostile pull request's build step and a `local-exec` provisioner dump their environment, every
`/proc/<pid>/environ` they can read (the runner's is their parent's for the build step) and its base64
form, then try to read the pipeline's GitHub token from Secrets Manager with whatever credentials they
found. The job runs for real (`python -m executor`, real Terraform, moto) with job-role credentials, a
task credentials URI and a real task token in its environment; none of them, nor the secret, may turn
up in anything the job stores or sends. (The `external` data source is the other usual way for a
configuration to run a program; its provider is not in this machine's offline mirror, so the test
uses the built-in `local-exec`, which runs the same way: a child of Terraform, as the work user.)
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import boto3
import pytest
from executor.failures import JobFailure
from executor.isolation import read_untrusted, work_env, work_user, write_untrusted
from executor.joblog import JobLog
from executor.masking import Masker

from chalicelib.core.job import JobAction
from tests.executor.conftest import (
    ARTIFACTS_BUCKET,
    STATE_BUCKET,
    finished_execution,
    make_spec,
    run_executor,
    token_execution,
)

JOB_KEY = "AKIAJOBROLE7Q2W3E4R5"
JOB_SECRET = "jobRoleSecretKey/Zx81+Qm2Lp0vN7sT4uY6wE9rA3dF5gH"
JOB_SESSION = "jobRoleSessionToken-IQoJb3JpZ2luX2VjEJr-8812"
TASK_CREDENTIALS_URI = "/v2/credentials/5e1b9c1a-task-role-only"
GITHUB_TOKEN = "ghp_pipelineBotToken0123456789abcdefXYZ"

LEAK_PY = r'''
import base64, os, sys

sys.path.insert(0, sys.argv[2])  # boto3, from the test's virtualenv

def environ_of(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            raw = f.read()
    except OSError as exc:
        print(f"reading /proc/{pid}/environ: {exc}")
        return {}
    print(f"/proc/{pid}/environ base64:", base64.b64encode(raw).decode())
    return dict(line.split("=", 1) for line in raw.decode(errors="replace").split("\0") if "=" in line)

print("own environment:", dict(os.environ))
print("parent environment:", environ_of(os.getppid()))
found = {}
for pid in sorted(p for p in os.listdir("/proc") if p.isdigit()):
    found.update({k: v for k, v in environ_of(pid).items() if k.startswith(("AWS_", "TFPIPE_"))})
print("found:", found)
# Its own credentials (the target role's, in Terraform) are not what it is after: moto would let them
# read anything, while in AWS they reach only the target account. It tries the ones it found elsewhere.
own = {k: os.environ.pop(k, None) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                            "AWS_PROFILE", "AWS_CONFIG_FILE")}
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.environ["AWS_CONFIG_FILE"] = "/dev/null"
os.environ.update({k: v for k, v in found.items() if k.startswith("AWS_") and "ENDPOINT" not in k
                   and own.get(k) != v and k not in ("AWS_PROFILE", "AWS_CONFIG_FILE")})
try:
    import boto3
    value = boto3.client("secretsmanager", region_name="us-east-1").get_secret_value(
        SecretId=sys.argv[1])["SecretString"]
    print("secret:", value, "base64:", base64.b64encode(value.encode()).decode())
except Exception as exc:
    print("secret not read:", type(exc).__name__)
'''


# The system's Python: the work user cannot reach the test's interpreter under /root; boto3 comes from
# the virtualenv's site-packages, which it can read.
PYTHON = "/usr/bin/python3"
LEAK = f"env; cat /proc/$PPID/environ; {PYTHON} leak.py tfpipe/prod/github-token {Path(boto3.__file__).parents[1]}"
LEAK_TF = f'''resource "terraform_data" "leak" {{
  provisioner "local-exec" {{
    command = "{LEAK}"
  }}
}}
'''


def _base64_leaks(text: str, secret: str) -> bool:
    """Whether `secret` is in any base64 run of `text` (decoded at each of the 4 character offsets)."""
    for run in re.findall(r"[A-Za-z0-9+/]{8,}={0,2}", text):
        for offset in range(4):
            chunk = run[offset:].rstrip("=")
            chunk = chunk[: len(chunk) // 4 * 4]
            try:
                if secret.encode() in base64.b64decode(chunk):
                    return True
            except ValueError:
                continue
    return False


def _leaks(texts: dict[str, str], secrets: list[str]) -> list[str]:
    found = []
    for where, text in texts.items():
        for secret in secrets:
            if secret in text or _base64_leaks(text, secret):
                found.append(f"{secret[:12]}... in {where}")
        if re.search(r"TFPIPE_[A-Z_]+=", text):
            found.append(f"a TFPIPE_ variable in {where}")
    return found


@pytest.mark.terraform
def test_a_hostile_build_step_and_provisioner_find_no_token_job_credentials_or_secret(aws, infra):
    aws.secrets.create_secret(Name="tfpipe/prod/github-token", SecretString=GITHUB_TOKEN)
    infra.write("leak.py", LEAK_PY)
    infra.write("leak.tf", LEAK_TF)
    infra.write("tfpipe.yml", f"build:\n  - name: snoop\n    command: [sh, -c, {json.dumps(LEAK)}]\n")
    sha = infra.commit("a pull request that goes looking")
    execution, token = token_execution(aws, "leak")

    done = run_executor(aws, make_spec(infra, sha, JobAction.PLAN_APPLY), token=token,
                        AWS_ACCESS_KEY_ID=JOB_KEY, AWS_SECRET_ACCESS_KEY=JOB_SECRET, AWS_SESSION_TOKEN=JOB_SESSION,
                        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=TASK_CREDENTIALS_URI)
    assert done.returncode == 0, done.stdout[-3000:]
    described = finished_execution(aws, execution)
    assert described["status"] == "SUCCEEDED"

    log = aws.text(ARTIFACTS_BUCKET, "runs/run-1/plan-apply/log.txt")
    texts = {"stdout": done.stdout, "stderr": done.stderr, "execution": json.dumps(described, default=str),
             "status events": json.dumps(aws.status_events())}
    for bucket in (ARTIFACTS_BUCKET, STATE_BUCKET):
        for key in aws.keys(bucket):
            texts[f"s3://{bucket}/{key}"] = aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode(
                errors="replace")
    assert "runs/run-1/plan.txt" in " ".join(texts)
    secrets = [JOB_KEY, JOB_SECRET, JOB_SESSION, TASK_CREDENTIALS_URI, token, GITHUB_TOKEN]
    assert _leaks(texts, secrets) == []
    # It really went looking, and was stopped by the kernel, not by luck.
    assert "reading /proc/" in log and "Permission denied" in log and "secret not read" in log
    assert re.search(r"build steps and terraform run as user \S+ \(uid \d+\)", log)
    # Terraform (and so its children) gets the target role through the refreshed profile, not static keys.
    assert "AWS_PROFILE=tfpipe" in log and "AWS_ACCESS_KEY_ID=" not in log


def test_untrusted_code_gets_only_the_allow_listed_environment():
    environ = {"PATH": "/bin", "LANG": "C.UTF-8", "HTTPS_PROXY": "http://proxy:3128", "AWS_REGION": "eu-west-1",
               "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:5000", "TF_CLI_CONFIG_FILE": "/etc/tf.rc",
               "AWS_ACCESS_KEY_ID": "job-key", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/x",
               "ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/x", "TFPIPE_TASK_TOKEN": "tok",
               "TFPIPE_JOB": "{}", "TFPIPE_STATE_BUCKET": "b", "TF_VAR_stray": "x", "PYTHONPATH": "/app",
               "GITHUB_TOKEN": "ghp_x"}
    assert work_env(environ) == {"PATH": "/bin", "LANG": "C.UTF-8", "HTTPS_PROXY": "http://proxy:3128",
                                 "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:5000",
                                 "TF_CLI_CONFIG_FILE": "/etc/tf.rc"}


def test_a_link_the_work_user_left_is_never_followed_when_the_runner_reads_or_writes(tmp_path):
    secret = tmp_path / "runner-only"
    secret.write_text("runner secret")
    src = tmp_path / "src"
    (src / "dist").mkdir(parents=True)
    (src / "dist" / "app.zip").symlink_to(secret)
    (src / "linked").symlink_to(tmp_path)
    (src / "plan.tfplan").symlink_to(secret)
    for relative in ("dist/app.zip", "linked/runner-only", "../runner-only", "plan.tfplan"):
        with pytest.raises(OSError):
            read_untrusted(src, relative)
    write_untrusted(src, "plan.tfplan", b"plan")
    assert secret.read_text() == "runner secret" and read_untrusted(src, "plan.tfplan") == b"plan"
    # A project's dir below the checkout: a link standing for it is not followed either.
    with pytest.raises(OSError):
        write_untrusted(src, "linked/runner-only", b"plan")
    write_untrusted(src, "dist/plan.tfplan", b"project plan")
    assert secret.read_text() == "runner secret" and read_untrusted(src, "dist/plan.tfplan") == b"project plan"


def test_a_build_output_that_links_to_the_runners_environment_is_refused_not_uploaded(aws, infra):
    infra.write("tfpipe.yml", 'build:\n  - name: app\n    command: ["sh", "-c", "ln -s /proc/$PPID/environ app.zip"]\n'
                "    output: app.zip\n")
    sha = infra.commit("an output that is a link")
    failed = run_executor(aws, make_spec(infra, sha, JobAction.PLAN), AWS_SECRET_ACCESS_KEY=JOB_SECRET)
    assert failed.returncode == 1
    assert failed.answer["error"] == "BuildFailed" and "did not produce app.zip" in failed.answer["cause"]
    assert aws.keys(ARTIFACTS_BUCKET) == ["runs/run-1/plan/log.txt"]


@pytest.mark.skipif(os.geteuid() != 0, reason="isolation needs the runner to be root")
def test_a_work_directory_the_work_user_cannot_enter_is_refused_with_the_setting_to_change(tmp_path):
    private = tmp_path / "private"
    (private / "job").mkdir(parents=True)
    private.chmod(0o700)
    work = work_user("tfpipe-work", JobLog("run-1", Masker(), io.StringIO()))
    with pytest.raises(JobFailure, match=r"private \(mode 0700\) does not let the work user \S+ pass; set "
                                         "TFPIPE_JOB_WORK_DIR"):
        work.prepare(private / "job", {})


def test_a_runner_that_is_not_root_says_isolation_is_off_with_a_faked_uid(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    log = JobLog("run-1", Masker(), io.StringIO())
    work = work_user("tfpipe-work", log)
    assert not work.isolated and work.spawn_kwargs() == {}
    assert "isolation is OFF: the runner is not root (uid 1000)" in log.text()


@pytest.mark.skipif(os.geteuid() != 0, reason="isolation needs the runner to be root")
def test_each_job_gets_its_own_plugin_cache_seeded_read_only_from_the_shared_one():
    root = Path(tempfile.mkdtemp(prefix="tfpipe-cache-test-"))
    try:
        root.chmod(0o711)
        package = root / "shared" / "registry.terraform.io" / "hashicorp" / "aws" / "5.100.0" / "linux_amd64"
        package.mkdir(parents=True)
        (root / "job").mkdir()
        work = work_user("tfpipe-work", JobLog("run-1", Masker(), io.StringIO()))
        work.prepare(root / "job", {"TF_PLUGIN_CACHE_DIR": str(root / "shared")})
        cache = Path(work.env["TF_PLUGIN_CACHE_DIR"])
        assert cache.is_relative_to(root / "job") and work.env["HOME"] == str(root / "job" / "home")
        linked = cache / "registry.terraform.io" / "hashicorp" / "aws" / "5.100.0" / "linux_amd64"
        assert linked.is_symlink() and linked.resolve() == package
        assert cache.stat().st_uid == work.uid and package.stat().st_uid == 0  # the shared one stays root's
    finally:
        shutil.rmtree(root, ignore_errors=True)

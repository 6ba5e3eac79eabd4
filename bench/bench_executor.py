"""The executor's overhead: wall time of a PLAN job (`python -m executor`: checkout, STS, init, plan,
show -json, uploads, status events) over bare `terraform init && terraform plan` of the same
configuration against the same S3 backend on moto. Both run side by side in one process, alternating
which goes first, for several rounds; the median ratio is the figure (target: at most 1.15x).

Two cases: `small` (empty state, one resource to add) and `large` (41 resources in state to refresh,
one to change). The executor's extra work is mostly fixed (`terraform show -json`, which loads the
provider's schema, plus Python start-up and uploads), so the ratio falls as the plan grows.

    .venv/bin/python bench/bench_executor.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "tests" / "executor" / "infra"
sys.path[:0] = [str(ROOT), str(ROOT / "executor")]

from executor.backend import backend_args, state_location  # noqa: E402

from bench.targets import verdict  # noqa: E402
from chalicelib.core.job import JOB_ENV, JobAction, JobSpec  # noqa: E402
from tfpipe.local.moto_server import MotoServer  # noqa: E402

STATE, ARTIFACTS, REPOSITORY, ENVIRONMENT = "bench-state", "bench-artifacts", "acme/infra", "staging"
TARGET = 1.15


class Repo:
    def __init__(self, root: Path):
        self.work = root / "work"
        shutil.copytree(CONFIG, self.work)
        self.commit()

    def commit(self, **tfvars: str) -> str:
        for environment, text in tfvars.items():
            (self.work / "environments" / f"{environment}.tfvars").write_text(text)
        env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com",
               "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}
        for argv in (["init", "-q"], ["add", "-A"], ["commit", "-q", "--allow-empty", "-m", "bench"]):
            subprocess.run(["git", "-C", str(self.work), *argv], check=True, env=env, capture_output=True)
        return subprocess.run(["git", "-C", str(self.work), "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()


def bare(env: dict[str, str], root: Path, repo: Repo, environment: str) -> float:
    """`terraform init && terraform plan` in a fresh copy, same backend key, same tfvars."""
    work = Path(tempfile.mkdtemp(dir=root))
    shutil.copytree(repo.work, work, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))
    location = state_location(STATE, REPOSITORY, environment, "default")
    started = time.monotonic()
    subprocess.run(["terraform", "init", "-input=false", *backend_args(location, "us-east-1", False)],
                   cwd=work, env=env, check=True, capture_output=True)
    subprocess.run(["terraform", "plan", "-input=false", f"-var-file=environments/{environment}.tfvars"],
                   cwd=work, env=env, check=True, capture_output=True)
    seconds = time.monotonic() - started
    shutil.rmtree(work, ignore_errors=True)
    return seconds


def runner(env: dict[str, str], spec: JobSpec) -> tuple[float, dict]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "executor"], env={**env, JOB_ENV: spec.to_json()},
                          capture_output=True, text=True, cwd=ROOT)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"the executor failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds, json.loads(done.stdout.splitlines()[-1])


def job(url: str, sha: str, environment: str, run_id: str, action: JobAction = JobAction.PLAN) -> JobSpec:
    return JobSpec(run_id=run_id, workflow="plan", action=action, repository=REPOSITORY, clone_url=url, sha=sha,
                   environment=environment, account_id="123456789012", workspace="default",
                   actor="bench@example.com", artifacts_prefix=f"runs/{run_id}/")


def bench_case(case: str, env: dict[str, str], root: Path, repo: Repo, url: str, sha: str, environment: str,
               rounds: int) -> float:
    bare(env, root, repo, environment)  # warm the plugin and page caches for both
    bare_times, runner_times, ratios, durations = [], [], [], []
    for i in range(rounds):
        spec = job(url, sha, environment, f"bench-{case}-{i}")
        if i % 2 == 0:
            b = bare(env, root, repo, environment)
            r, result = runner(env, spec)
        else:
            r, result = runner(env, spec)
            b = bare(env, root, repo, environment)
        bare_times.append(b)
        runner_times.append(r)
        ratios.append(r / b)
        durations.append(result["durations"])
        print(f"[{case}] round {i + 1}: bare init+plan {b:.2f}s  executor {r:.2f}s  ratio {r / b:.3f}  "
              f"(plan: +{result['add']} ~{result['change']} -{result['destroy']})")
    median_ratio = statistics.median(ratios)
    print(f"[{case}] median bare init+plan: {statistics.median(bare_times):.2f}s; "
          f"median executor PLAN job: {statistics.median(runner_times):.2f}s")
    print(f"[{case}] executor phases (median s): " + ", ".join(
        f"{phase} {statistics.median(d[phase] for d in durations):.2f}" for phase in durations[0]))
    print(f"[{case}] median ratio executor / bare: {median_ratio:.3f}x (target <= {TARGET}x): "
          f"{verdict(median_ratio, TARGET)}")
    # Where the difference goes: `terraform show -json` (the plan.json artifact) is work bare
    # init+plan does not do; the rest is the runner itself (Python, checkout, STS, uploads, events).
    rest = statistics.median((r - d.get("plan-json", 0.0)) / b for r, d, b in zip(runner_times, durations, bare_times,
                                                                                   strict=True))
    print(f"[{case}] of which terraform show -json: median {statistics.median(d.get('plan-json', 0.0) for d in durations):.2f}s;"
          f" executor without it / bare: {rest:.3f}x")
    return median_ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    server = MotoServer().start()
    root = Path(tempfile.mkdtemp(prefix="bench-executor-"))
    try:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_SESSION_TOKEN": "testing", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_ENDPOINT_URL": server.url, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1",
               "PYTHONPATH": os.pathsep.join([str(ROOT / "executor"), str(ROOT)]),
               "TFPIPE_STATE_BUCKET": STATE, "TFPIPE_ARTIFACTS_BUCKET": ARTIFACTS}
        cli_config = ROOT / ".tfpipe" / "terraform.rc"  # written by `make install`: provider mirror + cache
        if cli_config.exists():
            env["TF_CLI_CONFIG_FILE"] = str(cli_config)
        s3 = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
        for bucket in (STATE, ARTIFACTS):
            s3.create_bucket(Bucket=bucket)
        sqs = boto3.client("sqs", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="testing",
                           aws_secret_access_key="testing")
        env["TFPIPE_STATUS_QUEUE_URL"] = sqs.create_queue(QueueName="bench-status")["QueueUrl"]
        repo = Repo(root)
        url = repo.work.as_uri()
        # The large case: 41 resources applied first, then a commit that changes one of them.
        repo.commit(large='message = "v1"\nparameter_count = 40\n')
        applied = runner(env, job(url, repo.commit(), "large", "setup", JobAction.PLAN_APPLY))
        print(f"setup: applied the large case in {applied[0]:.1f}s")
        sha = repo.commit(large='message = "v2"\nparameter_count = 40\n')
        for case, environment in (("small", ENVIRONMENT), ("large", "large")):
            bench_case(case, env, root, repo, url, sha, environment, rounds)
        return 0
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

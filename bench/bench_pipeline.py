"""Pipeline benchmarks on the embedded stack (issue 8), measured side by side in one run; prints
figures and whether each met its target (MISSED does not fail the bench).

1. PLAN workflow wall time, from the pull_request webhook to the plan comment on the PR, over bare
   `terraform init && terraform plan` of the same commit and backend (target: at most 1.3x).
2. Webhook-to-execution-start latency: signed dispatches answered 202 once their execution started
   (p50 and p99).
3. 20 pull requests opened at once: every PLAN and APPLY EPHEMERAL completes, none is lost; then
   three pushes to the default branch in a row: their applies to prod never overlap.

    .venv/bin/python bench/bench_pipeline.py [--rounds 3] [--prs 20]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.targets import verdict  # noqa: E402
from tfpipe.demo.command import DEMO_SETTINGS, quiet_logs, terraform_cli_config  # noqa: E402
from tfpipe.demo.story import DEVELOPER, REPOSITORY, Story, wait  # noqa: E402


def bare_plan(story: Story, sha: str, workdir: Path) -> float:
    """terraform init && terraform plan of `sha`, with the pipeline's backend and build inputs."""
    checkout = workdir / f"bare-{sha[:7]}"
    shutil.rmtree(checkout, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", str(story.checkout), str(checkout)], check=True, timeout=60)
    subprocess.run(["git", "checkout", "-q", sha], cwd=checkout, check=True, timeout=60)
    settings = story.ops.target.settings
    env = {**os.environ, **story.stack.env, "TF_IN_AUTOMATION": "1"}
    began = time.monotonic()
    subprocess.run(["python3", "build.py", "dist/app.zip"], cwd=checkout, check=True, env=env, timeout=120)
    subprocess.run(["terraform", "init", "-input=false", f"-backend-config=bucket={settings.state_bucket}",
                    f"-backend-config=key=bench/{sha}/terraform.tfstate", "-backend-config=use_lockfile=true",
                    f"-backend-config=region={settings.region}"],
                   cwd=checkout, check=True, env=env, timeout=300, capture_output=True)
    subprocess.run(["terraform", "plan", "-input=false", "-var-file=environments/prod.tfvars",
                    f"-var=artifacts_bucket={settings.artifacts_bucket}", "-var=app_package_key=bench/app.zip",
                    "-out=plan.tfplan"], cwd=checkout, check=True, env=env, timeout=300, capture_output=True)
    return time.monotonic() - began


def pipeline_plan(story: Story, branch: str, release: str) -> tuple[float, str]:
    """Open a draft PR (PLAN only) and time webhook -> plan comment."""
    story.git("checkout", "-q", "main")
    story.git("checkout", "-q", "-b", branch)
    story.set_release(release)
    sha = story.commit_and_push(f"bench {branch}", branch)
    began = time.monotonic()
    record, _status = story.github.open(REPOSITORY, head=branch, user=DEVELOPER, draft=True)
    wait(f"the plan comment on #{record['number']}",
         lambda: any("RELEASE" in c for c in story.comments(record["number"])), 300, interval=0.1)
    return time.monotonic() - began, sha


def start_latency(story: Story, count: int) -> list[float]:
    """Dispatches of a cheap workflow (MODIFY CRON of an environment that is not up: it ends in its
    first state), timed from the signed request to the 202 that says the execution started."""
    samples = []
    sha = story.git("rev-parse", "HEAD")
    for index in range(count):
        request = {"repository": REPOSITORY, "commit": sha, "environment": {"name": f"pr-{9000 + index}"},
                   "command": "cron", "ttl": "1h", "user_email": "bench@example.com", "request_id": f"bench-{index}"}
        began = time.monotonic()
        answer = story.ops.dispatch(request)
        samples.append(time.monotonic() - began)
        assert answer.status == 202, answer.body
    return samples


def many_pull_requests(story: Story, count: int) -> dict:
    story.git("checkout", "-q", "main")
    branches = []
    for index in range(count):
        story.git("checkout", "-q", "main")
        story.git("checkout", "-q", "-b", f"load-{index}")
        (story.checkout / f"load-{index}.txt").write_text(f"{index}\n")
        story.commit_and_push(f"load {index}", f"load-{index}")
        branches.append(f"load-{index}")
    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=count) as pool:
        opened = list(pool.map(lambda b: story.github.open(REPOSITORY, head=b, user=DEVELOPER), branches))
    numbers = [record["number"] for record, status in opened if status == 202]

    def settled():
        runs = [r for r in story.ops.runs() if r["pull_request"] in numbers]
        done = [r for r in runs if r["status"] not in ("running",)]
        return runs if len(runs) == 2 * len(numbers) and len(done) == len(runs) else None

    runs = wait(f"{2 * len(numbers)} runs of {len(numbers)} pull requests to end", settled, 1800, interval=2)
    for run in runs:
        if run["status"] != "succeeded":
            execution = story.ops.execution(run["run_id"])
            print(f"    {run['run_id']} {run['status']}: {execution.get('error')} {execution.get('cause') or ''} "
                  f"({' > '.join(s['state'] for s in execution['steps'][-4:])})", flush=True)
            for line in story.ops.log_tail(run["run_id"], 6):
                print(f"      | {line[:300]}", flush=True)
    return {"opened": len(numbers), "runs": len(runs), "seconds": time.monotonic() - began,
            "succeeded": sum(1 for r in runs if r["status"] == "succeeded"),
            "by_status": {s: sum(1 for r in runs if r["status"] == s) for s in {r["status"] for r in runs}}}


def serialised_applies(story: Story, pushes: int = 3) -> dict:
    """Push commits to main in a row and approve each as it asks; the Apply states must not overlap."""
    story.git("checkout", "-q", "main")
    shas = []
    for index in range(pushes):
        story.set_release(f"serial-{index}")
        shas.append(story.commit_and_push(f"serial {index}", "main"))
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        runs = [r for r in story.runs("plan-apply", "prod") if r["sha"] in shas]
        for run in runs:
            if run.get("approval_state") == "pending":
                story.ops.decide(run["run_id"], True)
        if len(runs) == pushes and all(r["status"] != "running" for r in runs):
            break
        time.sleep(1)
    sfn = story.ops.deps.clients.stepfunctions
    windows = []
    for run in runs:
        events = sfn.get_execution_history(executionArn=run["execution_arn"], maxResults=1000)["events"]
        entered = [e["timestamp"] for e in events if e.get("stateEnteredEventDetails", {}).get("name") == "Apply"]
        exited = [e["timestamp"] for e in events if e.get("stateExitedEventDetails", {}).get("name") == "Apply"]
        if entered and exited:
            windows.append((entered[0], exited[-1]))
    windows.sort()
    overlaps = sum(1 for a, b in itertools.pairwise(windows) if b[0] < a[1])
    return {"pushed": pushes, "statuses": sorted(r["status"] for r in runs), "applies": len(windows),
            "overlapping_applies": overlaps}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prs", type=int, default=20)
    parser.add_argument("--dispatches", type=int, default=50)
    args = parser.parse_args()
    from tfpipe.local.stack import Stack

    work = Path(tempfile.mkdtemp(prefix="tfpipe-bench-"))
    terraform_cli_config()
    settings = {**DEMO_SETTINGS, "TFPIPE_APPROVAL_TIMEOUT": "30m"}
    with quiet_logs(work / "stack.log"), \
            Stack(state_dir=work / "state", provision=True, extra_env=settings, batch_concurrency=2) as stack:
        story = Story(stack, work, timeout=600)
        print("first commit ...", flush=True)
        story.first_commit()
        pipeline, bare = [], []
        for index in range(args.rounds):  # alternate, so machine noise hits both alike
            seconds, sha = pipeline_plan(story, f"bench-{index}", f"bench-{index}")
            pipeline.append(seconds)
            bare.append(bare_plan(story, sha, work))
            print(f"  round {index + 1}: PLAN workflow {seconds:.2f} s, bare init+plan {bare[-1]:.2f} s", flush=True)
        latency = sorted(start_latency(story, args.dispatches))
        load = many_pull_requests(story, args.prs)
        serial = serialised_applies(story)
    p50, p99 = latency[len(latency) // 2], latency[min(len(latency) - 1, int(len(latency) * 0.99))]
    print("pipeline benchmarks on the embedded stack (one run, same machine)")
    ratio = statistics.median(pipeline) / statistics.median(bare)
    print(f"  PLAN webhook -> plan comment: median {statistics.median(pipeline):.2f} s; bare terraform init+plan "
          f"median {statistics.median(bare):.2f} s; ratio {ratio:.2f}x (target <= 1.3x: {verdict(ratio, 1.3)})")
    print(f"  webhook -> execution started ({len(latency)} dispatches): p50 {p50 * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms")
    print(f"  {load['opened']} pull requests at once: {load['runs']} runs ended in {load['seconds']:.0f} s, "
          f"{load['succeeded']} succeeded ({load['by_status']}); lost: {2 * load['opened'] - load['runs']} "
          f"(target 0: {verdict(2 * load['opened'] - load['runs'], 0)})")
    print(f"  {serial['pushed']} pushes to main: statuses {serial['statuses']}; {serial['applies']} applies, "
          f"{serial['overlapping_applies']} overlapping (target 0: {verdict(serial['overlapping_applies'], 0)})")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

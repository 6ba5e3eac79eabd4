"""The executor answers a real Step Functions task token (moto's ASL engine), heartbeats while it
works, masks secrets everywhere, and on SIGTERM stops Terraform cleanly and reports Interrupted."""

from __future__ import annotations

import json
import queue
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from chalicelib.core.failure_cause import JobFailureCause
from chalicelib.core.job import JobAction
from tests.executor.conftest import (
    ARTIFACTS_BUCKET,
    HEARTBEAT_SECONDS,
    STATE_BUCKET,
    finished_execution,
    make_spec,
    run_executor,
    start_executor,
    token_execution,
)

pytestmark = pytest.mark.terraform
STATE_KEY = "acme/infra/env/staging/terraform.tfstate"
API_KEY_SECRET = "tfpipe/dev/repos/acme/infra/api-key"  # under the repository's prefix (stage dev)


def test_canary_secret_is_masked_in_logs_artifacts_status_events_and_the_callback(aws, infra):
    canary = f"canary-{uuid.uuid4().hex}"
    aws.secrets.create_secret(Name=API_KEY_SECRET, SecretString=canary)
    sha = infra.commit("reads a secret")
    execution, token = token_execution(aws, "canary")

    # Declared in the pipeline's settings (TFPIPE_REPOSITORY_SECRETS), resolved into the spec by submit_job.
    done = run_executor(aws, make_spec(infra, sha, JobAction.PLAN_APPLY, secrets={"api_key": API_KEY_SECRET}),
                        token=token)
    assert done.returncode == 0, done.stdout[-3000:]
    assert done.seconds > HEARTBEAT_SECONDS  # so the execution survived on the job's heartbeats
    described = finished_execution(aws, execution)
    assert described["status"] == "SUCCEEDED"
    result = json.loads(described["output"])
    # The secret did reach Terraform (the careless output echoes it), and came back masked.
    assert result["outputs"]["api_key_echo"] == "***"
    assert "api_key_sensitive" not in result["outputs"]

    texts = [done.stdout, done.stderr, described["output"]]
    texts += [aws.text(ARTIFACTS_BUCKET, key) for key in aws.keys(ARTIFACTS_BUCKET) if not key.endswith(".tfplan")]
    texts += [json.dumps(e) for e in aws.status_events()]
    history = aws.sfn.get_execution_history(executionArn=execution)["events"]
    texts.append(json.dumps(history, default=str))
    assert len(texts) > 8
    leaks = [t[:80] for t in texts if canary in t]
    assert leaks == []
    assert "***" in aws.text(ARTIFACTS_BUCKET, "runs/run-1/plan.txt")


GATE = """resource "terraform_data" "gate" {
  lifecycle {
    precondition {
      condition     = var.api_key == "never"
      error_message = "api key ${nonsensitive(var.api_key)} is not accepted"
    }
  }
}
"""


def test_terraforms_error_reaches_the_cause_and_the_status_with_file_and_line_and_its_secret_masked(aws, infra):
    canary = f"canary-{uuid.uuid4().hex}"
    aws.secrets.create_secret(Name=API_KEY_SECRET, SecretString=canary)
    infra.write("gate.tf", GATE)  # a careless error message that prints the secret
    sha = infra.commit("a precondition that fails at plan")
    execution, token = token_execution(aws, "gate")

    done = run_executor(aws, make_spec(infra, sha, JobAction.PLAN, secrets={"api_key": API_KEY_SECRET}), token=token)
    assert done.returncode == 1, done.stdout[-3000:]
    described = finished_execution(aws, execution)
    assert described["error"] == "PlanFailed"
    cause = JobFailureCause.parse(described["cause"])
    [diagnostic] = cause.diagnostics
    assert (diagnostic.summary, diagnostic.location) == ("Resource precondition failed", "gate.tf:4")
    assert diagnostic.text.startswith("Error: Resource precondition failed\n\n  on gate.tf line 4")
    assert "api key *** is not accepted" in diagnostic.text
    assert cause.message.startswith("terraform plan for staging failed (exit 1): Error: Resource precondition "
                                    "failed (gate.tf:4)")
    assert cause.log == "runs/run-1/plan/log.txt" and "Resource precondition failed" in cause.log_tail
    failed = aws.status_events()[-1]
    assert (failed["phase"], failed["status"], failed["artifacts"]["log"]) == ("plan", "failed", cause.log)
    assert failed["details"]["diagnostics"] == [diagnostic.to_dict()]

    history = aws.sfn.get_execution_history(executionArn=execution)["events"]
    texts = [done.stdout, done.stderr, json.dumps(history, default=str), json.dumps(failed)]
    assert [t[:80] for t in texts if canary in t] == []


def _sleeping(seconds: int) -> list[int]:
    """Live processes running the slow provisioner's `sleep <seconds>`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if stat.read_bytes().split(b"\0")[:2] == [b"sleep", str(seconds).encode()]:
                found.append(int(stat.parent.name))
        except OSError:
            continue
    return found


def _lines_until(proc, pattern: str, timeout: float) -> list[str]:
    """Read the job's stdout (in a thread) until a line contains `pattern`."""
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if pattern in line:
            return seen
    raise AssertionError(f"{pattern!r} never appeared:\n" + "".join(seen[-20:]))


def test_sigterm_during_apply_stops_terraform_releases_the_lock_and_reports_interrupted(aws, infra):
    infra.write("environments/staging.tfvars", "sleep_seconds = 301\n")
    sha = infra.commit("slow apply")
    execution, token = token_execution(aws, "interrupted")
    proc = start_executor(aws, make_spec(infra, sha, JobAction.PLAN_APPLY), token=token)
    try:
        _lines_until(proc, "terraform_data.slow[0]: Creating...", timeout=120)
        time.sleep(1)
        assert aws.keys(STATE_BUCKET) == [STATE_KEY + ".tflock"]  # terraform holds the lock mid-apply
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 1
        stopped_after = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert stopped_after < 30  # the 301 s sleep was cut short, not waited out
    assert not _sleeping(301)  # nothing Terraform started outlives the job

    described = finished_execution(aws, execution)
    assert described["status"] == "FAILED"
    assert described["error"] == "Interrupted"
    cause = JobFailureCause.parse(described["cause"])  # moto keeps it on the stack (tfpipe/local/moto_server.py)
    assert cause.message.startswith("terraform apply for staging: received SIGTERM")
    assert cause.log == "runs/run-1/plan-apply/log.txt"
    log = aws.text(ARTIFACTS_BUCKET, "runs/run-1/plan-apply/log.txt")
    assert "Interrupted: terraform apply for staging: received SIGTERM" in log and "releasing its lock" in log
    assert aws.keys(STATE_BUCKET) == [STATE_KEY]  # state written, lock file gone
    state = json.loads(aws.text(STATE_BUCKET, STATE_KEY))
    instances = {f"{r['type']}.{r['name']}": r["instances"] for r in state["resources"]}
    assert instances["aws_ssm_parameter.message"][0]["attributes"]["name"] == "/tfpipe-test/default/message"
    # The interrupted provisioner's resource is recorded as tainted: the next apply replaces it.
    assert instances["terraform_data.slow"][0]["status"] == "tainted"
    assert [(e["phase"], e["status"]) for e in aws.status_events()][-1] == ("apply", "failed")


def test_two_applies_on_one_environment_at_once_serialise_on_the_state_lock(aws, infra):
    plans = {}
    for name in ("a", "b"):
        infra.write("environments/staging.tfvars", f'message = "{name}"\nsleep_seconds = 3\n')
        sha = infra.commit(name)
        planned = run_executor(aws, make_spec(infra, sha, JobAction.PLAN, run_id=f"run-{name}"))
        assert planned.returncode == 0, planned.stdout[-3000:]
        plans[name] = sha
    jobs = {name: start_executor(aws, make_spec(infra, sha, JobAction.APPLY, run_id=f"run-{name}",
                                               plan_key=f"runs/run-{name}/plan.tfplan"),
                                 TFPIPE_JOB_LOCK_TIMEOUT="120s")
            for name, sha in plans.items()}
    answers = {}
    for name, proc in jobs.items():
        stdout, _ = proc.communicate(timeout=180)
        answers[name] = (proc.returncode, json.loads(stdout.splitlines()[-1]))
    winners = [n for n, (rc, _) in answers.items() if rc == 0]
    losers = [n for n, (rc, _) in answers.items() if rc == 1]
    assert len(winners) == 1 and len(losers) == 1, answers
    # The second waited for the lock, then found the state moved on: its plan is stale, not re-planned.
    assert answers[losers[0]][1]["error"] == "StalePlan"
    assert aws.keys(STATE_BUCKET) == [STATE_KEY]
    state = json.loads(aws.text(STATE_BUCKET, STATE_KEY))
    parameter = next(r for r in state["resources"] if r["type"] == "aws_ssm_parameter")
    assert parameter["instances"][0]["attributes"]["value"] == winners[0]
    assert state["serial"] >= 1 and state["lineage"]


def test_a_job_whose_execution_was_stopped_stops_terraform_and_releases_the_lock(aws, infra):
    infra.write("environments/staging.tfvars", "sleep_seconds = 302\n")
    sha = infra.commit("slow apply")
    execution, token = token_execution(aws, "abandoned")
    proc = start_executor(aws, make_spec(infra, sha, JobAction.PLAN_APPLY), token=token)
    try:
        _lines_until(proc, "terraform_data.slow[0]: Creating...", timeout=120)
        aws.sfn.stop_execution(executionArn=execution, error="Cancelled", cause="operator stopped the run")
        # The next heartbeat finds nobody waiting; the job interrupts Terraform and ends. (moto 5.2.5
        # still takes SendTaskFailure for a stopped execution, where AWS answers TaskTimedOut: exit 1
        # or 2, never success.)
        assert proc.wait(timeout=60) in (1, 2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert aws.keys(STATE_BUCKET) == [STATE_KEY]  # lock released
    assert not _sleeping(302)
    log = aws.text(ARTIFACTS_BUCKET, "runs/run-1/plan-apply/log.txt")
    assert "heartbeat: sending a task heartbeat: InvalidToken" in log
    assert "Interrupted: terraform apply for staging: Step Functions no longer waits" in log

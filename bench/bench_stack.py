"""How fast the embedded stack is ready: wall time from starting `tfpipe local up` (a fresh process,
imports included, provisioning included) until its stack.json says it is up, against a bare moto
server started the same way (the floor: Python, moto and its werkzeug server). Rounds alternate which
goes first; the medians and their ratio are the figures. Target: ready in at most 5 s.

Then, on one running stack, the median round trip of a Step Functions execution whose Task invokes
a Chalice handler through the front door and the local Lambda service.

    .venv/bin/python bench/bench_stack.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET_SECONDS = 5.0

from bench.targets import verdict  # noqa: E402

BARE_MOTO = ("import sys, time; from tfpipe.local.moto_server import MotoServer; "
             "s = MotoServer().start(); print('ready', flush=True); sys.stdin.read(); s.stop()")


def stack_ready() -> float:
    with tempfile.TemporaryDirectory() as state_dir:
        began = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "tfpipe.cli", "local", "up", "--state-dir", state_dir],
                                   cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not (Path(state_dir) / "stack.json").exists():
                if process.poll() is not None or time.monotonic() - began > 60:
                    raise SystemExit("tfpipe local up did not come up")
                time.sleep(0.02)
            return time.monotonic() - began
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


def moto_ready() -> float:
    began = time.monotonic()
    process = subprocess.Popen([sys.executable, "-c", BARE_MOTO], cwd=ROOT, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    process.stdout.readline()
    elapsed = time.monotonic() - began
    process.communicate("", timeout=30)
    return elapsed


def task_round_trips(count: int) -> list[float]:
    from tfpipe.local.stack import Stack

    with tempfile.TemporaryDirectory() as state_dir, Stack(app="tests.local.stack_test_app:app", stage="bench",
                                                           state_dir=state_dir) as stack:
        sfn = stack.client("stepfunctions")
        machine = sfn.create_state_machine(
            name="bench", roleArn=f"arn:aws:iam::{stack.account_id}:role/bench", definition=json.dumps({
                "StartAt": "Greet", "States": {"Greet": {
                    "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True,
                    "Parameters": {"FunctionName": "tfpipe-bench-greet", "Payload.$": "$"}}}}))["stateMachineArn"]
        times = []
        for _ in range(count):
            began = time.monotonic()
            arn = sfn.start_execution(stateMachineArn=machine, name=f"bench-{len(times)}",
                                      input=json.dumps({"who": "bench"}))["executionArn"]
            while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                time.sleep(0.005)
            times.append(time.monotonic() - began)
        return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stack_times, moto_times = [], []
    for round_ in range(args.rounds):
        pair = [("stack", stack_ready), ("moto", moto_ready)]
        for name, measure in pair if round_ % 2 == 0 else reversed(pair):
            (stack_times if name == "stack" else moto_times).append(measure())
    stack_median, moto_median = statistics.median(stack_times), statistics.median(moto_times)
    print(f"tfpipe local up ready: median {stack_median:.2f} s over {args.rounds} rounds "
          f"({', '.join(f'{t:.2f}' for t in stack_times)}); target <= {TARGET_SECONDS:.1f} s: "
          f"{verdict(stack_median, TARGET_SECONDS)}")
    print(f"bare moto server ready: median {moto_median:.2f} s; stack / moto = {stack_median / moto_median:.2f}x")
    trips = task_round_trips(20)
    print(f"execution with one Lambda Task (front door -> local Lambda -> Chalice handler): "
          f"median {statistics.median(trips) * 1000:.0f} ms, max {max(trips) * 1000:.0f} ms over {len(trips)}")
    return 0  # a missed target is a figure (MISSED above), not a bench that could not run


if __name__ == "__main__":
    sys.exit(main())

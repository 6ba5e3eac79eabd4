"""Intake benchmarks (issue 2), measured side by side in one run; prints figures and whether each met its
target (MISSED does not fail the bench).

1. Cold start: importing app.py in a fresh interpreter, over bare Python (target: at most 150 ms more).
2. Verify + parse + route of a real webhook without the AWS call (target: p99 at most 1 ms).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT / "tests" / "fixtures" / "github-webhooks"

from bench.targets import verdict  # noqa: E402


def interpreter_ms(code: str) -> float:
    start = time.perf_counter()
    # A deployed bundle has its bytecode compiled; any value of PYTHONDONTWRITEBYTECODE stops that.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, env=env)
    return (time.perf_counter() - start) * 1000


def cold_start(rounds: int = 15) -> tuple[float, float]:
    interpreter_ms("import app")  # warm the bytecode cache, as a deployed bundle has it
    bare, with_app = [], []
    for _ in range(rounds):  # alternate, so machine noise hits both alike
        bare.append(interpreter_ms("pass"))
        with_app.append(interpreter_ms("import app"))
    return statistics.median(bare), statistics.median(with_app)


def route_latency(iterations: int = 5000) -> tuple[float, float]:
    from chalicelib.core import signature
    from chalicelib.core.durations import TtlBounds
    from chalicelib.core.github_events import parse_event
    from chalicelib.core.intake import RoutingPolicy, route
    from chalicelib.core.request import RequestDefaults

    policy = RoutingPolicy("prod", RequestDefaults(
        "arn:aws:batch:us-east-1:123456789012:job-definition/tfpipe-executor:1",
        "arn:aws:batch:us-east-1:123456789012:job-queue/tfpipe", {"prod": "123456789012"}, "123456789012"),
        TtlBounds(900, 7 * 86400, 4 * 3600))
    body = (FIXTURES / "pull_request" / "opened.payload.json").read_bytes()
    secret = "bench-secret"
    header = signature.sign(secret, body)
    samples = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        assert signature.verify(secret, body, header)
        intent = route(parse_event("pull_request", json.loads(body)), policy)
        samples.append((time.perf_counter_ns() - start) / 1e6)
    assert len(intent.trusted.requests) == 2  # the author's permission is asked by the impure intake
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.99)]


def main() -> None:
    bare, with_app = cold_start()
    p50, p99 = route_latency()
    print("intake benchmarks (one run, same machine)")
    print(f"  cold start: bare python {bare:.1f} ms, import app {with_app:.1f} ms, "
          f"cost {with_app - bare:.1f} ms (target <= 150 ms: {verdict(with_app - bare, 150)}), "
          f"ratio {with_app / bare:.2f}x")
    size = len((FIXTURES / "pull_request" / "opened.payload.json").read_bytes())
    print(f"  verify+parse+route of pull_request.opened ({size} bytes): p50 {p50:.3f} ms, p99 {p99:.3f} ms "
          f"(target p99 <= 1 ms: {verdict(p99, 1.0)})")


if __name__ == "__main__":
    main()

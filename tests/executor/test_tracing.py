"""X-Ray: a segment per job continuing the submitter's trace, a subsegment per phase, and a job that
runs fine when no daemon listens."""

from __future__ import annotations

import json
import socket

import pytest

from chalicelib.core.job import JobAction
from tests.executor.conftest import make_spec, run_executor
from tfpipe.local.moto_server import free_port

pytestmark = pytest.mark.terraform
HEADER = "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1"


def traced(address: str) -> dict[str, str]:
    return {"TFPIPE_TRACING": "on", "AWS_XRAY_SDK_ENABLED": "true", "AWS_XRAY_DAEMON_ADDRESS": address}


def test_job_succeeds_with_tracing_on_and_no_daemon_listening(aws, infra):
    sha = infra.commit("c")
    spec = make_spec(infra, sha, JobAction.CUSTOM, custom_args=["version"], trace_header=HEADER)
    done = run_executor(aws, spec, **traced(f"127.0.0.1:{free_port()}"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.answer["action"] == "custom"


def test_job_segment_continues_the_submitters_trace_with_a_subsegment_per_phase(aws, infra):
    sha = infra.commit("c")
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(0.5)  # the job has ended: its datagrams are already queued
    try:
        spec = make_spec(infra, sha, JobAction.CUSTOM, custom_args=["version"], trace_header=HEADER)
        done = run_executor(aws, spec, **traced(f"127.0.0.1:{daemon.getsockname()[1]}"))
        assert done.returncode == 0
        documents = []
        while True:
            try:
                packet = daemon.recv(65536).decode()
            except TimeoutError:
                break
            documents.append(json.loads(packet.split("\n", 1)[1]))
    finally:
        daemon.close()
    segment = next(d for d in documents if d.get("name") == "tfpipe-custom")
    assert segment["trace_id"] == "1-67891233-abcdef012345678912345678"
    assert segment["parent_id"] == "53995c3f42cd8ad8"
    assert segment["annotations"]["run_id"] == "run-1"
    subsegments = segment.get("subsegments", [])
    assert [s["name"] for s in subsegments if s.get("namespace") != "aws"] == ["checkout", "init", "custom"]
    init = next(s for s in subsegments if s["name"] == "init")
    assert [s["name"] for s in init.get("subsegments", [])] == ["sts"]  # AWS calls nest in their phase

"""X-Ray: boto3 calls traced when tracing is on, nothing breaks without a daemon, and the trace id
travels with the run so the job's segments join the same trace."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT

PROBE = """
import boto3, json
from chalicelib.settings import Settings
from chalicelib.adapters import tracing
from aws_xray_sdk.core import xray_recorder
assert tracing.enable(Settings(tracing=True))
segment = xray_recorder.begin_segment("probe")
boto3.client("s3").list_buckets()
xray_recorder.end_segment()
print(json.dumps([s.name for s in segment.subsegments]))
"""


def test_boto3_calls_are_traced_and_work_with_no_daemon_listening(moto_endpoint):
    env = {"PATH": "/usr/bin:/bin", "AWS_ENDPOINT_URL": moto_endpoint, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:9"}  # nothing listens there
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["s3"]


def test_tracing_stays_off_unless_settings_turn_it_on():
    from chalicelib.adapters import tracing
    from chalicelib.settings import Settings

    assert tracing.enable(Settings(tracing=False)) is False

"""Shared fixtures. Tests never reach AWS: credentials are fake and every endpoint is loopback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Real GitHub webhook payloads (octokit/webhooks, MIT: see its LICENSE), copied from ../shared/fixtures
# so a clone alone runs every test.
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "github-webhooks"

# Set before anything creates a boto3 client; never real credentials.
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "AWS_XRAY_SDK_ENABLED": "false",
})
os.environ.pop("AWS_PROFILE", None)
_TF_RC = REPO_ROOT / ".tfpipe" / "terraform.rc"
if _TF_RC.exists():
    os.environ["TF_CLI_CONFIG_FILE"] = str(_TF_RC)


def load_fixture(event: str, name: str) -> dict:
    return json.loads((FIXTURES / event / name).read_text())


@pytest.fixture(scope="session")
def moto_server():
    """One moto server for the session (reset it per test when a test needs a clean account)."""
    from tfpipe.local.moto_server import MotoServer

    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture
def moto_endpoint(moto_server, monkeypatch):
    """Point every AWS client at a freshly reset moto server."""
    moto_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    yield moto_server.url

"""`tfpipe local up` as a user runs it: ready within the budget, endpoints in stack.json, and on
Ctrl-C or SIGTERM a clean exit that leaves no process, no open port and no stack.json."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlparse

import pytest
import requests

from tfpipe.local.stack import REPO_ROOT


def _listening(url: str) -> bool:
    parsed = urlparse(url)
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((parsed.hostname, parsed.port)) == 0


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_local_up_serves_until_signalled_then_leaves_nothing_behind(tmp_path, stop_signal):
    state_dir = tmp_path / "state"
    began = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "tfpipe.cli", "local", "up", "--state-dir", str(state_dir),
                                "--repo", "acme/infra"], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        stack_json = state_dir / "stack.json"
        while not stack_json.exists():
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() - began < 30, "stack.json never appeared"
            time.sleep(0.1)
        info = json.loads(stack_json.read_text())
        assert all(_listening(url) for url in info["endpoints"].values())
        assert requests.get(f"{info['endpoints']['github']}/repos/acme/infra", timeout=5).json()["full_name"] == "acme/infra"
        assert info["webhook_secret"] and info["env"]["TFPIPE_GITHUB_API_URL"] == info["endpoints"]["github"]

        process.send_signal(stop_signal)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0, output
    assert "embedded stack ready in" in output and "stopped" in output
    assert not stack_json.exists()
    assert not any(_listening(url) for url in info["endpoints"].values())
    children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout
    assert children == ""

"""`make demo` is also a test: the whole story on the embedded stack, with real Terraform and the
sample app, must verify every step (not merely run it)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_the_demo_verifies_every_step_of_the_gitops_story(tmp_path):
    # A process of its own: one embedded stack per process, as `make demo` runs it.
    done = subprocess.run([sys.executable, "-m", "tfpipe.cli", "demo", "--state-dir", str(tmp_path / "demo")],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=580,
                          env={**os.environ, "COLUMNS": "200"})
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    for step in ("first commit: plan, approve, apply", "pull request: plan comment and ephemeral environment",
                 "/ttl moves the destroy time, then it expires", "merge: plan, approve, apply, the change is live",
                 "failing commit: automatic rollback", "audit history from Git"):
        assert f"{step} " in output
    assert output.count("│ verified │") == 6, output[-4000:]
    assert "demo verified" in output
    # The preview runs apart from prod: its resources are in the preview account, none in prod's.
    assert re.search(r"applied\s+in\s+its\s+own\s+account\s+210987654321\s+\(prod:\s+123456789012\)", output), \
        output[-4000:]
    assert "rolled-back-to" in output  # the audit trail printed from Git shows the rollback
    # While a step waits (a Terraform run takes seconds), it says what for and where the run stands.
    assert re.search(r"… waiting for run plan-apply-prod-\w+-\w+ to end \(\d+ s\): ", output), output[-4000:]
    assert re.search(r"TTL\s+moved\s+from\s+\d{4}-\d\d-\d\d\s+\d\d:\d\d:\d\d\s+UTC\s+to\s+\d{4}-", output)  # dates with times
    assert "to keep exploring" in output and "`tfpipe demo --keep`" in output

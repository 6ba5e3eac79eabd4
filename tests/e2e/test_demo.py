"""`make demo` is also a test: the whole story on the embedded stack, with real Terraform and the
sample app, must verify every step (not merely run it)."""

from __future__ import annotations

import os
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
    assert "rolled-back-to" in output  # the audit trail printed from Git shows the rollback

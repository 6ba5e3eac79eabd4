"""checkov over terraform/ and examples/: no failed check, and every suppression says why."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.infra.terraform_cli import REPO

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
SUPPRESSION = re.compile(r"checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def run_checkov(*args: str) -> list[dict]:
    """checkov's JSON report(s) as a list; offline (--skip-download: no Prisma Cloud calls)."""
    if not CHECKOV.exists():
        pytest.fail("running checkov: .venv-checkov is missing; run `make install`")
    result = subprocess.run([str(CHECKOV), "--quiet", "--compact", "--skip-download", "--output", "json", *args],
                            capture_output=True, text=True, timeout=300, cwd=REPO)
    if result.returncode not in (0, 1) or not result.stdout.strip():
        pytest.fail(f"checkov exited {result.returncode}: {result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    return report if isinstance(report, list) else [report]


def failures(reports: list[dict]) -> list[str]:
    return [f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range']}): {c['check_name']}"
            for r in reports for c in r.get("results", {}).get("failed_checks", [])]


@pytest.mark.parametrize("directory", ["terraform", "examples"])
def test_checkov_finds_no_failed_check(directory):
    # The generated Chalice file is checked on its own, with its documented exceptions (test_package_app).
    reports = run_checkov("--directory", directory, "--framework", "terraform", "--skip-path", "chalice.tf.json")
    passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
    assert passed > 20, f"checkov evaluated almost nothing in {directory}: {reports}"
    assert failures(reports) == []


@pytest.mark.parametrize("directory", [".github", "examples/.github"])
def test_checkov_finds_no_failed_check_in_the_github_workflows(directory):
    reports = run_checkov("--directory", directory, "--framework", "github_actions")
    assert sum(r.get("summary", {}).get("passed", 0) for r in reports) > 5
    assert failures(reports) == []


def test_every_checkov_suppression_gives_a_reason():
    files = [*Path(REPO, "terraform").rglob("*.tf"), *Path(REPO, "examples").rglob("*.tf")]
    suppressions = [(f, m) for f in files if ".terraform" not in f.parts
                    for m in SUPPRESSION.finditer(f.read_text())]
    assert suppressions, "expected the deliberate exceptions to be written down"
    unexplained = [f"{f.relative_to(REPO)}: {m[1]}" for f, m in suppressions if len((m[2] or "").strip()) < 20]
    assert unexplained == []

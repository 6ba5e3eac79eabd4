"""docs/onboarding.md's "Bringing existing state", run as written: a team's environment applied from a
working directory with its own state is moved with the doc's commands, and the executor's next plan
of that environment finds it (no changes)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from chalicelib.core.job import JobAction
from tests.executor.conftest import REPO_ROOT, REPOSITORY, STATE_BUCKET, make_spec, run_executor

pytestmark = pytest.mark.terraform

SECTION = "## Bringing existing state"


def onboarding_commands() -> list[str]:
    """The shell blocks of the doc's section, in order: the settings, taking the state, putting it."""
    text = (REPO_ROOT / "docs" / "onboarding.md").read_text()
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```sh\n(.*?)^```", section, re.M | re.S)


def shell(script: str, cwd, env: dict[str, str]) -> str:
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, f"{script}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout


def test_state_moved_as_the_onboarding_doc_says_is_planned_by_the_executor_with_no_changes(aws, infra, tmp_path):
    settings, take, put = onboarding_commands()
    assert set(re.findall(r"^([A-Z_]+)=", settings, re.M)) == {"STATE_BUCKET", "REPOSITORY", "ENVIRONMENT", "REGION",
                                                               "STATE_FILE"}
    state_file = tmp_path / "staging.tfstate"
    env = {**os.environ, "AWS_ENDPOINT_URL": aws.endpoint, "TF_IN_AUTOMATION": "1", "STATE_FILE": str(state_file),
           "STATE_BUCKET": STATE_BUCKET, "REPOSITORY": REPOSITORY, "ENVIRONMENT": "staging", "REGION": "us-east-1"}
    # Before tfpipe: the team applied staging from a working directory keeping its state locally.
    before = tmp_path / "before"
    shutil.copytree(infra.work, before, ignore=shutil.ignore_patterns(".git"))
    configuration = (before / "main.tf").read_text()
    (before / "main.tf").write_text(configuration.replace('backend "s3" {}', ""))
    shell("terraform init -input=false -no-color >/dev/null && terraform apply -input=false -no-color "
          "-auto-approve -var-file=environments/staging.tfvars >/dev/null", before, env)

    shell(take, before, env)
    fresh = tmp_path / "fresh"  # a clone of the repository: `backend "s3" {}`, no state
    subprocess.run(["git", "clone", "--quiet", "--branch", "main", infra.url, str(fresh)], check=True)
    listed = shell(put, fresh, env)

    assert "aws_ssm_parameter.message" in listed.split()
    assert aws.keys(STATE_BUCKET) == [f"{REPOSITORY}/env/staging/terraform.tfstate"]
    assert not state_file.exists()
    planned = run_executor(aws, make_spec(infra, infra.commit("onboarded"), JobAction.PLAN, environment="staging"))
    assert planned.returncode == 0, planned.stdout[-3000:]
    assert planned.answer["has_changes"] is False, planned.stdout[-3000:]

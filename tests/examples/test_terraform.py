"""The sample app's Terraform, applied with the real terraform binary to moto (S3 backend with native
locking on moto too): built from tfpipe.yml's command, deployed from that artifact, one stand-alone copy
per workspace, and the deployed function's table keeps the app's state."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess

import boto3
import pytest
import yaml

from tests.examples.guestbook import call, cold_start
from tests.infra.terraform_cli import REPO, terraform, terraform_env

pytestmark = [pytest.mark.terraform]
ARTIFACTS, STATE = "tfpipe-dev-artifacts", "tfpipe-dev-tfstate"


def build(checkout, run_id: str) -> dict[str, str]:
    """What the executor does with tfpipe.yml: run each build command, upload its output, hand the key over."""
    spec = yaml.safe_load((checkout / "tfpipe.yml").read_text())
    variables = {spec["artifacts_bucket_variable"]: ARTIFACTS}
    for step in spec["build"]:
        subprocess.run(step["command"], cwd=checkout, check=True, timeout=60, capture_output=True)
        key = f"runs/{run_id}/build/{step['name']}.zip"
        boto3.client("s3").upload_file(str(checkout / step["output"]), ARTIFACTS, key)
        variables[step["variable"]] = key
    return variables


def checkout_with_s3_state(tmp_path):
    """A copy of examples/ initialised against the state bucket on whatever AWS endpoint is configured."""
    s3 = boto3.client("s3")
    for bucket in (ARTIFACTS, STATE):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=STATE, VersioningConfiguration={"Status": "Enabled"})
    work = tmp_path / "guestbook"
    shutil.copytree(REPO / "examples", work, ignore=shutil.ignore_patterns(".terraform*", "dist", "__pycache__"))
    env = terraform_env(TF_DATA_DIR=str(tmp_path / ".terraform"))
    terraform(["init", "-input=false", "-no-color", f"-backend-config=bucket={STATE}",
               "-backend-config=key=guestbook/terraform.tfstate", "-backend-config=region=us-east-1",
               "-backend-config=use_lockfile=true", "-backend-config=use_path_style=true"], work, env)
    return work, env


@pytest.fixture
def checkout(moto_endpoint, tmp_path):
    return checkout_with_s3_state(tmp_path)


def apply(work, env, variables, *extra: str) -> dict:
    args = [f"-var={k}={v}" for k, v in variables.items()]
    terraform(["apply", "-input=false", "-auto-approve", "-no-color", *extra, *args], work, env)
    outputs = json.loads(terraform(["output", "-json"], work, env).stdout)
    return {name: o["value"] for name, o in outputs.items()}


def test_each_workspace_deploys_its_own_app_from_the_built_package(checkout, monkeypatch):
    work, env = checkout
    variables = build(work, "plan-apply-staging-1")
    staging = apply(work, env, variables, "-var-file=environments/staging.tfvars")
    terraform(["workspace", "new", "-no-color", "pr-7"], work, env)
    pr = apply(work, env, {**variables, "environment": "pr-7"})

    assert (staging["table_name"], pr["table_name"]) == ("guestbook-staging", "guestbook-pr-7")
    lam = boto3.client("lambda")
    package_sha = base64.b64encode(hashlib.sha256((work / "dist" / "app.zip").read_bytes()).digest()).decode()
    for outputs in (staging, pr):
        name = outputs["table_name"]
        assert lam.get_function_configuration(FunctionName=name)["CodeSha256"] == package_sha
        assert outputs["function_url"] == lam.get_function_url_config(FunctionName=name)["FunctionUrl"]
        assert outputs["health_check_url"] == outputs["function_url"].rstrip("/") + "/health"
        # Public in AWS too: an auth type of NONE answers 403 unless the resource policy lets anyone in.
        statements = json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]
        assert {(st["Action"], str(st["Principal"])) for st in statements} >= {
            ("lambda:InvokeFunctionUrl", "*"), ("lambda:InvokeFunction", "*")}
    keys = {o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=STATE)["Contents"]}
    assert {"guestbook/terraform.tfstate", "env:/pr-7/guestbook/terraform.tfstate"} <= keys

    # The deployed function's own environment points at a table that keeps the app's state.
    deployed = lam.get_function_configuration(FunctionName="guestbook-pr-7")["Environment"]["Variables"]
    for name, value in deployed.items():
        monkeypatch.setenv(name, value)
    assert call(cold_start(), "GET", "/")[1] == {"visits": 1, "environment": "pr-7"}
    assert call(cold_start(), "GET", "/")[1]["visits"] == 2
    assert call(cold_start(), "GET", "/health")[0] == 200

    # Destroying the ephemeral workspace leaves the long-lived environment alone.
    terraform(["destroy", "-input=false", "-auto-approve", "-no-color", *[f"-var={k}={v}" for k, v in variables.items()],
               "-var=environment=pr-7"], work, env)
    tables = boto3.client("dynamodb").list_tables()["TableNames"]
    assert "guestbook-pr-7" not in tables and "guestbook-staging" in tables

"""Two-step deploy, step 1: package the Chalice app for a stage into this Terraform root.

`chalice package --pkg-format terraform` writes `chalice.tf.json` (the Lambdas, their event sources and
the REST API) and `deployment.zip`. Its output is written for Terraform < 1.4 and hashicorp/aws < 5,
with a role of its own and only the environment in .chalice/config.json; `reconcile` turns it into part
of this root:

- its `terraform` block and the `null` data source are dropped, so versions.tf's constraints
  (Terraform >= 1.10, hashicorp/aws 5.x) are the only ones and no other provider is needed;
- every function runs with `aws_iam_role.lambda` (iam_lambda.tf) instead of Chalice's generated role,
  gets `local.lambda_environment` merged over the config.json variables (state machine ARNs, queue
  URL, job queue and definition, ...), the pipeline's KMS key, reserved concurrency, a dead-letter
  queue and a log group with retention;
- EventBridge rules get stage-prefixed names, and the Batch "Job State Change" rule only matches this
  stage's job queue; the status queue's event source is the queue this root creates, with partial
  batch responses;
- the REST API's stage becomes an `aws_api_gateway_stage` (the deployment's `stage_name` is deprecated
  in aws 5.x) with X-Ray tracing and access logs; outputs `api_url`, `webhook_url` and `dispatch_url`.

    python terraform/package_app.py --stage dev      (or: make package STAGE=dev)

Standard library only, so it runs with any Python that can run Chalice.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
GENERATED = ("chalice.tf.json", "deployment.zip")
ROLE = "${aws_iam_role.lambda.arn}"
API_STAGE = "rest_api"
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod", "resourcePath": "$context.resourcePath", "status": "$context.status",
    "responseLength": "$context.responseLength", "integrationLatency": "$context.integrationLatency",
}


# checkov cannot read suppressions from .tf.json, so the generated file's deliberate exceptions are kept
# here with their reasons: package_app.py writes each into a "//" note on the resources it applies to,
# and tests/infra/test_package_app.py runs checkov over the generated file skipping exactly these.
GENERATED_CHECKOV_SKIPS = {
    "CKV_AWS_117": "Lambdas reach only AWS APIs and GitHub; a VPC would need a NAT gateway or endpoints per stage.",
    "CKV_AWS_272": "Chalice uploads deployment.zip directly; code signing needs a Signer profile and signed S3 uploads.",
    "CKV_AWS_120": "The API takes authenticated POSTs (webhooks, dispatch, approvals); caching responses would be wrong.",
    "CKV_AWS_225": "Same as CKV_AWS_120: method-level caching of signed POSTs would be wrong.",
    "CKV2_AWS_51": "GitHub cannot present client certificates; webhooks are HMAC-signed, dispatch carries an OIDC token, "
                   "operator routes are SigV4 (AWS_IAM) instead.",
    "CKV2_AWS_29": "Requests are rejected on a bad HMAC signature, OIDC token or SigV4 before any work; WAF is an "
                   "operator add-on.",
}


class PackageError(Exception):
    pass


def _local_name(function: str) -> str:
    return "chalice_environment_" + re.sub(r"[^A-Za-z0-9_]", "_", function)


def reconcile(doc: dict, stage: str, app_name: str = "tfpipe") -> dict:
    """The Chalice Terraform document made part of this root (see the module docstring). Pure."""
    doc = json.loads(json.dumps(doc))  # never change the caller's copy
    doc.pop("terraform", None)
    data = doc.get("data", {})
    data.pop("null_data_source", None)
    resources = doc.setdefault("resource", {})
    resources.pop("aws_iam_role", None)
    resources.pop("aws_iam_role_policy", None)
    locals_ = doc.setdefault("locals", {})
    prefix = f"{app_name}-{stage}-"

    log_groups = resources.setdefault("aws_cloudwatch_log_group", {})
    for key, function in resources.get("aws_lambda_function", {}).items():
        function["role"] = ROLE
        literal = function.get("environment", {}).get("variables", {})
        locals_[_local_name(key)] = literal
        function["environment"] = {"variables": f"${{merge(local.{_local_name(key)}, local.lambda_environment)}}"}
        function["kms_key_arn"] = "${aws_kms_key.pipeline.arn}"
        function["reserved_concurrent_executions"] = "${var.lambda_reserved_concurrency}"
        function["dead_letter_config"] = {"target_arn": "${aws_sqs_queue.lambda_dlq.arn}"}
        function["tracing_config"] = {"mode": "Active"}
        log_groups[key] = {
            "name": f"/aws/lambda/{function['function_name']}",
            "retention_in_days": "${var.log_retention_days}",
            "kms_key_id": "${aws_kms_key.pipeline.arn}",
        }
        function["depends_on"] = [f"aws_cloudwatch_log_group.{key}", "aws_iam_role_policy.lambda"]

    for rule in resources.get("aws_cloudwatch_event_rule", {}).values():
        if not rule["name"].startswith(prefix):
            rule["name"] = prefix + rule["name"]
        if "event_pattern" in rule:
            pattern = json.loads(rule["event_pattern"])
            if pattern.get("source") == ["aws.batch"]:
                pattern.setdefault("detail", {})["jobQueue"] = ["${aws_batch_job_queue.jobs.arn}",
                                                                "${aws_batch_job_queue.plans.arn}"]
                rule["event_pattern"] = json.dumps(pattern)

    status_queue = f"{prefix}status"
    for mapping in resources.get("aws_lambda_event_source_mapping", {}).values():
        if mapping.get("event_source_arn", "").endswith(":" + status_queue):
            mapping["event_source_arn"] = "${aws_sqs_queue.status.arn}"
            mapping["function_response_types"] = ["ReportBatchItemFailures"]

    for api in resources.get("aws_api_gateway_rest_api", {}).values():
        api["name"] = f"{app_name}-{stage}"
        api["lifecycle"] = {"create_before_destroy": True}
        api["//"] = _skip_note("CKV2_AWS_29")
    deployments = resources.get("aws_api_gateway_deployment", {})
    if "rest_api" in deployments:
        _own_api_stage(doc, deployments["rest_api"])
    for function in resources.get("aws_lambda_function", {}).values():
        function["//"] = _skip_note("CKV_AWS_117", "CKV_AWS_272")
    return doc


def _skip_note(*checks: str) -> str:
    return " ".join(f"checkov:skip={check}:{GENERATED_CHECKOV_SKIPS[check]}" for check in checks)


def _own_api_stage(doc: dict, deployment: dict) -> None:
    stage_name = deployment.pop("stage_name", "api")
    deployment.pop("stage_description", None)
    deployment["triggers"] = {"redeployment": "${md5(local.chalice_api_swagger)}"}
    doc["resource"]["aws_api_gateway_stage"] = {API_STAGE: {
        "stage_name": stage_name,
        "rest_api_id": "${aws_api_gateway_rest_api.rest_api.id}",
        "deployment_id": "${aws_api_gateway_deployment.rest_api.id}",
        "xray_tracing_enabled": True,
        "access_log_settings": {
            "destination_arn": '${aws_cloudwatch_log_group.this["api_access"].arn}',
            "format": json.dumps(ACCESS_LOG_FORMAT),
        },
        "depends_on": ["aws_api_gateway_account.this"],
        "//": _skip_note("CKV_AWS_120", "CKV2_AWS_51", "CKV2_AWS_29"),
    }}
    doc["resource"]["aws_api_gateway_method_settings"] = {API_STAGE: {
        "rest_api_id": "${aws_api_gateway_rest_api.rest_api.id}",
        "stage_name": f"${{aws_api_gateway_stage.{API_STAGE}.stage_name}}",
        "method_path": "*/*",
        "//": _skip_note("CKV_AWS_225"),
        "settings": {"logging_level": "ERROR", "metrics_enabled": True, "data_trace_enabled": False,
                     "throttling_burst_limit": "${var.api_throttle_burst}",
                     "throttling_rate_limit": "${var.api_throttle_rate}"},
    }}
    url = f"${{aws_api_gateway_stage.{API_STAGE}.invoke_url}}"
    outputs = doc.setdefault("output", {})
    outputs.pop("EndpointURL", None)
    outputs["api_url"] = {"value": url}
    paths = json.loads(doc.get("locals", {}).get("chalice_api_swagger", "{}")).get("paths", {})
    for name, path, description in (("webhook_url", "/webhooks/github", "GitHub webhook payload URL"),
                                    ("dispatch_url", "/dispatch", "Signed POST /dispatch (GitHub Actions, CLI)")):
        if path in paths:  # only routes app.py really has
            outputs[name] = {"value": url + path, "description": description}


def stage_environment(stage: str, config_path: Path) -> dict[str, str]:
    """config.json's variables for the stage: app.py's decorators read settings (the status queue's
    name) when Chalice imports it, so packaging sees the stage's settings."""
    config = json.loads(config_path.read_text())
    if stage not in config.get("stages", {}):
        raise PackageError(f"packaging stage {stage!r}: .chalice/config.json has stages {sorted(config.get('stages', {}))}")
    return {**config.get("environment_variables", {}), **config["stages"][stage].get("environment_variables", {})}


def package(stage: str, project: Path = PROJECT, target: Path = HERE, chalice: str | None = None) -> Path:
    chalice = chalice or str(Path(sys.executable).with_name("chalice"))
    env = {**os.environ, **stage_environment(stage, project / ".chalice" / "config.json")}
    env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", "us-east-1"))  # chalice refuses to run without one
    with tempfile.TemporaryDirectory(prefix="tfpipe-package-") as out:
        result = subprocess.run([chalice, "package", "--pkg-format", "terraform", "--stage", stage, out],
                                cwd=project, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            raise PackageError(f"packaging the Chalice app for stage {stage}: chalice package exited "
                               f"{result.returncode}: {(result.stderr or result.stdout)[-2000:]}")
        doc = json.loads((Path(out) / "chalice.tf.json").read_text())
        app_name = json.loads((project / ".chalice" / "config.json").read_text()).get("app_name", "tfpipe")
        (target / "chalice.tf.json").write_text(json.dumps(reconcile(doc, stage, app_name), indent=2) + "\n")
        shutil.copyfile(Path(out) / "deployment.zip", target / "deployment.zip")
    return target / "chalice.tf.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    args = parser.parse_args(argv)
    try:
        written = package(args.stage)
    except PackageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {written} and deployment.zip; next: terraform -chdir={HERE.name} apply -var stage={args.stage}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

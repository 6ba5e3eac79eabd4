"""`chalice package --pkg-format terraform` of the real app.py, reconciled by terraform/package_app.py,
is a valid part of the pipeline's Terraform root (hashicorp/aws 5.x, Terraform 1.10+), offline."""

from __future__ import annotations

import importlib.util
import json
import shutil

import pytest

from tests.infra.terraform_cli import REPO, terraform, terraform_env
from tests.infra.test_checkov import failures, run_checkov

# terraform/package_app.py is a script beside the .tf files, not part of a package.
_spec = importlib.util.spec_from_file_location("package_app", REPO / "terraform" / "package_app.py")
package_app = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(package_app)

pytestmark = pytest.mark.terraform


@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    """A copy of the Terraform root with the dev stage's Chalice package in it, beside statemachines/."""
    work = tmp_path_factory.mktemp("package")
    root = work / "terraform"
    shutil.copytree(REPO / "terraform", root,
                    ignore=shutil.ignore_patterns(".terraform*", "chalice.tf.json", "deployment.zip", "__pycache__"))
    shutil.copytree(REPO / "statemachines", work / "statemachines")
    package_app.package("dev", project=REPO, target=root)
    return root, json.loads((root / "chalice.tf.json").read_text())


def test_chalice_constraints_are_replaced_by_the_roots(packaged):
    _, doc = packaged
    assert "terraform" not in doc  # aws < 5 and terraform < 1.4 are gone; versions.tf rules
    assert "null_data_source" not in doc.get("data", {})
    assert "aws_iam_role" not in doc["resource"] and "aws_iam_role_policy" not in doc["resource"]


def test_every_function_runs_with_the_pipeline_role_settings_and_log_group(packaged):
    _, doc = packaged
    functions = doc["resource"]["aws_lambda_function"]
    assert {f["function_name"] for f in functions.values()} >= {
        "tfpipe-dev-" + name for name in json.loads((REPO / "terraform" / "names.json").read_text())["asl_functions"].values()}
    for key, function in functions.items():
        assert function["role"] == "${aws_iam_role.lambda.arn}"
        assert "local.lambda_environment" in function["environment"]["variables"]
        assert doc["locals"][f"chalice_environment_{key}"]["TFPIPE_LOCKS_TABLE"] == "tfpipe-dev-locks"
        assert doc["resource"]["aws_cloudwatch_log_group"][key]["name"] == f"/aws/lambda/{function['function_name']}"


def test_batch_failure_rule_is_stage_scoped_and_status_queue_is_the_roots(packaged):
    _, doc = packaged
    rules = doc["resource"]["aws_cloudwatch_event_rule"]
    assert all(rule["name"].startswith("tfpipe-dev-") for rule in rules.values())
    batch = [json.loads(r["event_pattern"]) for r in rules.values() if "aws.batch" in r.get("event_pattern", "")]
    assert batch and batch[0]["detail"]["jobQueue"] == ["${aws_batch_job_queue.jobs.arn}", "${aws_batch_job_queue.plans.arn}"]
    mappings = doc["resource"]["aws_lambda_event_source_mapping"].values()
    status = [m for m in mappings if m["event_source_arn"] == "${aws_sqs_queue.status.arn}"]
    assert status and status[0]["function_response_types"] == ["ReportBatchItemFailures"]
    assert set(doc["output"]) >= {"webhook_url", "dispatch_url"}


def test_packaged_root_validates_with_the_real_provider(packaged, tmp_path):
    root, _ = packaged
    env = terraform_env(TF_DATA_DIR=str(tmp_path / ".terraform"))
    terraform(["init", "-backend=false", "-input=false", "-no-color"], root, env)
    result = terraform(["validate", "-no-color"], root, env)
    assert "The configuration is valid" in result.stdout


def test_generated_file_fails_only_the_documented_checkov_exceptions(packaged):
    root, doc = packaged
    reports = run_checkov("--file", str(root / "chalice.tf.json"), "--framework", "terraform_json")
    failed = failures(reports)
    unexplained = [f for f in failed if f.split()[0] not in package_app.GENERATED_CHECKOV_SKIPS]
    assert unexplained == []
    # Each exception is written beside the resource it applies to.
    notes = json.dumps(doc)
    assert all(f"checkov:skip={check}:" in notes for check in {f.split()[0] for f in failed})


def test_packaged_root_plans_against_moto_with_definition_validation_stubbed(packaged, tmp_path, moto_endpoint,
                                                                             monkeypatch):
    """A real `terraform plan` of the whole root (pipeline + Chalice part): every data source read,
    every templatefile rendered. moto 5.2.5 lacks ValidateStateMachineDefinition, which the provider
    calls while planning a state machine, so the in-process moto server answers it with "OK" here."""
    from moto.stepfunctions.responses import StepFunctionResponse

    monkeypatch.setattr(StepFunctionResponse, "validate_state_machine_definition",
                        lambda self: json.dumps({"result": "OK", "diagnostics": []}), raising=False)
    root, _ = packaged
    env = terraform_env(TF_DATA_DIR=str(tmp_path / ".terraform"))
    terraform(["init", "-backend=false", "-input=false", "-no-color"], root, env)
    terraform(["plan", "-input=false", "-no-color", "-lock=false", f"-state={tmp_path / 'none.tfstate'}",
               f"-out={tmp_path / 'plan.bin'}", '-var=subnet_ids=["subnet-12345678"]',
               '-var=environments={prod = "210987654321"}'], root, env)
    plan = json.loads(terraform(["show", "-json", str(tmp_path / "plan.bin")], root, env).stdout)
    machines = {r["change"]["after"]["name"]: json.loads(r["change"]["after"]["definition"])
                for r in plan["resource_changes"] if r["type"] == "aws_sfn_state_machine"}
    assert set(machines) == {f"tfpipe-dev-{p.name.removesuffix('.asl.json')}"
                             for p in (REPO / "statemachines").glob("*.asl.json")}
    rendered = json.dumps(machines)
    assert "${" not in rendered
    if machines:
        assert "arn:aws:lambda:us-east-1:123456789012:function:tfpipe-dev-" in rendered
    # The other account's deploy role may decrypt build outputs it reads (the bucket policy that lets it
    # read them is only known after apply: it names the bucket's ARN).
    [key] = [r["change"]["after"]["policy"] for r in plan["resource_changes"] if r["address"] == "aws_kms_key.pipeline"]
    assert "arn:aws:iam::210987654321:role/tfpipe-deploy" in key


def test_operator_routes_are_deployed_with_aws_iam_authorization_and_githubs_are_not(packaged):
    _, generated = packaged
    swagger = json.loads(generated["locals"]["chalice_api_swagger"])  # the REST API's body
    sigv4 = {name for name, scheme in swagger["securityDefinitions"].items()
             if scheme.get("x-amazon-apigateway-authtype") == "awsSigv4"}
    secured = {(path, method): any(set(s) & sigv4 for s in operation.get("security", []))
               for path, operations in swagger["paths"].items() for method, operation in operations.items()
               if method != "options"}
    assert {route for route, iam in secured.items() if iam} == {
        ("/runs", "post"), ("/runs/{run_id}/approve", "post"), ("/runs/{run_id}/reject", "post")}
    assert not secured[("/dispatch", "post")] and not secured[("/webhooks/github", "post")]

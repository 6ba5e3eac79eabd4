"""The executor end to end: `python -m executor` with real Terraform and real Git against moto."""

from __future__ import annotations

import hashlib
import json

import boto3
import pytest

from chalicelib.core.job import JobAction
from tests.executor.conftest import (
    ARTIFACTS_BUCKET,
    STATE_BUCKET,
    make_spec,
    run_executor,
)
from tests.executor.monorepo import PROJECTS_YML, write_monorepo

pytestmark = pytest.mark.terraform

BUILD = """build:
  - name: app
    command: ["python3", "-c", "import pathlib; pathlib.Path('dist').mkdir(); pathlib.Path('dist/app.zip').write_text('pkg')"]
    output: dist/app.zip
    variable: app_package_key
artifacts_bucket_variable: artifacts_bucket
"""


def ssm(aws):
    return boto3.client("ssm", endpoint_url=aws.endpoint, region_name="us-east-1")


def test_plan_then_apply_of_the_stored_plan_then_custom_then_destroy(aws, infra):
    infra.write("tfpipe.yml", BUILD)
    sha = infra.commit("build the app")

    plan = run_executor(aws, make_spec(infra, sha, JobAction.PLAN))
    assert plan.returncode == 0, plan.stdout[-3000:]
    result = plan.answer
    assert (result["has_changes"], result["add"], result["change"], result["destroy"]) == (True, 1, 0, 0)
    assert result["resources"] == [{"address": "aws_ssm_parameter.message", "type": "aws_ssm_parameter",
                                    "actions": ["create"]}]
    assert set(aws.keys(ARTIFACTS_BUCKET, "runs/run-1/")) == {
        "runs/run-1/plan.tfplan", "runs/run-1/plan.json", "runs/run-1/plan.txt", "runs/run-1/plan/log.txt",
        "runs/run-1/build/app/app.zip"}
    assert aws.text(ARTIFACTS_BUCKET, "runs/run-1/build/app/app.zip") == "pkg"
    plan_bytes = aws.s3.get_object(Bucket=ARTIFACTS_BUCKET, Key="runs/run-1/plan.tfplan")["Body"].read()
    assert result["plan_checksum"] == hashlib.sha256(plan_bytes).hexdigest()
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in aws.text(ARTIFACTS_BUCKET, "runs/run-1/plan.txt")
    plan_json = json.loads(aws.text(ARTIFACTS_BUCKET, "runs/run-1/plan.json"))
    # environments/staging.tfvars set it; it is also the SSM parameter's value, which the provider marks
    # sensitive, so `show -json`'s clear copy of it is masked in the artifact.
    assert plan_json["variables"]["message"]["value"] == "***"
    assert plan_json["resource_changes"][0]["change"]["after_sensitive"]["value"] is True
    assert plan_json["variables"]["app_package_key"]["value"] == "runs/run-1/build/app/app.zip"
    assert all(line["run_id"] == "run-1" for line in plan.lines[:-1])
    assert aws.keys(STATE_BUCKET) == []  # planning writes no state

    events = aws.status_events()
    assert [(e["phase"], e["status"]) for e in events] == [("plan", "started"), ("plan", "succeeded")]
    assert events[-1]["details"]["add"] == 1 and events[-1]["artifacts"]["plan"] == "runs/run-1/plan.tfplan"

    apply_spec = make_spec(infra, sha, JobAction.APPLY, plan_key="runs/run-1/plan.tfplan",
                           plan_checksum=result["plan_checksum"])
    applied = run_executor(aws, apply_spec)
    assert applied.returncode == 0, applied.stdout[-3000:]
    answer = applied.answer
    assert (answer["add"], answer["change"], answer["destroy"]) == (1, 0, 0)
    assert answer["outputs"]["message_parameter"] == "/tfpipe-test/default/message"
    assert answer["outputs"]["app_package_key"] == "runs/run-1/build/app/app.zip"
    assert "api_key_sensitive" not in answer["outputs"]
    assert answer["artifacts"]["log"] == "runs/run-1/apply/log.txt"
    assert set(answer["durations"]) == {"checkout", "init", "apply", "outputs", "health-check"}
    value = ssm(aws).get_parameter(Name="/tfpipe-test/default/message")["Parameter"]["Value"]
    assert value == "staging says hello"
    assert aws.keys(STATE_BUCKET) == ["acme/infra/env/staging/terraform.tfstate"]  # lock file gone
    assert [(e["phase"], e["status"]) for e in aws.status_events()] == [
        ("apply", "started"), ("apply", "succeeded"), ("health-check", "started"), ("health-check", "succeeded")]

    custom = run_executor(aws, make_spec(infra, sha, JobAction.CUSTOM, run_id="run-2",
                                         custom_args=["state", "list"]))
    assert custom.returncode == 0, custom.stdout[-3000:]
    listed = aws.text(ARTIFACTS_BUCKET, custom.answer["artifacts"]["output"])
    assert listed.split() == ["aws_ssm_parameter.message"]

    shown = run_executor(aws, make_spec(infra, sha, JobAction.CUSTOM, run_id="run-4", custom_args=["show", "-json"]))
    assert shown.returncode == 0, shown.stdout[-3000:]
    state = json.loads(aws.text(ARTIFACTS_BUCKET, shown.answer["artifacts"]["output"]))
    [parameter] = state["values"]["root_module"]["resources"]
    assert parameter["values"]["name"] == "/tfpipe-test/default/message"
    assert parameter["values"]["value"] == "***"  # sensitive in the state: masked in the custom output
    assert "staging says hello" not in shown.stdout

    destroyed = run_executor(aws, make_spec(infra, sha, JobAction.DESTROY, run_id="run-3"))
    assert destroyed.returncode == 0, destroyed.stdout[-3000:]
    assert (destroyed.answer["destroy"], destroyed.answer["has_changes"]) == (1, True)
    assert ssm(aws).get_parameters(Names=["/tfpipe-test/default/message"])["InvalidParameters"]


def test_a_destroy_plan_is_stored_destroys_nothing_and_its_apply_destroys_exactly_what_it_planned(aws, infra):
    sha = infra.commit("c")
    assert run_executor(aws, make_spec(infra, sha, JobAction.PLAN_APPLY, run_id="run-up")).returncode == 0

    planned = run_executor(aws, make_spec(infra, sha, JobAction.PLAN_DESTROY, run_id="run-d"))
    assert planned.returncode == 0, planned.stdout[-3000:]
    result = planned.answer
    assert (result["has_changes"], result["add"], result["change"], result["destroy"]) == (True, 0, 0, 1)
    assert result["resources"] == [{"address": "aws_ssm_parameter.message", "type": "aws_ssm_parameter",
                                    "actions": ["delete"]}]
    assert "Plan: 0 to add, 0 to change, 1 to destroy." in aws.text(ARTIFACTS_BUCKET, "runs/run-d/plan.txt")
    assert ssm(aws).get_parameter(Name="/tfpipe-test/default/message")  # planning destroyed nothing
    assert [(e["phase"], e["status"]) for e in aws.status_events()][-2:] == [("plan", "started"), ("plan", "succeeded")]

    applied = run_executor(aws, make_spec(infra, sha, JobAction.APPLY, run_id="run-d", plan_key="runs/run-d/plan.tfplan",
                                          plan_checksum=result["plan_checksum"]))
    assert applied.returncode == 0, applied.stdout[-3000:]
    assert (applied.answer["destroy"], applied.answer["plan_checksum"]) == (1, result["plan_checksum"])
    assert ssm(aws).get_parameters(Names=["/tfpipe-test/default/message"])["InvalidParameters"]

    again = run_executor(aws, make_spec(infra, sha, JobAction.PLAN_DESTROY, run_id="run-e"))
    assert again.returncode == 0 and again.answer["has_changes"] is False  # nothing left to destroy


def test_apply_refuses_a_stored_plan_whose_checksum_does_not_match(aws, infra):
    sha = infra.commit("c")
    aws.s3.put_object(Bucket=ARTIFACTS_BUCKET, Key="runs/run-1/plan.tfplan", Body=b"a plan nobody approved")
    approved = hashlib.sha256(b"the approved plan").hexdigest()
    applied = run_executor(aws, make_spec(infra, sha, JobAction.APPLY, plan_key="runs/run-1/plan.tfplan",
                                          plan_checksum=approved))
    assert applied.returncode == 1
    assert applied.answer["error"] == "ApplyFailed" and "does not match" in applied.answer["cause"]
    assert not any(line["message"].startswith("terraform apply") for line in applied.lines[:-1])
    assert aws.keys(STATE_BUCKET) == []


def test_a_stale_plan_fails_as_stale_plan_and_is_never_replanned(aws, infra):
    sha = infra.commit("c")
    first = run_executor(aws, make_spec(infra, sha, JobAction.PLAN, run_id="run-old"))
    assert first.returncode == 0
    # Another run changes the environment's state after that plan was made.
    infra.write("environments/staging.tfvars", 'message = "changed meanwhile"\n')
    newer = infra.commit("newer")
    moved = run_executor(aws, make_spec(infra, newer, JobAction.PLAN_APPLY, run_id="run-new"))
    assert moved.returncode == 0, moved.stdout[-3000:]

    stale = run_executor(aws, make_spec(infra, sha, JobAction.APPLY, run_id="run-old",
                                        plan_key="runs/run-old/plan.tfplan"))
    assert stale.returncode == 1
    assert stale.answer["error"] == "StalePlan"
    assert not any(line["message"].startswith("terraform plan") for line in stale.lines[:-1])
    value = ssm(aws).get_parameter(Name="/tfpipe-test/default/message")["Parameter"]["Value"]
    assert value == "changed meanwhile"
    assert aws.keys(STATE_BUCKET) == ["acme/infra/env/staging/terraform.tfstate"]


def test_failing_apply_reports_apply_failed_and_releases_the_state_lock(aws, infra):
    infra.write("environments/staging.tfvars", "fail_apply = true\n")
    sha = infra.commit("breaks on apply")
    failed = run_executor(aws, make_spec(infra, sha, JobAction.PLAN_APPLY))
    assert failed.returncode == 1
    assert failed.answer["error"] == "ApplyFailed"
    assert "terraform apply for staging failed" in failed.answer["cause"]
    assert "failing on purpose" in aws.text(ARTIFACTS_BUCKET, "runs/run-1/plan-apply/log.txt")
    assert aws.keys(STATE_BUCKET) == ["acme/infra/env/staging/terraform.tfstate"]
    last = aws.status_events()[-1]
    assert (last["phase"], last["status"], last["details"]["error_class"]) == ("apply", "failed", "ApplyFailed")
    assert last["details"]["error"].startswith("terraform apply for staging failed")


def test_unhealthy_environment_after_apply_fails_as_health_check_failed(aws, infra, http_server):
    url, answers = http_server
    answers.extend([503] * 100)
    infra.write("environments/staging.tfvars", f'health_check_url = "{url}"\n')
    sha = infra.commit("unhealthy")
    failed = run_executor(aws, make_spec(infra, sha, JobAction.PLAN_APPLY), TFPIPE_HEALTH_CHECK_TIMEOUT="2s")
    assert failed.returncode == 1
    assert failed.answer["error"] == "HealthCheckFailed" and "HTTP 503" in failed.answer["cause"]
    assert [(e["phase"], e["status"]) for e in aws.status_events()][-2:] == [
        ("health-check", "started"), ("health-check", "failed")]


def in_account(aws, account: str, service: str):
    """A client acting in `account`, through the deploy role there (moto serves each account apart)."""
    sts = boto3.client("sts", endpoint_url=aws.endpoint, region_name="us-east-1")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/tfpipe-deploy", RoleSessionName="test")["Credentials"]
    return boto3.client(service, endpoint_url=aws.endpoint, region_name="us-east-1",
                        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"])


def test_ephemeral_environment_lives_in_its_workspace_in_its_account_and_destroy_removes_it(aws, infra):
    sha = infra.commit("c")
    ephemeral_account = "111111111111"
    applied = run_executor(aws, make_spec(infra, sha, JobAction.PLAN_APPLY, environment="pr-7",
                                          account_id=ephemeral_account))
    assert applied.returncode == 0, applied.stdout[-3000:]
    assert applied.answer["outputs"]["message_parameter"] == "/tfpipe-test/pr-7/message"
    assert aws.keys(STATE_BUCKET) == ["acme/infra/ephemeral/pr-7/terraform.tfstate"]
    # Terraform ran as the deploy role of the environment's account, not as the job.
    assert in_account(aws, ephemeral_account, "ssm").get_parameter(Name="/tfpipe-test/pr-7/message")
    assert ssm(aws).get_parameters(Names=["/tfpipe-test/pr-7/message"])["InvalidParameters"]
    destroyed = run_executor(aws, make_spec(infra, sha, JobAction.DESTROY, run_id="run-2", environment="pr-7",
                                            account_id=ephemeral_account))
    assert destroyed.returncode == 0, destroyed.stdout[-3000:]
    assert destroyed.answer["destroy"] == 1
    assert aws.keys(STATE_BUCKET) == []  # the workspace is deleted with its state


def test_a_second_ephemeral_environment_is_created_beside_one_that_exists(aws, infra):
    # Terraform's init refuses a TF_WORKSPACE the backend lacks once any other workspace exists.
    sha = infra.commit("c")
    for run_id, environment in (("run-7", "pr-7"), ("run-8", "pr-8")):
        applied = run_executor(aws, make_spec(infra, sha, JobAction.PLAN_APPLY, run_id=run_id, environment=environment))
        assert applied.returncode == 0, applied.stdout[-3000:]
    assert aws.keys(STATE_BUCKET) == ["acme/infra/ephemeral/pr-7/terraform.tfstate",
                                      "acme/infra/ephemeral/pr-8/terraform.tfstate"]


def test_failing_build_fails_the_run_before_anything_is_planned(aws, infra):
    infra.write("tfpipe.yml", 'build:\n  - name: app\n    command: ["python3", "-c", "raise SystemExit(4)"]\n')
    sha = infra.commit("broken build")
    failed = run_executor(aws, make_spec(infra, sha, JobAction.PLAN))
    assert failed.returncode == 1
    assert failed.answer["error"] == "BuildFailed" and "exited 4" in failed.answer["cause"]
    assert aws.keys(ARTIFACTS_BUCKET) == ["runs/run-1/plan/log.txt"]


def test_checkout_refuses_a_commit_the_repository_does_not_have(aws, infra):
    infra.commit("c")
    failed = run_executor(aws, make_spec(infra, "0" * 40, JobAction.PLAN))
    assert failed.returncode == 1
    assert failed.answer["error"] == "CheckoutFailed"


def test_a_configuration_without_an_s3_backend_block_is_refused_at_init_not_applied_into_a_lost_state(aws, infra):
    """Terraform only warns when -backend-config meets no backend block, and keeps the state in the job's
    checkout, deleted when the job ends: the next run would create everything again."""
    main = (infra.work / "main.tf").read_text()
    assert 'backend "s3" {}' in main
    infra.write("main.tf", main.replace('backend "s3" {}', ""))
    sha = infra.commit("no backend block")
    failed = run_executor(aws, make_spec(infra, sha, JobAction.PLAN_APPLY))
    assert failed.returncode == 1
    assert failed.answer["error"] == "InitFailed"
    assert 'no backend "s3" {} block' in failed.answer["cause"] and "docs/onboarding.md" in failed.answer["cause"]
    assert ssm(aws).describe_parameters()["Parameters"] == []  # nothing was applied
    assert aws.keys(ARTIFACTS_BUCKET) == ["runs/run-1/plan-apply/log.txt"]  # nothing was planned either


def test_a_backend_block_naming_its_own_bucket_is_refused_before_init_not_silently_overridden(aws, infra):
    """-backend-config wins over the block: a root that kept its old bucket would start from an empty
    state in the pipeline's bucket and plan to create everything again."""
    main = (infra.work / "main.tf").read_text()
    infra.write("main.tf", main.replace('backend "s3" {}', 'backend "s3" {\n    bucket = "theirs"\n  }'))
    sha = infra.commit("own backend settings")
    failed = run_executor(aws, make_spec(infra, sha, JobAction.PLAN_APPLY))
    assert failed.returncode == 1
    assert failed.answer["error"] == "InitFailed"
    cause = failed.answer["cause"]
    assert 'backend "s3" block in main.tf sets bucket' in cause and "docs/onboarding.md" in cause, cause
    assert "initialized" not in failed.stdout.lower()  # terraform init never ran
    assert aws.keys(STATE_BUCKET) == []
    assert ssm(aws).describe_parameters()["Parameters"] == []


def test_custom_command_outside_the_allow_list_is_refused_even_when_submitted_by_hand(aws, infra):
    sha = infra.commit("c")
    failed = run_executor(aws, make_spec(infra, sha, JobAction.CUSTOM, custom_args=["apply", "-auto-approve"]))
    assert failed.returncode == 1
    assert failed.answer["error"] == "CustomFailed" and "allow-listed" in failed.answer["cause"]



def test_per_service_endpoints_alone_reach_moto_with_path_style_state_access(aws, infra):
    """Only AWS_ENDPOINT_URL_<SERVICE> (the global one points nowhere): the job's clients and Terraform's
    backend and provider follow them; the backend needs TFPIPE_S3_USE_PATH_STYLE for an IP endpoint."""
    from tfpipe.local.moto_server import free_port

    sha = infra.commit("c")
    endpoints = {f"AWS_ENDPOINT_URL_{service}": aws.endpoint for service in ("S3", "STS", "SQS", "SSM")}
    done = run_executor(aws, make_spec(infra, sha, JobAction.PLAN_APPLY), AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
                        AWS_MAX_ATTEMPTS="1", TFPIPE_S3_USE_PATH_STYLE="true", **endpoints)
    assert done.returncode == 0, done.stdout[-3000:]
    assert aws.keys(STATE_BUCKET) == ["acme/infra/env/staging/terraform.tfstate"]
    assert ssm(aws).get_parameter(Name="/tfpipe-test/default/message")["Parameter"]["Value"] == "staging says hello"


# ---- one project of a repository holding several (issue 14) ---------------------------------------

def monorepo(infra, projects_yml: str | None = PROJECTS_YML) -> str:
    """The issue's three projects beside the test configuration at the root, committed."""
    write_monorepo(infra.work, projects_yml)
    return infra.commit("three projects and a shared module")


def test_a_named_project_plans_and_applies_in_its_own_dir_with_its_own_state_and_the_root_keeps_its_key(aws, infra):
    sha = monorepo(infra)
    plan = run_executor(aws, make_spec(infra, sha, JobAction.PLAN, project="network"))
    assert plan.returncode == 0, plan.stdout[-3000:]
    assert plan.answer["resources"] == [{"address": "terraform_data.vpc", "type": "terraform_data",
                                         "actions": ["create"]}]
    applied = run_executor(aws, make_spec(infra, sha, JobAction.APPLY, project="network",
                                          plan_key="runs/run-1/plan.tfplan", plan_checksum=plan.answer["plan_checksum"]))
    assert applied.returncode == 0, applied.stdout[-3000:]
    assert applied.answer["add"] == 1
    assert aws.keys(STATE_BUCKET) == ["acme/infra/network/env/staging/terraform.tfstate"]
    listed = run_executor(aws, make_spec(infra, sha, JobAction.CUSTOM, run_id="run-3", project="network",
                                         custom_args=["state", "list"]))
    assert listed.returncode == 0, listed.stdout[-3000:]
    assert aws.text(ARTIFACTS_BUCKET, listed.answer["artifacts"]["output"]).split() == ["terraform_data.vpc"]
    # `app` calls ../../modules/queue (which calls ../naming): local modules of the repository pass the
    # allow-list, and its plan holds the module's resource, not the root's SSM parameter.
    app = run_executor(aws, make_spec(infra, sha, JobAction.PLAN_APPLY, run_id="run-2", project="app"))
    assert app.returncode == 0, app.stdout[-3000:]
    assert [r["address"] for r in app.answer["resources"]] == ["module.queue.terraform_data.q"]
    assert aws.keys(STATE_BUCKET) == ["acme/infra/app/env/staging/terraform.tfstate",
                                      "acme/infra/network/env/staging/terraform.tfstate"]
    assert ssm(aws).describe_parameters()["Parameters"] == []  # the root configuration was never applied


def test_a_named_projects_preview_lives_under_its_own_ephemeral_prefix(aws, infra):
    sha = monorepo(infra)
    applied = run_executor(aws, make_spec(infra, sha, JobAction.PLAN_APPLY, environment="pr-7", project="dns"))
    assert applied.returncode == 0, applied.stdout[-3000:]
    assert aws.keys(STATE_BUCKET) == ["acme/infra/dns/ephemeral/pr-7/terraform.tfstate"]
    destroyed = run_executor(aws, make_spec(infra, sha, JobAction.DESTROY, run_id="run-2", environment="pr-7",
                                            project="dns"))
    assert destroyed.returncode == 0, destroyed.stdout[-3000:]
    assert destroyed.answer["destroy"] == 1 and aws.keys(STATE_BUCKET) == []


def test_a_job_for_a_project_the_repository_does_not_have_fails_naming_the_projects_it_has(aws, infra):
    sha = monorepo(infra)
    failed = run_executor(aws, make_spec(infra, sha, JobAction.PLAN, project="netwrk"))
    assert failed.returncode == 1
    assert failed.answer["error"] == "BuildFailed"
    assert "project 'netwrk'" in failed.answer["cause"]
    assert "the projects `projects:` in tfpipe.yml lists are 'app', 'dns', 'network'" in failed.answer["cause"]
    assert aws.keys(ARTIFACTS_BUCKET) == ["runs/run-1/plan/log.txt"] and aws.keys(STATE_BUCKET) == []


def test_without_projects_a_discovered_root_is_run_by_its_path_and_the_root_job_is_todays(aws, infra):
    sha = monorepo(infra, projects_yml=None)
    dns = run_executor(aws, make_spec(infra, sha, JobAction.PLAN_APPLY, project="stacks/dns"))
    assert dns.returncode == 0, dns.stdout[-3000:]
    assert aws.keys(STATE_BUCKET) == ["acme/infra/stacks/dns/env/staging/terraform.tfstate"]
    root = run_executor(aws, make_spec(infra, sha, JobAction.PLAN_APPLY, run_id="run-2"))
    assert root.returncode == 0, root.stdout[-3000:]
    assert [r["address"] for r in root.answer["resources"]] == ["aws_ssm_parameter.message"]
    assert "acme/infra/env/staging/terraform.tfstate" in aws.keys(STATE_BUCKET)


def test_a_projects_own_build_steps_run_instead_of_the_top_level_ones(aws, infra):
    own_build = ("    build:\n      - name: net\n        command: [\"python3\", \"-c\", \"open('net.txt', 'w').write('n')\"]\n"
                 "        output: net.txt\n")
    broken_top = 'build:\n  - name: app\n    command: ["python3", "-c", "raise SystemExit(4)"]\n'
    yml = broken_top + PROJECTS_YML.replace("    dir: stacks/network\n", "    dir: stacks/network\n" + own_build)
    sha = monorepo(infra, yml)
    plan = run_executor(aws, make_spec(infra, sha, JobAction.PLAN, project="network"))
    assert plan.returncode == 0, plan.stdout[-3000:]
    assert aws.text(ARTIFACTS_BUCKET, "runs/run-1/build/net/net.txt") == "n"
    root = run_executor(aws, make_spec(infra, sha, JobAction.PLAN, run_id="run-2", project="dns"))
    assert root.returncode == 1 and "exited 4" in root.answer["cause"]  # dns has none: the top-level steps run

"""Provisioning from terraform/names.json and statemachines/: clear failures, and an empty folder is fine."""

from __future__ import annotations

import pytest

from tfpipe.local.stack import REPO_ROOT


@pytest.mark.parametrize("missing", ["SubmitJobFunctionArn"])
def test_a_placeholder_nothing_supplies_fails_provisioning_clearly(missing):
    from tfpipe.local.provision import ProvisionError, substitute

    with pytest.raises(ProvisionError, match=r"plan\.asl\.json: nothing supplies \$\{SubmitJobFunctionArn\}"):
        substitute('{"Resource": "${' + missing + '}"}', {}, "plan.asl.json")


def test_provisioning_with_no_state_machine_files_creates_the_rest(stack, tmp_path):
    from tfpipe.local.provision import Provisioner

    (tmp_path / "terraform").mkdir()
    (tmp_path / "terraform" / "names.json").write_text((REPO_ROOT / "terraform" / "names.json").read_text())
    (tmp_path / "statemachines").mkdir()

    provisioned = Provisioner(stack.client, "tfpipe", "bare", stack.region, stack.account_id, tmp_path).run(
        "secret", stack.slack_url)

    assert provisioned.state_machines == {}
    assert "TFPIPE_STATE_MACHINE_PLAN" not in provisioned.env
    assert provisioned.env["TFPIPE_LOCKS_TABLE"] == "tfpipe-bare-locks"


def test_each_tiers_job_definition_runs_the_executor_with_the_terraform_job_environment_and_its_own_role(stack, tmp_path):
    from tfpipe.local.provision import Provisioner

    (tmp_path / "terraform").mkdir()
    (tmp_path / "terraform" / "names.json").write_text((REPO_ROOT / "terraform" / "names.json").read_text())

    provisioned = Provisioner(stack.client, "tfpipe", "jobs", stack.region, stack.account_id, tmp_path).run(
        "secret", stack.slack_url, job_environment={"TFPIPE_EXTRA": "1"}, job_command=["python", "-m", "standin"])

    roles = set()
    for tier in ("plan", "preview", "apply"):  # one definition and job role per trust tier, as terraform/batch.tf
        [definition] = stack.client("batch").describe_job_definitions(
            jobDefinitions=[provisioned.env[f"TFPIPE_JOB_DEFINITION_ARN_{tier.upper()}"]])["jobDefinitions"]
        properties = definition["containerProperties"]
        environment = {e["name"]: e["value"] for e in properties["environment"]}
        assert properties["command"] == ["python", "-m", "standin"]
        assert environment["TFPIPE_ARTIFACTS_BUCKET"] == "tfpipe-jobs-artifacts"
        assert environment["TFPIPE_STATUS_QUEUE_URL"] == provisioned.env["TFPIPE_STATUS_QUEUE_URL"]
        assert (environment["TFPIPE_EXTRA"], environment["TFPIPE_JOB_TIER"]) == ("1", tier)
        assert properties["logConfiguration"]["options"]["awslogs-group"] == "/aws/batch/tfpipe-jobs-executor"
        roles.add(properties["jobRoleArn"])
    assert len(roles) == 3
    # Plans may go to Spot in AWS; previews and applies share the on-demand queue.
    assert provisioned.env["TFPIPE_JOB_QUEUE_ARN_PLAN"] != provisioned.env["TFPIPE_JOB_QUEUE_ARN_APPLY"]
    assert provisioned.env["TFPIPE_JOB_QUEUE_ARN_PREVIEW"] == provisioned.env["TFPIPE_JOB_QUEUE_ARN_APPLY"]


def _lambda_environment_names_in_terraform() -> set[str]:
    """The TFPIPE_* names terraform/locals.tf gives every Chalice function (its lambda_environment)."""
    import json
    import re

    text = (REPO_ROOT / "terraform" / "locals.tf").read_text()
    block = text[text.index("lambda_environment = merge("):]
    block = block[:block.index("\n  )\n")]
    names = set(re.findall(r"^\s+(TFPIPE_\w+)\s+=", block, re.MULTILINE))
    doc = json.loads((REPO_ROOT / "terraform" / "names.json").read_text())
    excluded = set(re.search(r"contains\(\[([^]]*)\]", block).group(1).replace('"', "").replace(" ", "").split(","))
    names |= {r["env"] for key, r in doc["resources"].items() if "env" in r and key not in excluded}
    names |= {sm["env"] for sm in doc["state_machines"].values()}
    return names


def test_the_stack_gives_the_app_every_setting_terraform_gives_the_lambdas(stack):
    from tfpipe.local.provision import Provisioner

    # Only endpoints and adapters may differ from AWS: a setting Terraform sets and the stack does not
    # would switch a behaviour off locally (it once did: the fan-out's own dead-lettering).
    provisioned = Provisioner(stack.client, "tfpipe", "envs", stack.region, stack.account_id).run(
        "secret", stack.slack_url)
    set_outside_provisioning = {"TFPIPE_GITHUB_API_URL"}  # the stack points it at its GitHub stand-in
    assert _lambda_environment_names_in_terraform() - set(provisioned.env) - set_outside_provisioning == set()
    assert provisioned.env["TFPIPE_STATUS_DLQ_URL"].endswith("/tfpipe-envs-status-dlq")

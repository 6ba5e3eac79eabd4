"""The stack with the pipeline's own app (app.py), provisioned from terraform/names.json and
statemachines/*.asl.json: a push to the local repository starts the pipeline's execution."""

from __future__ import annotations

import json
import os
import time

from chalicelib.settings import Settings
from tests.local.github_helpers import Clone
from tfpipe.local.provision import load_names
from tfpipe.local.stack import REPO_ROOT
from tfpipe.local.testing import stack_fixture

pipeline_stack = stack_fixture(app="app:app", stage="dev", scope="module", provision=True, batch_stop_timeout=2)


def test_provisioning_creates_the_resources_terraform_names(pipeline_stack):
    names = {key: entry["name"].replace("{app}", "tfpipe").replace("{stage}", "dev")
             for key, entry in load_names()["resources"].items()}

    tables = pipeline_stack.client("dynamodb").list_tables()["TableNames"]
    assert {names["locks_table"], names["runs_table"], names["deliveries_table"]} <= set(tables)
    buckets = [b["Name"] for b in pipeline_stack.client("s3").list_buckets()["Buckets"]]
    assert {names["artifacts_bucket"], names["state_bucket"]} <= set(buckets)
    queue = pipeline_stack.client("sqs").get_queue_attributes(QueueUrl=os.environ["TFPIPE_STATUS_QUEUE_URL"],
                                                              AttributeNames=["RedrivePolicy"])["Attributes"]
    assert json.loads(queue["RedrivePolicy"])["deadLetterTargetArn"].endswith(names["status_dlq"])
    secret = pipeline_stack.client("secretsmanager").get_secret_value(SecretId=names["webhook_secret"])
    assert secret["SecretString"] == pipeline_stack.webhook_secret


def test_every_state_machine_file_is_created_and_named_in_the_settings(pipeline_stack):
    files = sorted(p.name.removesuffix(".asl.json") for p in (REPO_ROOT / "statemachines").glob("*.asl.json"))
    settings = Settings.from_env()

    assert sorted(pipeline_stack.provisioned.state_machines) == files
    sfn = pipeline_stack.client("stepfunctions")
    for workflow, arn in pipeline_stack.provisioned.state_machines.items():
        assert settings.state_machines[workflow] == arn
        definition = sfn.describe_state_machine(stateMachineArn=arn)["definition"]
        assert "${" not in definition
        assert "function:tfpipe-dev-" in definition


def test_a_push_to_the_default_branch_starts_a_plan_apply_execution(pipeline_stack, tmp_path):
    work = Clone(pipeline_stack.create_repository("acme/infra"), tmp_path / "work")
    sha = work.commit("main.tf", "terraform {}\n", "Initial commit")

    output = work.push("main")

    assert "push webhook for refs/heads/main answered 2" in output, output
    sfn = pipeline_stack.client("stepfunctions")
    machine = pipeline_stack.provisioned.state_machines["plan-apply"]
    deadline = time.monotonic() + 10
    executions = []
    while not executions and time.monotonic() < deadline:
        executions = sfn.list_executions(stateMachineArn=machine)["executions"]
        time.sleep(0.1)
    assert executions, f"no plan-apply execution; intake answered: {output}"
    started = json.loads(sfn.describe_execution(executionArn=executions[0]["executionArn"])["input"])
    assert sha in json.dumps(started)


def test_the_apps_event_sources_are_wired_to_the_provisioned_resources(pipeline_stack):
    pollers = {p.function_name: p.queue for p in pipeline_stack.event_sources.pollers}
    rules = pipeline_stack.client("events").list_rules(NamePrefix="tfpipe-dev-")["Rules"]
    targets = pipeline_stack.client("events").list_targets_by_rule(Rule="tfpipe-dev-batch_job_failed-event")["Targets"]

    assert pollers == {"tfpipe-dev-status_fanout": "tfpipe-dev-status"}
    assert [r["Name"] for r in rules] == ["tfpipe-dev-batch_job_failed-event"]
    assert json.loads(rules[0]["EventPattern"])["source"] == ["aws.batch"]
    assert targets[0]["Arn"].endswith(":function:tfpipe-dev-batch_job_failed")

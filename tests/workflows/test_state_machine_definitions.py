"""The six state machine files are valid ASL and keep the workflows' contracts (docs/architecture.md section 3)."""

from __future__ import annotations

import json
import re

import pytest

from chalicelib.core.errors import HTTP_STATUS_BY_CODE
from chalicelib.core.job import JobErrorClass
from chalicelib.core.workflows import LOCKING_WORKFLOWS, Workflow
from tests.workflows import definitions
from tests.workflows.asl_rules import validate

WORKFLOWS = list(Workflow)
TRANSIENT = {"Lambda.ServiceException", "Lambda.TooManyRequestsException", "Lambda.AWSLambdaException",
             "Lambda.SdkClientException"}
KNOWN_ERRORS = TRANSIENT | {"States.ALL", "States.Timeout", "States.TaskFailed", "Lambda.ResourceConflictException"} \
    | {e.value for e in JobErrorClass} | set(HTTP_STATUS_BY_CODE)


def tasks(definition: dict):
    return {n: s for n, s in definition["States"].items() if s["Type"] == "Task"}


def function_of(state: dict) -> str:
    return state["Parameters"]["FunctionName"]


def operation(state: dict) -> str | None:
    return state.get("Parameters", {}).get("Payload", {}).get("operation")


def test_every_workflow_has_exactly_one_state_machine_file():
    files = {p.name.removesuffix(".asl.json") for p in definitions.STATEMACHINES.glob("*.asl.json")}
    assert files == {w.value for w in Workflow}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=str)
def test_definition_is_structurally_valid_asl(workflow):
    assert validate(definitions.definition(workflow)) == []


@pytest.mark.parametrize("broken, problem", [
    ({"StartAt": "Nowhere", "States": {"A": {"Type": "Succeed"}}}, "StartAt 'Nowhere' is not a state"),
    ({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}, "target 'B' is not a state"),
    ({"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "B": {"Type": "Succeed"}}}, "B: unreachable"),
    ({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A", "End": True}}}, "exactly one of Next or End"),
    ({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}, "no terminal state is reachable"),
    ({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "x", "End": True, "Retry": [
        {"ErrorEquals": ["X"], "JitterStrategy": "SOME"}]}}}, "JitterStrategy must be FULL or NONE"),
    ({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "x", "End": True, "Catch": [
        {"ErrorEquals": ["States.ALL"], "Next": "A"}, {"ErrorEquals": ["X"], "Next": "A"}]}}},
     "States.ALL must be the last catcher"),
    ({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "x", "End": True, "HeartbeatSeconds": 60,
                                       "TimeoutSeconds": 60}}}, "HeartbeatSeconds must be smaller"),
    ({"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [
        {"Variable": "$.x", "StringEquals": "y", "Next": "Gone"}], "Default": "A"}}}, "target 'Gone' is not a state"),
    ({"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": True}}},
     "exactly one of Seconds"),
    ({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "x", "End": True,
                                       "Parameters": {"a.$": "Task.Token"}}}}, "must be a path"),
])
def test_validator_names_what_is_wrong_with_a_broken_definition(broken, problem):
    assert any(problem in p for p in validate(broken)), validate(broken)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=str)
def test_moto_asl_parser_accepts_the_substituted_definition(workflow):
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    source = definitions.substitute(definitions.text(workflow),
                                    definitions.function_arns("us-east-1", "123456789012", "tfpipe-dev-"))
    program, _ = AmazonStateLanguageParser.parse(source)
    assert program is not None


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=str)
def test_definition_holds_no_literal_arn_account_or_region(workflow):
    source = definitions.text(workflow)
    without_integrations = source.replace("arn:aws:states:::lambda:invoke", "")
    assert "arn:" not in without_integrations
    assert not re.search(r"\b\d{12}\b", source)
    assert not re.search(r"\b(us|eu|ap|sa|ca|me|af|il)-[a-z]+-\d\b", source)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=str)
def test_every_placeholder_is_a_listed_task_lambda(workflow):
    used = set(definitions.PLACEHOLDER.findall(definitions.text(workflow)))
    assert used and used <= set(definitions.function_placeholders())


def test_every_listed_placeholder_is_a_registered_lambda_and_documented():
    from app import app

    registered = {f.name for f in app.pure_lambda_functions}
    readme = (definitions.STATEMACHINES / "README.md").read_text()
    for placeholder, function in definitions.function_placeholders().items():
        assert function in registered, placeholder
        assert f"`${{{placeholder}}}` | `{function}`" in readme


@pytest.mark.parametrize("workflow", sorted(set(Workflow) - {Workflow.MODIFY_CRON}), ids=str)
def test_terraform_jobs_wait_for_their_task_token_with_heartbeat_and_timeout(workflow):
    jobs = {n: s for n, s in tasks(definitions.definition(workflow)).items()
            if function_of(s) == "${SubmitJobFunctionArn}"}
    assert jobs
    for name, state in jobs.items():
        assert state["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken", name
        assert state["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token", name
        assert 0 < state["HeartbeatSeconds"] < state["TimeoutSeconds"], name


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=str)
def test_every_task_retries_transient_errors_with_jittered_backoff_and_catches_the_rest(workflow):
    for name, state in tasks(definitions.definition(workflow)).items():
        retriers = [r for r in state["Retry"] if set(r["ErrorEquals"]) >= TRANSIENT]
        assert retriers, name
        assert retriers[0]["JitterStrategy"] == "FULL" and retriers[0]["BackoffRate"] > 1, name
        assert state["Catch"][-1]["ErrorEquals"] == ["States.ALL"], name


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=str)
def test_every_error_name_matched_is_one_the_pipeline_or_aws_raises(workflow):
    for name, state in definitions.definition(workflow)["States"].items():
        for clause in state.get("Retry", []) + state.get("Catch", []):
            assert set(clause["ErrorEquals"]) <= KNOWN_ERRORS, (name, clause["ErrorEquals"])


def _reachable_without(definition: dict, start: str, barrier) -> set[str]:
    states, seen, todo = definition["States"], set(), [start]
    while todo:
        name = todo.pop()
        if name in seen or barrier(states[name]):
            continue
        seen.add(name)
        state = states[name]
        todo += [state["Next"]] if "Next" in state else []
        todo += [c["Next"] for c in state.get("Choices", []) + state.get("Catch", [])]
        todo += [state["Default"]] if "Default" in state else []
    return seen


@pytest.mark.parametrize("workflow", sorted(LOCKING_WORKFLOWS), ids=str)
def test_every_terminal_path_after_the_lock_releases_it_or_holds_it_for_an_operator(workflow):
    definition = definitions.definition(workflow)
    acquired = next(c["Next"] for c in definition["States"]["LockDecision"]["Choices"]
                    if c["StringEquals"] == "acquired")
    unreleased = _reachable_without(definition, acquired, lambda s: operation(s) in ("release", "hold"))
    terminals = {n for n in unreleased if definition["States"][n]["Type"] in ("Succeed", "Fail")}
    assert terminals == set()


@pytest.mark.parametrize("workflow", sorted(set(Workflow) - LOCKING_WORKFLOWS), ids=str)
def test_read_only_workflows_take_no_lock(workflow):
    assert all(function_of(s) != "${LockFunctionArn}" for s in tasks(definitions.definition(workflow)).values())


def test_a_failed_rollback_holds_the_lock_and_ends_needing_attention():
    states = definitions.definition(Workflow.PLAN_APPLY)["States"]
    path = _reachable_without({"States": states}, states["Rollback"]["Catch"][-1]["Next"], lambda s: False)
    assert {n for n in path if operation(states[n]) == "release"} == set()
    assert any(operation(states[n]) == "hold" for n in path)
    assert states["NeedsAttention"]["Error"] == "RollbackFailed"


def test_waiting_for_the_lock_is_a_bounded_wait_loop_in_the_state_machine():
    states = definitions.definition(Workflow.PLAN_APPLY)["States"]
    assert states["WaitForLock"]["Type"] == "Wait" and states["WaitForLock"]["Next"] == "AcquireLock"
    assert states["AcquireLock"]["Parameters"]["Payload"]["supersede"] is True
    assert {c["StringEquals"] for c in states["LockDecision"]["Choices"]} == {"acquired", "wait", "superseded"}
    assert states[states["LockDecision"]["Default"]]["Error"] == "LockHeld"


def test_definitions_are_committed_as_formatted_json():
    for workflow in WORKFLOWS:
        source = definitions.text(workflow)
        assert source == json.dumps(json.loads(source), indent=2) + "\n", workflow


@pytest.mark.parametrize("workflow", sorted(set(Workflow) - {Workflow.MODIFY_CRON}), ids=str)
def test_an_interrupted_job_runs_again_except_an_apply_of_a_stored_plan(workflow):
    for name, state in tasks(definitions.definition(workflow)).items():
        if function_of(state) != "${SubmitJobFunctionArn}":
            continue
        retried = {e for r in state["Retry"] for e in r["ErrorEquals"]}
        action = state["Parameters"]["Payload"]["action"]
        assert ("Interrupted" in retried) is (action != "apply"), name


def test_a_long_lived_environment_is_destroyed_only_by_applying_its_approved_destroy_plan():
    states = definitions.definition(Workflow.DESTROY)["States"]
    [long_lived] = [c["Next"] for c in states["NeedsApproval"]["Choices"] if c["Variable"] == "$.limits.needs_approval"]

    def job(name):
        state = states[name]
        return state["Parameters"]["Payload"]["action"] if state["Type"] == "Task" \
            and function_of(state) == "${SubmitJobFunctionArn}" else None

    unapproved = _reachable_without({"States": states}, long_lived, lambda s: s is states["RequestApproval"])
    assert {job(n) for n in unapproved} - {None} == {"plan-destroy"}  # nothing changes before the approval
    approved = next(c["Next"] for c in states["ApprovalDecision"]["Choices"] if c["BooleanEquals"] is True)
    after = _reachable_without({"States": states}, approved, lambda s: False)
    assert {job(n) for n in after} - {None} == {"apply"}  # of the stored plan, never a fresh destroy
    assert states["ApplyDestroy"]["Parameters"]["Payload"]["commit"] == "last-good"  # where it was planned
    assert states["PlanDestroy"]["ResultPath"] == "$.plan"  # what submit_job reads the approved plan from
    assert job(states["NeedsApproval"]["Default"]) == "destroy"  # an ephemeral pr-<N>: unattended, as before

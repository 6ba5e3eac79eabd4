"""Status events: one per phase on the SQS status queue (moto), with the words each says."""

from __future__ import annotations

import json

import pytest

from chalicelib.core.errors import InvalidRequest
from chalicelib.core.failure_cause import Diagnostic, JobFailureCause
from chalicelib.core.status import Phase, Status, StatusEvent
from chalicelib.core.workflows import Workflow
from chalicelib.tasks import runs, status
from tests.tasks.conftest import SHA, make_run, published, task_event
from tests.workflows import definitions


def published_names() -> set[str]:
    names = set()
    for workflow in Workflow:
        for state in definitions.definition(workflow)["States"].values():
            if state.get("Parameters", {}).get("FunctionName") == "${PublishStatusFunctionArn}":
                names.update(state["Parameters"]["Payload"]["messages"])
    return names


def test_every_message_a_state_machine_publishes_has_its_words():
    assert published_names() <= set(status.MESSAGES)


def test_every_run_ends_with_done_or_with_a_rollback_outcome_the_fan_out_tells():
    for workflow in Workflow:
        for state in definitions.definition(workflow)["States"].values():
            payload = state.get("Parameters", {}).get("Payload", {})
            if payload.get("final"):
                last = status.MESSAGES[payload["messages"][-1]]
                assert last.phase is Phase.DONE or last.status in (Status.ROLLED_BACK, Status.NEEDS_ATTENTION)


def test_unknown_message_names_are_refused(deps):
    with pytest.raises(InvalidRequest, match="messages: got"):
        status.handle(deps, task_event(make_run(), messages=["all-good"]))


def test_publish_status_task_puts_one_event_on_the_queue_and_closes_the_run_when_final(deps):
    run = make_run()
    runs.start(deps, task_event(run, 1_700_000_000.0))
    state = {"error": {"Error": "ApplyFailed", "Cause": "Error: creating bucket: AccessDenied"}}
    answer = status.handle(deps, task_event(run, state=state, messages=["no-rollback"], final=True))

    started, failed = (StatusEvent.from_dict(e) for e in published(deps))
    assert (started.phase, started.status) == (Phase.QUEUED, Status.STARTED)
    assert (failed.phase, failed.status, failed.run_id, failed.sha) == (Phase.DONE, Status.FAILED, run.run_id, SHA)
    assert failed.message == answer["message"]
    assert failed.message == (f"apply of {SHA[:7]} to prod failed (ApplyFailed: Error: creating bucket: AccessDenied); "
                              "no rollback: no commit has applied cleanly to prod yet")
    assert failed.details["error_class"] == "ApplyFailed"
    assert deps.runs.get(run.run_id).status == "failed"


def test_start_run_says_only_an_ephemeral_environment_changes_without_approval(deps):
    prod = runs.start(deps, task_event(make_run(Workflow.DESTROY, "prod")))
    preview = runs.start(deps, task_event(make_run(Workflow.DESTROY, "pr-7", pull_request=7)))
    assert (prod["needs_approval"], preview["needs_approval"]) == (True, False)


def test_start_run_records_the_execution_and_hands_the_workflow_its_limits(deps):
    run = make_run()
    limits = runs.start(deps, task_event(run, 1_700_000_000.0))
    assert limits == {"approval_timeout_seconds": deps.settings.approval_timeout_seconds,
                      "lock_wait_seconds": deps.settings.lock_wait_seconds, "needs_approval": True}
    record = deps.runs.get(run.run_id)
    assert record.execution_arn.endswith(f":{run.run_id}") and record.started_at == "2023-11-14T22:13:20+00:00"
    runs.start(deps, task_event(run, 1_800_000_000.0))  # a retried step changes nothing
    assert deps.runs.get(run.run_id).started_at == "2023-11-14T22:13:20+00:00"


def test_plan_counts_and_artifacts_travel_with_the_event(deps):
    run = make_run()
    plan = {"has_changes": True, "add": 2, "change": 1, "destroy": 0, "artifacts": {"plan": "runs/x/plan.bin"}}
    status.handle(deps, task_event(run, state={"plan": plan}, messages=["approval-pending"]))
    [event] = published(deps)
    assert event["message"].endswith("2 to add, 1 to change, 0 to destroy")
    assert event["artifacts"] == {"plan": "runs/x/plan.bin"}
    assert {k: event["details"][k] for k in ("add", "change", "destroy", "has_changes")} == {
        "add": 2, "change": 1, "destroy": 0, "has_changes": True}


def test_several_messages_publish_in_order_and_the_last_closes_the_run(deps):
    run = make_run(Workflow.MODIFY_CRON, "pr-3", pull_request=3)
    schedule = {"expires_at": "2026-11-25T12:00:00+00:00", "ttl_seconds": 8 * 3600}
    status.handle(deps, task_event(run, state={"schedule": schedule}, messages=["ttl-moved", "ttl-moved-done"],
                                   final=True))
    moved, done = published(deps)
    assert (moved["phase"], moved["status"], done["phase"], done["status"]) == ("schedule", "succeeded", "done",
                                                                                "succeeded")
    assert moved["message"] == "the destroy of pr-3 moved to 2026-11-25T12:00:00+00:00 (in 8h)"
    assert done["details"]["expires_at"] == "2026-11-25T12:00:00+00:00"
    assert (moved["details"].get("final"), done["details"]["final"]) == (None, True)


def test_a_task_lambdas_error_is_told_by_its_message_never_its_stack_trace():
    payload = json.dumps({"errorMessage": "moving the TTL of pr-9: no ephemeral environment pr-9 is up",
                          "errorType": "NotFound", "stackTrace": ['  File "chalicelib/tasks/ttl.py", line 52']})
    told = status.describe_error({"Error": "NotFound", "Cause": payload})
    assert told == "NotFound: moving the TTL of pr-9: no ephemeral environment pr-9 is up"
    assert status.describe_error({"Error": "ApplyFailed", "Cause": "x" * 5000}) == "ApplyFailed: " + "x" * 1000


def test_a_failed_jobs_cause_gives_the_runs_end_terraforms_errors_and_the_jobs_log(deps):
    diagnostic = Diagnostic("Invalid expression", "Error: Invalid expression\n\n  on main.tf line 7:", "main.tf", 7)
    cause = JobFailureCause("terraform init for prod failed (exit 1): Error: Invalid expression (main.tf:7)",
                            [diagnostic], "runs/r1/plan/log.txt", "… [init] terraform: Error: Invalid expression")
    run = make_run(Workflow.PLAN)
    status.handle(deps, task_event(run, state={"error": {"Error": "InitFailed", "Cause": cause.to_json()}},
                                   messages=["plan-failed"], final=True))
    [event] = published(deps)
    assert event["message"] == (f"plan of {SHA[:7]} for prod failed: InitFailed: terraform init for prod failed "
                                "(exit 1): Error: Invalid expression (main.tf:7)")
    assert event["details"]["diagnostics"] == [diagnostic.to_dict()]
    assert event["artifacts"] == {"log": "runs/r1/plan/log.txt"}
    assert event["details"]["error"].endswith("--- last log lines ---\n… [init] terraform: Error: Invalid expression")


def test_after_a_rollback_the_failed_jobs_log_is_linked_beside_the_rollbacks(deps):
    cause = JobFailureCause("terraform apply for prod failed (exit 1)", [], "runs/r1/apply/log.txt")
    rollback = {"has_changes": True, "artifacts": {"log": "runs/r1/rollback/plan-apply/log.txt"}}
    status.handle(deps, task_event(make_run(), state={"rollback": rollback, "last_good": {"sha": "f" * 40},
                                                      "error": {"Error": "ApplyFailed", "Cause": cause.to_json()}},
                                   messages=["rolled-back"], final=True))
    [event] = published(deps)
    assert event["artifacts"] == {"log": "runs/r1/rollback/plan-apply/log.txt", "failed_log": "runs/r1/apply/log.txt"}

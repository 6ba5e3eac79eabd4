import json

from chalicelib.core.batch_events import failed_job, failure_status
from chalicelib.core.job import JobAction, JobSpec
from chalicelib.core.status import Phase, Status


def spec(**overrides) -> JobSpec:
    values = dict(run_id="plan-apply-prod-0a1b2c3-5f0e9d8c7b6a", workflow="plan-apply", action=JobAction.APPLY,
                  repository="acme/infra", clone_url="file:///repos/acme/infra.git", sha="0a1b2c3" + "0" * 33,
                  environment="prod", account_id="123456789012", workspace="default", actor="dev@acme.example",
                  pull_request=7)
    values.update(overrides)
    return JobSpec(**values)


def batch_event_detail(job_spec: JobSpec | None, token: str | None = "token-1") -> dict:  # noqa: S107 - a test token
    """The `detail` of a Batch Job State Change event, shaped like AWS's documented example."""
    environment = [{"name": "TF_IN_AUTOMATION", "value": "1"}]
    if job_spec is not None:
        environment.append({"name": "TFPIPE_JOB", "value": job_spec.to_json()})
    if token is not None:
        environment.append({"name": "TFPIPE_TASK_TOKEN", "value": token})
    return {
        "jobArn": "arn:aws:batch:us-east-1:123456789012:job/4c7599ae", "jobName": "tfpipe-apply", "jobId": "4c7599ae",
        "jobQueue": "arn:aws:batch:us-east-1:123456789012:job-queue/tfpipe", "status": "FAILED",
        "statusReason": "Essential container in task exited", "attempts": [
            {"container": {"exitCode": 137, "logStreamName": "tfpipe/default/abc"}, "startedAt": 1, "stoppedAt": 2,
             "statusReason": "Essential container in task exited"}],
        "createdAt": 1641944200058, "dependsOn": [], "parameters": {},
        "jobDefinition": "arn:aws:batch:us-east-1:123456789012:job-definition/tfpipe:1",
        "container": {"image": "tfpipe-executor", "command": ["python", "-m", "executor"], "environment": environment,
                      "exitCode": 137, "logStreamName": "tfpipe/default/abc"},
    }


def test_the_token_and_the_run_come_from_the_jobs_environment():
    job = failed_job(batch_event_detail(spec()))
    assert job.task_token == "token-1"
    assert job.spec.run_id == "plan-apply-prod-0a1b2c3-5f0e9d8c7b6a"
    assert job.exit_code == 137 and job.log_stream == "tfpipe/default/abc"
    assert job.cause == "Batch job tfpipe-apply (4c7599ae) failed: Essential container in task exited, exit code 137"


def test_the_failure_status_names_the_phase_and_the_error_class():
    event = failure_status(failed_job(batch_event_detail(spec())), "2026-11-25T04:00:00Z")
    assert (event.phase, event.status) == (Phase.APPLY, Status.FAILED)
    assert event.details["error_class"] == "JobFailed"
    assert event.pull_request == 7 and event.timestamp == "2026-11-25T04:00:00Z"
    assert event.message == "apply job of 0a1b2c3 for prod died: Essential container in task exited"
    json.loads(event.to_json())  # it travels on the status queue


def test_a_rollback_job_is_reported_in_the_rollback_phase():
    event = failure_status(failed_job(batch_event_detail(spec(action=JobAction.PLAN_APPLY))), "t")
    assert event.phase == Phase.ROLLBACK
    ephemeral = failure_status(failed_job(batch_event_detail(spec(action=JobAction.PLAN_APPLY, workflow="apply-ephemeral"))), "t")
    assert ephemeral.phase == Phase.APPLY


def test_a_job_that_is_not_a_tfpipe_runs_has_no_token_and_no_status():
    job = failed_job(batch_event_detail(None, token=None))
    assert job.task_token is None and job.spec is None
    assert failure_status(job, "t") is None


def test_a_garbled_spec_still_leaves_the_token_to_fail():
    detail = batch_event_detail(None)
    detail["container"]["environment"].append({"name": "TFPIPE_JOB", "value": "{not json"})
    job = failed_job(detail)
    assert job.task_token == "token-1" and job.spec is None

"""Every Lambda entry point of tfpipe. Each handler parses its event, calls one function in
chalicelib, and shapes the answer; the logic lives in chalicelib/ (see docs/architecture.md section 2)."""

from chalice import Chalice, IAMAuthorizer

from chalicelib import logs
from chalicelib.api import caller_arn, respond
from chalicelib.core.batch_events import FAILED_JOB_PATTERN
from chalicelib.settings import status_queue_name_from_env
from chalicelib.wiring import container

app = Chalice(app_name="tfpipe", configure_logs=False)
logs.configure()
# One authentication per channel: GitHub's webhooks carry its HMAC signature, GitHub Actions' dispatch
# its OIDC token (both checked in chalicelib/intake.py); the operator routes (the CLI, approvals) are
# SigV4-signed and checked by API Gateway (authorization AWS_IAM), which hands over the caller's ARN.
iam = IAMAuthorizer()

# -- Intake: GitHub webhooks and dispatch (issue 2) -------------------------------------------------


@app.route("/webhooks/github", methods=["POST"], content_types=["application/json"])
def github_webhook():
    request = app.current_request
    return respond(lambda: container().intake.webhook(request.headers, request.raw_body))


@app.route("/dispatch", methods=["POST"], content_types=["application/json"])
def dispatch():
    request = app.current_request
    return respond(lambda: container().intake.dispatch(request.headers, request.raw_body))


@app.route("/runs", methods=["POST"], content_types=["application/json"], authorizer=iam)
def request_runs():
    request = app.current_request
    return respond(lambda: container().intake.operator_dispatch(request.raw_body, caller_arn(request)))


# -- Workflows: task Lambdas of the state machines, approvals, the safety-net sweep (issue 4) --------
# Each task receives {"state": $, "execution": $$.Execution, ...the Task state's parameters}; the
# task modules are imported on first use so the intake's cold start does not pay for them.


@app.lambda_function(name="start_run")
def start_run(event, context):
    from chalicelib.tasks import runs
    return runs.start(container(), event)


@app.lambda_function(name="lock")
def lock(event, context):
    from chalicelib.tasks import lock as task
    return task.handle(container(), event)


@app.lambda_function(name="submit_job")
def submit_job(event, context):
    from chalicelib.tasks import jobs
    return jobs.submit(container(), event)


@app.lambda_function(name="request_approval")
def request_approval(event, context):
    from chalicelib.tasks import approval
    return approval.request(container(), event)


@app.lambda_function(name="last_good_commit")
def last_good_commit(event, context):
    from chalicelib.tasks import last_good
    return last_good.resolve(container(), event)


@app.lambda_function(name="record_audit")
def record_audit(event, context):
    from chalicelib.tasks import last_good
    return last_good.record(container(), event)


@app.lambda_function(name="ttl_schedule")
def ttl_schedule(event, context):
    from chalicelib.tasks import ttl
    return ttl.handle(container(), event)


@app.lambda_function(name="publish_status")
def publish_status(event, context):
    from chalicelib.tasks import status
    return status.handle(container(), event)


@app.schedule("rate(15 minutes)", name="sweep")
def sweep(event):
    from chalicelib.tasks import sweep as task
    return task.sweep(container())


def _decide(run_id: str, approved: bool):
    from chalicelib.intake import Answer
    from chalicelib.tasks import approval
    request = app.current_request
    return respond(lambda: Answer(200, approval.decide_by_api(container(), run_id, approved, caller_arn(request),
                                                              request.raw_body)))


@app.route("/runs/{run_id}/approve", methods=["POST"], content_types=["application/json"], authorizer=iam)
def approve_run(run_id):
    return _decide(run_id, True)


@app.route("/runs/{run_id}/reject", methods=["POST"], content_types=["application/json"], authorizer=iam)
def reject_run(run_id):
    return _decide(run_id, False)


# -- Status fan-out and Batch job failures (issue 6) ------------------------------------------------
# The status queue's events go to the PR comment, commit status, GitHub deployment and Slack; the
# answer is SQS's partial batch response, so the event source mapping needs ReportBatchItemFailures.


# The queue is named when app.py is imported (TFPIPE_STATUS_QUEUE_URL, else <app>-<stage>-status from
# TFPIPE_APP_NAME/TFPIPE_STAGE); in AWS, Terraform wires the mapping to the real queue's ARN.
@app.on_sqs_message(queue=status_queue_name_from_env(), batch_size=10, name="status_fanout")
def status_fanout(event):
    return container().status_fanout.consume([record.to_dict() for record in event])


@app.on_cw_event(FAILED_JOB_PATTERN, name="batch_job_failed")
def batch_job_failed(event):
    from chalicelib.job_failures import job_failed
    deps = container()
    return job_failed(event.detail, event.time, deps.task_callbacks, deps.status_publisher, deps.job_tokens)

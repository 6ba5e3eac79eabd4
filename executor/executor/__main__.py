"""`python -m executor`: run the job in TFPIPE_JOB and answer its task token.

Everything comes from the environment (the Batch job definition plus the submitter's overrides), so
AWS Batch on Fargate and the embedded stack's local Batch service start it the same way. The task
token is not among it: the job fetches it (and an HTTPS clone's token) from the tokens table
(`TFPIPE_TOKENS_TABLE`) by its run id and job key, and deletes the item once it answered. A job run
by hand may pass `TFPIPE_TASK_TOKEN` instead.

Exit codes: 0 the job succeeded; 1 it failed and the failure was reported through the task token
(or printed, without a token); 2 the job could not start or could not report (bad environment,
Step Functions unreachable): Batch marks it FAILED and the "Job State Change" rule fails the token.
"""

from __future__ import annotations

import json
import os
import sys

from chalicelib.core.job import JOB_ENV, TASK_TOKEN_ENV, JobErrorClass, JobSpec, token_key
from chalicelib.settings import SettingsError
from executor.config import ExecutorConfig
from executor.interrupt import Interrupt
from executor.joblog import JobLog
from executor.masking import Masker
from executor.runner import Job, Services
from executor.tracing import make_tracer


def main(environ: dict[str, str] | None = None) -> int:
    environ = dict(os.environ if environ is None else environ)
    token = environ.get(TASK_TOKEN_ENV) or None
    try:
        config = ExecutorConfig.from_env(environ)
        spec = JobSpec.from_json(environ[JOB_ENV])
    except KeyError:
        return _cannot_start(environ, token, f"starting the executor: {JOB_ENV} is not set")
    except (ValueError, TypeError, SettingsError) as exc:
        return _cannot_start(environ, token, f"starting the executor: reading {JOB_ENV} and settings: {exc}")
    missing = [name for name, value in (("TFPIPE_STATE_BUCKET", config.settings.state_bucket),
                                        ("TFPIPE_ARTIFACTS_BUCKET", config.settings.artifacts_bucket)) if not value]
    if missing:
        return _cannot_start(environ, token, f"starting the executor: {' and '.join(missing)} not set")
    tokens = _job_tokens(config) if spec.job_key else None
    if spec.job_key and tokens is None:  # the token waits in a table this job cannot find: never run unanswerable
        return _cannot_start(environ, None, f"starting the executor: TFPIPE_TOKENS_TABLE is not set, and job "
                             f"{spec.job_key} of run {spec.run_id} gets its task token from there")
    clone_token = None
    if tokens is not None:
        try:
            held = tokens.get(token_key(spec))
        except Exception as exc:  # Batch then fails the job, and batch_job_failed its token
            return _cannot_start(environ, None, f"starting the executor: {exc}")
        if held is None:
            return _cannot_start(environ, None, f"starting the executor: no task token for job {spec.job_key} "
                                 f"of run {spec.run_id} in {config.settings.tokens_table} (answered already?)")
        token, clone_token = held.task_token, held.clone_token
    masker = Masker()
    for held_value in (token, clone_token):  # neither may show in a log, artifact or status, whatever prints it
        if held_value:
            masker.add(held_value)
    log = JobLog(spec.run_id, masker)
    interrupt = Interrupt()
    interrupt.install_signal_handlers()
    # Tracing patches botocore, so it is set up before the first client exists.
    tracer = make_tracer(config.settings.tracing and environ.get("AWS_XRAY_SDK_ENABLED", "").lower() != "false",
                         f"{config.settings.app_name}-{config.settings.stage}-executor")
    services = _services(config, token)
    outcome = Job(spec, config, services, log, masker, interrupt, tracer, environ, token, clone_token).run()
    if tokens is not None and outcome.reported:
        try:  # answered: the token opens nothing any more, and nobody needs the clone token
            tokens.delete(token_key(spec))
        except Exception as exc:  # it expires through the table's TTL instead
            print(json.dumps({"level": "warning", "source": "executor", "message": str(exc)}), flush=True)
    if token and not outcome.reported:
        return 2
    if not token:  # run by hand: the result is the last line on stdout
        answer = outcome.result.to_dict() if outcome.result else {"error": outcome.failure.error.value,
                                                                  "cause": masker.mask(str(outcome.failure))}
        print(json.dumps(masker.mask_data(answer), sort_keys=True))
    return 1 if outcome.failure else 0


def _services(config: ExecutorConfig, token: str | None) -> Services:
    from chalicelib.adapters.artifacts import S3ArtifactStore
    from chalicelib.adapters.aws_clients import AwsClients
    from chalicelib.adapters.secret_store import SecretsManagerStore
    from chalicelib.adapters.status_queue import SqsStatusPublisher
    from chalicelib.adapters.task_callbacks import StepFunctionsCallbacks

    settings = config.settings
    clients = AwsClients(settings)
    return Services(
        artifacts=S3ArtifactStore(clients.client("s3"), settings.artifacts_bucket),
        sts=clients.client("sts"),
        secrets=SecretsManagerStore(clients.client("secretsmanager")),
        status=SqsStatusPublisher(clients.client("sqs"), settings.status_queue_url) if settings.status_queue_url else None,
        callbacks=StepFunctionsCallbacks(clients.client("stepfunctions")) if token else None)


def _job_tokens(config: ExecutorConfig):
    from chalicelib.adapters.aws_clients import AwsClients
    from chalicelib.adapters.tokens_table import DynamoDbJobTokens

    if not config.settings.tokens_table:
        return None
    return DynamoDbJobTokens(AwsClients(config.settings).client("dynamodb"), config.settings.tokens_table)


def _cannot_start(environ: dict[str, str], token: str | None, message: str) -> int:
    print(json.dumps({"level": "error", "source": "executor", "message": message}), flush=True)
    if token:
        try:
            from chalicelib.adapters.aws_clients import AwsClients
            from chalicelib.adapters.task_callbacks import StepFunctionsCallbacks
            from chalicelib.settings import Settings

            clients = AwsClients(Settings(region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
                                          or "us-east-1"))
            StepFunctionsCallbacks(clients.client("stepfunctions")).fail(token, JobErrorClass.JOB_FAILED.value, message)
        except Exception as exc:
            print(json.dumps({"level": "error", "source": "executor", "message": f"reporting: {exc}"}), flush=True)
    return 2


if __name__ == "__main__":
    sys.exit(main())

"""`python -m executor`: run the job in TFPIPE_JOB and answer TFPIPE_TASK_TOKEN.

Everything comes from the environment (the Batch job definition plus the submitter's overrides), so
AWS Batch on Fargate and the embedded stack's local Batch service start it the same way.

Exit codes: 0 the job succeeded; 1 it failed and the failure was reported through the task token
(or printed, without a token); 2 the job could not start or could not report (bad environment,
Step Functions unreachable): Batch marks it FAILED and the "Job State Change" rule fails the token.
"""

from __future__ import annotations

import json
import os
import sys

from chalicelib.core.job import JOB_ENV, TASK_TOKEN_ENV, JobErrorClass, JobSpec
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
    masker = Masker()
    log = JobLog(spec.run_id, masker)
    interrupt = Interrupt()
    interrupt.install_signal_handlers()
    # Tracing patches botocore, so it is set up before the first client exists.
    tracer = make_tracer(config.settings.tracing and environ.get("AWS_XRAY_SDK_ENABLED", "").lower() != "false",
                         f"{config.settings.app_name}-{config.settings.stage}-executor")
    services = _services(config, token)
    outcome = Job(spec, config, services, log, masker, interrupt, tracer, environ, token).run()
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

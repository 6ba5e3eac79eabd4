"""The one place adapters are built, from settings read once. Handlers ask `container()` for what
they need; every adapter is created on first use and kept for the container's (Lambda's) life."""

from __future__ import annotations

import threading
from functools import cached_property

from chalicelib.adapters import tracing
from chalicelib.settings import Settings


class Container:
    def __init__(self, settings: Settings):
        self.settings = settings

    @cached_property
    def clients(self):
        from chalicelib.adapters.aws_clients import AwsClients

        tracing.enable(self.settings)
        return AwsClients(self.settings)

    @cached_property
    def secrets(self):
        from chalicelib.adapters.secret_store import SecretsManagerStore

        return SecretsManagerStore(self.clients.secretsmanager)

    @cached_property
    def vcs(self):
        from chalicelib.adapters.github import GitHubVcs

        return GitHubVcs(lambda: self.secrets.get(self.settings.github_token_secret_name),
                         self.settings.github_api_url, self.settings.local_git_root,
                         self.settings.github_seconds_between_writes)

    @cached_property
    def delivery_ledger(self):
        from chalicelib.adapters.deliveries_table import DynamoDbDeliveryLedger

        return DynamoDbDeliveryLedger(self.clients.dynamodb, self.settings.deliveries_table,
                                      keep_days=self.settings.delivery_ttl_days)

    @cached_property
    def starter(self):
        from chalicelib.adapters.step_functions import StepFunctionsStarter

        return StepFunctionsStarter(self.clients.stepfunctions)

    @cached_property
    def status_publisher(self):
        from chalicelib.adapters.status_queue import SqsStatusPublisher

        return SqsStatusPublisher(self.clients.sqs, self.settings.status_queue_url)

    @cached_property
    def approvals(self):
        from chalicelib.tasks.approval import RunApprovals

        return RunApprovals(self)

    # -- workflows (issue 4): the task Lambdas' adapters ------------------------------------------

    @cached_property
    def locker(self):
        from chalicelib.adapters.dynamodb_locks import DynamoDbLocker

        return DynamoDbLocker(self.clients.dynamodb, self.settings.locks_table)

    @cached_property
    def runs(self):
        from chalicelib.adapters.runs_table import DynamoDbRunsTable

        return DynamoDbRunsTable(self.clients.dynamodb, self.settings.runs_table)

    @cached_property
    def batch_jobs(self):
        from chalicelib.adapters.batch_jobs import BatchJobs

        return BatchJobs(self.clients.batch)

    @cached_property
    def job_tokens(self):
        from chalicelib.adapters.tokens_table import DynamoDbJobTokens

        return DynamoDbJobTokens(self.clients.dynamodb, self.settings.tokens_table)

    @cached_property
    def ttl_schedules(self):
        from chalicelib.adapters.ttl_schedules import SchedulerTtlSchedules

        return SchedulerTtlSchedules(self.clients.scheduler, self.settings.schedule_group,
                                     self.settings.scheduler_role_arn)

    @cached_property
    def audit_log(self):
        """The audit trail in Git: the local bare repositories on the embedded stack, GitHub's Git
        Data API in AWS. Rollback reads the last good commit from it."""
        if self.settings.local_git_root:
            from chalicelib.adapters.audit_git import GitAuditLog

            return GitAuditLog(self.settings.local_git_root)
        from chalicelib.adapters.audit_github import GitHubAuditLog

        return GitHubAuditLog(self.vcs.client)

    # -- status fan-out and job callbacks (issue 6) ------------------------------------------------

    @cached_property
    def task_callbacks(self):
        from chalicelib.adapters.task_callbacks import StepFunctionsCallbacks

        return StepFunctionsCallbacks(self.clients.stepfunctions)

    @cached_property
    def status_fanout(self):
        from chalicelib.adapters.dead_letters import SqsDeadLetters
        from chalicelib.adapters.progress_marks import DynamoDbProgressMarks
        from chalicelib.adapters.slack import SlackWebhookNotifier
        from chalicelib.fanout import StatusFanout

        s = self.settings
        notifier = (SlackWebhookNotifier(lambda: self.secrets.get(s.slack_webhook_secret_name))
                    if s.slack_webhook_secret_name else None)  # no Slack configured: that sink is skipped
        return StatusFanout(self.vcs, notifier, self.delivery_ledger,
                            self.artifacts,
                            dead_letters=SqsDeadLetters(self.clients.sqs, s.status_dlq_url) if s.status_dlq_url else None,
                            max_receives=s.status_max_receives, artifact_link=s.artifact_link,
                            marks=DynamoDbProgressMarks(self.clients.dynamodb, s.deliveries_table,
                                                        keep_days=s.delivery_ttl_days),
                            runs=self.runs)  # what a job's events claim is checked against the run's record

    @cached_property
    def artifacts(self):
        from chalicelib.adapters.artifacts import S3ArtifactStore

        return S3ArtifactStore(self.clients.s3, self.settings.artifacts_bucket)

    @cached_property
    def state_files(self):
        from chalicelib.adapters.state_files import S3StateFiles

        return S3StateFiles(self.clients.s3, self.settings.state_bucket)

    @cached_property
    def oidc_keys(self):
        from chalicelib.adapters.oidc_keys import OidcKeys

        return OidcKeys(self.settings.oidc_issuer)

    @cached_property
    def intake(self):
        from chalicelib.intake import Intake

        return Intake(self.settings, self.secrets, self.delivery_ledger, self.starter,
                      vcs=lambda: self.vcs, approvals=lambda: self.approvals, environments=lambda: self.runs,
                      trace_header=tracing.current_trace_header, actions_keys=lambda kid: self.oidc_keys.key(kid))


_container: Container | None = None
_lock = threading.Lock()


def container() -> Container:
    global _container
    with _lock:
        if _container is None:
            _container = Container(Settings.from_env())
        return _container


def reset(settings: Settings | None = None) -> Container:
    """Forget every adapter (tests, and the embedded stack after it changes settings)."""
    global _container
    with _lock:
        _container = Container(settings or Settings.from_env())
        return _container

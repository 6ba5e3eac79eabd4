"""Settings, read once from the environment (Chalice stage variables in AWS, the embedded stack
locally). Every other module receives a `Settings`; nothing else reads os.environ for configuration."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fnmatch import fnmatchcase
from urllib.parse import quote

from chalicelib.core.durations import TtlBounds, parse_duration
from chalicelib.core.environments import LongLivedEnvironment, parse_environments
from chalicelib.core.intake import UntrustedPullRequests
from chalicelib.core.repository_secrets import RepositorySecrets, RepositorySecretsError
from chalicelib.core.request import RequestDefaults
from chalicelib.core.tiers import JobTarget, Tier
from chalicelib.core.workflows import Workflow

PREFIX = "TFPIPE_"


class SettingsError(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    stage: str = "dev"
    app_name: str = "tfpipe"
    region: str = "us-east-1"
    state_machines: dict[str, str] = field(default_factory=dict)  # Workflow value -> ARN
    locks_table: str = ""
    runs_table: str = ""
    deliveries_table: str = ""
    status_queue_url: str = ""
    artifacts_bucket: str = ""
    state_bucket: str = ""
    webhook_secret_name: str = ""
    github_token_secret_name: str = ""
    slack_webhook_secret_name: str = ""
    # Which secrets each repository's Terraform receives, per environment (core/repository_secrets.py);
    # declared here by the operator, never in the repository's tfpipe.yml.
    repository_secrets: RepositorySecrets = field(default_factory=RepositorySecrets)
    # Where the submit_job Lambda keeps each job's task token (by run id and job key) for the job to
    # fetch: no token travels in a Batch job's overrides, which anyone who may describe jobs reads.
    tokens_table: str = ""
    # Each trust tier's job definition and queue (Tier value -> ARN); the two above serve a tier without
    # its own (tests, and a single-definition setup that gives up the isolation between tiers).
    job_definition_arn: str = ""
    job_queue_arn: str = ""
    job_definition_arns: dict[str, str] = field(default_factory=dict)
    job_queue_arns: dict[str, str] = field(default_factory=dict)
    allowed_repositories: tuple[str, ...] = ()
    environments: dict[str, str] = field(default_factory=dict)  # name -> account id
    # The same environments, typed, with who may approve changes to each (core/environments.py).
    long_lived_environments: dict[str, LongLivedEnvironment] = field(default_factory=dict)
    default_environment: str = "prod"
    ephemeral_account_id: str = ""
    ttl_default: int = 4 * 3600
    ttl_min: int = 15 * 60
    ttl_max: int = 7 * 86400
    max_body_bytes: int = 5 * 1024 * 1024
    schedule_group: str = ""
    scheduler_role_arn: str = ""
    github_api_url: str = "https://api.github.com"  # the embedded stack points this at its stand-in
    # PyGithub paces writes (GitHub's secondary rate limits); the stack's stand-in needs no pacing.
    github_seconds_between_writes: float = 1.0
    # When set, repositories are bare Git repositories at <root>/<owner>/<name>.git (the embedded
    # stack): clone URLs are file:// and the audit trail is written with git. Unset in AWS.
    local_git_root: str = ""
    tracing: bool = False
    # The role a job assumes in the target account, by tier (terraform/modules/deploy-role creates them).
    deploy_role_name: str = "tfpipe-deploy"  # apply
    preview_role_name: str = "tfpipe-preview"  # preview
    plan_role_name: str = "tfpipe-plan"  # plan: read-only
    permission_cache_seconds: int = 60
    # A pull request from a fork or from an author without write access: `ask` (one comment per head
    # sha saying a writer's `/plan` trusts it) or `ignore` (nothing said); nothing of it runs either way.
    untrusted_prs: UntrustedPullRequests = UntrustedPullRequests.ASK
    delivery_ttl_days: int = 30
    # Workflows: how long a PLAN-APPLY waits for a held lock (polling every lock_wait), how long an
    # approval stays open, and when the sweep calls a lock stale.
    lock_wait_seconds: int = 30
    lock_max_wait_seconds: int = 2 * 3600
    approval_timeout_seconds: int = 24 * 3600
    # Whoever triggered a run or authored a commit it applies may approve it too: for one-person teams only.
    allow_self_approval: bool = False
    stale_lock_seconds: int = 6 * 3600
    # Status fan-out: the status queue's DLQ (messages arrive there with the reason they failed), how
    # many receives a message gets before it goes there (the queue's maxReceiveCount), and where an
    # artifact key is linked to (unset: the S3 console).
    status_dlq_url: str = ""
    status_max_receives: int = 5
    artifacts_base_url: str = ""
    # POST /dispatch: GitHub Actions' OIDC token, verified against the issuer's keys (the embedded stack
    # points the issuer at its GitHub stand-in); only tokens minted for this audience are accepted.
    oidc_issuer: str = "https://token.actions.githubusercontent.com"
    oidc_audience: str = "tfpipe"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str, default: str = "") -> str:
            return env.get(PREFIX + name, default)

        stage, app_name = get("STAGE", "dev"), get("APP_NAME", "tfpipe")
        try:
            # Checked alone, so its message names the repository, environment and variable at fault.
            repository_secrets = RepositorySecrets.parse(
                json.loads(get("REPOSITORY_SECRETS", "{}")),
                get("REPOSITORY_SECRETS_PREFIX", f"{app_name}/{stage}/repos/"))
        except json.JSONDecodeError as exc:
            raise SettingsError(f"reading tfpipe settings from the environment: {PREFIX}REPOSITORY_SECRETS "
                                f"is not JSON: {exc}") from exc
        except RepositorySecretsError as exc:
            raise SettingsError(f"reading tfpipe settings from the environment: {exc}") from exc
        try:
            declared = parse_environments(json.loads(get("ENVIRONMENTS", "{}")))
            return cls(
                stage=stage,
                app_name=app_name,
                repository_secrets=repository_secrets,
                tokens_table=get("TOKENS_TABLE"),
                region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
                state_machines={w.value: get(f"STATE_MACHINE_{w.settings_key}") for w in Workflow
                                if get(f"STATE_MACHINE_{w.settings_key}")},
                locks_table=get("LOCKS_TABLE"),
                runs_table=get("RUNS_TABLE"),
                deliveries_table=get("DELIVERIES_TABLE"),
                status_queue_url=get("STATUS_QUEUE_URL"),
                artifacts_bucket=get("ARTIFACTS_BUCKET"),
                state_bucket=get("STATE_BUCKET"),
                webhook_secret_name=get("WEBHOOK_SECRET_NAME"),
                github_token_secret_name=get("GITHUB_TOKEN_SECRET_NAME"),
                slack_webhook_secret_name=get("SLACK_WEBHOOK_SECRET_NAME"),
                job_definition_arn=get("JOB_DEFINITION_ARN"),
                job_queue_arn=get("JOB_QUEUE_ARN"),
                job_definition_arns={t.value: get(f"JOB_DEFINITION_ARN_{t.settings_key}") for t in Tier
                                     if get(f"JOB_DEFINITION_ARN_{t.settings_key}")},
                job_queue_arns={t.value: get(f"JOB_QUEUE_ARN_{t.settings_key}") for t in Tier
                                if get(f"JOB_QUEUE_ARN_{t.settings_key}")},
                allowed_repositories=tuple(r.strip() for r in get("ALLOWED_REPOSITORIES").split(",") if r.strip()),
                environments={name: e.account_id for name, e in declared.items()},
                long_lived_environments=declared,
                default_environment=get("DEFAULT_ENVIRONMENT", "prod"),
                ephemeral_account_id=get("EPHEMERAL_ACCOUNT_ID"),
                ttl_default=parse_duration(get("TTL_DEFAULT", "4h")),
                ttl_min=parse_duration(get("TTL_MIN", "15m")),
                ttl_max=parse_duration(get("TTL_MAX", "7d")),
                max_body_bytes=int(get("MAX_BODY_BYTES", str(5 * 1024 * 1024))),
                schedule_group=get("SCHEDULE_GROUP"),
                scheduler_role_arn=get("SCHEDULER_ROLE_ARN"),
                github_api_url=get("GITHUB_API_URL", "https://api.github.com"),
                github_seconds_between_writes=float(get("GITHUB_SECONDS_BETWEEN_WRITES", "1")),
                local_git_root=get("LOCAL_GIT_ROOT"),
                tracing=get("TRACING", "off").lower() in ("1", "true", "on", "yes"),
                deploy_role_name=get("DEPLOY_ROLE_NAME", "tfpipe-deploy"),
                preview_role_name=get("PREVIEW_ROLE_NAME", "tfpipe-preview"),
                plan_role_name=get("PLAN_ROLE_NAME", "tfpipe-plan"),
                permission_cache_seconds=int(get("PERMISSION_CACHE_SECONDS", "60")),
                untrusted_prs=_choice(UntrustedPullRequests, get("UNTRUSTED_PRS", "ask")),
                lock_wait_seconds=parse_duration(get("LOCK_WAIT", "30s")),
                lock_max_wait_seconds=parse_duration(get("LOCK_MAX_WAIT", "2h")),
                approval_timeout_seconds=parse_duration(get("APPROVAL_TIMEOUT", "24h")),
                allow_self_approval=_true_or_false(get("ALLOW_SELF_APPROVAL", "false")),
                stale_lock_seconds=parse_duration(get("STALE_LOCK_AFTER", "6h")),
                status_dlq_url=get("STATUS_DLQ_URL"),
                status_max_receives=int(get("STATUS_MAX_RECEIVES", "5")),
                artifacts_base_url=get("ARTIFACTS_BASE_URL").rstrip("/"),
                oidc_issuer=get("OIDC_ISSUER", "https://token.actions.githubusercontent.com").rstrip("/"),
                oidc_audience=get("OIDC_AUDIENCE", "tfpipe"),
            )
        except (ValueError, json.JSONDecodeError) as exc:
            raise SettingsError(f"reading tfpipe settings from the environment: "
                                f"{', '.join(_malformed(env)) or 'a setting'}: {exc}") from exc

    @property
    def status_queue_name(self) -> str:
        """The queue the status consumer reads: the last part of its URL, else `<app>-<stage>-status`."""
        return _status_queue_name(self.status_queue_url, self.app_name, self.stage)

    def artifact_link(self, key: str) -> str:
        """Where a person opens an artifact: the configured base URL, else the S3 console."""
        if self.artifacts_base_url:
            return f"{self.artifacts_base_url}/{quote(key, safe='/')}"
        return (f"https://s3.console.aws.amazon.com/s3/object/{self.artifacts_bucket}"
                f"?region={self.region}&prefix={quote(key, safe='/')}")

    @property
    def ttl_bounds(self) -> TtlBounds:
        return TtlBounds(self.ttl_min, self.ttl_max, self.ttl_default)

    @property
    def request_defaults(self) -> RequestDefaults:
        return RequestDefaults(self.job_definition_arn, self.job_queue_arn, dict(self.environments),
                               self.ephemeral_account_id, {t: self.job_target(t) for t in Tier})

    def job_target(self, tier: Tier) -> JobTarget:
        """The job definition and queue of a tier's jobs: its own, else the shared fallback."""
        return JobTarget(self.job_definition_arns.get(tier.value) or self.job_definition_arn,
                         self.job_queue_arns.get(tier.value) or self.job_queue_arn)

    def target_role_name(self, tier: Tier) -> str:
        """The role a job of `tier` assumes in the target environment's account."""
        return {Tier.PLAN: self.plan_role_name, Tier.PREVIEW: self.preview_role_name,
                Tier.APPLY: self.deploy_role_name}[tier]

    def approvers(self, environment: str) -> tuple[str, ...]:
        """Who alone may approve changes to `environment`; empty: any independent writer or IAM caller."""
        declared = self.long_lived_environments.get(environment)
        return declared.approvers if declared else ()

    def state_machine_arn(self, workflow: Workflow) -> str:
        try:
            return self.state_machines[workflow.value]
        except KeyError:
            raise SettingsError(
                f"starting {workflow.title}: no state machine configured; set "
                f"{PREFIX}STATE_MACHINE_{workflow.settings_key}") from None

    def repository_allowed(self, repository: str) -> bool:
        return any(fnmatchcase(repository.lower(), pattern.lower()) for pattern in self.allowed_repositories)


def _true_or_false(value: str) -> bool:
    """A switch that loosens a safety rule: only the words true and false, so a typo never loosens it."""
    if value.strip().lower() not in ("true", "false"):
        raise ValueError(f"got {value!r}; accepted: true, false")
    return value.strip().lower() == "true"


def _choice(kind: type[StrEnum], value: str):
    try:
        return kind(value.strip().lower())
    except ValueError:
        raise ValueError(f"got {value!r}; accepted: {', '.join(k.value for k in kind)}") from None


def _malformed(env: Mapping[str, str]) -> list[str]:
    """Which TFPIPE_* variables fail to read, each read alone (asked only once reading all failed)."""
    names = sorted(name for name in env if name.startswith(PREFIX))
    if len(names) == 1:
        return names  # reading it alone is what failed: no need (and no end) to ask again

    def fails(name: str) -> bool:
        try:
            Settings.from_env({name: env[name]})
        except SettingsError:
            return True
        return False

    return [name for name in names if fails(name)]


def setting_names() -> frozenset[str]:
    """Every TFPIPE_* variable `Settings.from_env` reads (the embedded stack takes these from the
    user's shell and no others)."""
    class Reading(dict):
        def get(self, key, default=None):
            read.add(key)
            return default

    read: set[str] = set()
    Settings.from_env(Reading())
    return frozenset(name for name in read if name.startswith(PREFIX))


def _status_queue_name(queue_url: str, app_name: str, stage: str) -> str:
    if queue_url:
        return queue_url.rstrip("/").rsplit("/", 1)[-1]
    return f"{app_name}-{stage}-status"


def status_queue_name_from_env(environ: Mapping[str, str] | None = None) -> str:
    """`Settings.status_queue_name` from the three variables it needs, for app.py's decorator at import
    (a malformed unrelated setting must not stop the app from loading)."""
    env = os.environ if environ is None else environ
    return _status_queue_name(env.get(PREFIX + "STATUS_QUEUE_URL", ""), env.get(PREFIX + "APP_NAME", "tfpipe"),
                              env.get(PREFIX + "STAGE", "dev"))

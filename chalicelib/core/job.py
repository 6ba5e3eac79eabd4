"""The contract between the workflows and the executor (docs/architecture.md section 3, Terraform jobs).

A task Lambda submits a Batch job whose environment carries `TFPIPE_JOB` (a `JobSpec` as JSON) and
nothing else: the task token waits in the tokens table under `token_key(spec)`, for the job to fetch
(anyone who may describe Batch jobs reads their overrides, and a token answers a workflow step). The
executor ends with SendTaskSuccess(`JobResult`) or SendTaskFailure(error class, cause). Nothing secret
ever goes into either: the job fetches secrets by name. `TFPIPE_TASK_TOKEN` is read only from a job
run by hand.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from chalicelib.core.tiers import Tier

JOB_ENV = "TFPIPE_JOB"
TASK_TOKEN_ENV = "TFPIPE_TASK_TOKEN"  # noqa: S105 - a variable name, not a secret


class JobAction(StrEnum):
    PLAN = "plan"          # plan -out, upload plan binary/JSON/text
    APPLY = "apply"        # apply exactly the stored plan, then health check
    DESTROY = "destroy"
    CUSTOM = "custom"      # an allow-listed subcommand
    PLAN_APPLY = "plan-apply"  # plan then apply in one job: rollback and ephemeral applies
    # plan -destroy -out, stored like a plan: DESTROY of a long-lived environment applies it (APPLY) once approved
    PLAN_DESTROY = "plan-destroy"


class JobErrorClass(StrEnum):
    """Error names a job fails its task token with; the state machines Catch on these."""

    CHECKOUT_FAILED = "CheckoutFailed"
    BUILD_FAILED = "BuildFailed"
    INIT_FAILED = "InitFailed"
    PLAN_FAILED = "PlanFailed"
    APPLY_FAILED = "ApplyFailed"
    HEALTH_CHECK_FAILED = "HealthCheckFailed"
    STALE_PLAN = "StalePlan"
    DESTROY_FAILED = "DestroyFailed"
    CUSTOM_FAILED = "CustomFailed"
    TIMEOUT = "Timeout"
    INTERRUPTED = "Interrupted"
    JOB_FAILED = "JobFailed"  # Batch reported FAILED before the executor could say why


@dataclass(frozen=True)
class JobSpec:
    run_id: str
    workflow: str
    action: JobAction
    repository: str
    clone_url: str
    sha: str
    environment: str
    account_id: str
    workspace: str  # "default" or "pr-<N>"
    actor: str
    pull_request: int | None = None
    plan_key: str | None = None  # S3 key of the approved plan, for APPLY
    plan_checksum: str | None = None  # its sha256 (JobResult.plan_checksum of the plan job); checked before apply
    custom_args: list[str] = field(default_factory=list)
    artifacts_prefix: str = ""  # runs/<tier>/<run-id>/ (rollback jobs use their own sub-prefix)
    trace_header: str | None = None
    # Which role the job assumes in the target account and whether it locks state (core/tiers.py). The
    # job definition's own TFPIPE_JOB_TIER, where set, must agree: IAM grants by job role, not by this field.
    tier: Tier = Tier.APPLY
    # Terraform variable -> Secrets Manager secret name, from the pipeline's settings for this repository
    # and environment (core/repository_secrets.py); the job fetches exactly these, by name.
    secrets: dict[str, str] = field(default_factory=dict)
    # A random name for this job's item in the tokens table (with run_id: `token_key`), set on submit.
    job_key: str = ""
    # The one project of the repository the job plans, applies or destroys (executor/executor/projects.py):
    # its dir is where Terraform runs, its name a segment of the state key. "" is the repository root,
    # the zero-config case: exactly the job of a repository without projects.
    project: str = ""

    def to_json(self) -> str:
        data = asdict(self)
        data["action"] = self.action.value
        data["tier"] = self.tier.value
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> JobSpec:
        data = json.loads(text)
        data["action"] = JobAction(data["action"])
        data["tier"] = Tier(data.get("tier", Tier.APPLY))
        return cls(**data)


def token_key(spec: JobSpec) -> str:
    """The tokens table's key of a job's task token."""
    return f"{spec.run_id}#{spec.job_key}"


@dataclass(frozen=True)
class JobResult:
    """What SendTaskSuccess carries."""

    run_id: str
    action: str
    has_changes: bool
    add: int = 0
    change: int = 0
    destroy: int = 0
    resources: list[dict] = field(default_factory=list)  # [{"address","type","actions"}]
    outputs: dict = field(default_factory=dict)  # non-sensitive outputs only
    artifacts: dict = field(default_factory=dict)  # {"plan": key, "plan_json": key, "plan_text": key, "log": key}
    durations: dict = field(default_factory=dict)  # phase -> seconds
    plan_checksum: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

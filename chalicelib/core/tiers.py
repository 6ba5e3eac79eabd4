"""Trust tiers: which Batch job definition (and so which job role) runs a run's Terraform jobs.

The pipeline, never the requester, picks the tier from the workflow and the environment's class:

    plan     PLAN (speculative plans of pull requests) and CUSTOM (allow-listed read-only commands):
             assumes only the read-only `tfpipe-plan` role of the target account, takes no state lock
    preview  changes to an ephemeral pr-<N> environment (APPLY EPHEMERAL, DESTROY, ...): assumes only
             the preview account's `tfpipe-preview` role; the pull request's code runs here unreviewed
    apply    changes to a long-lived environment (PLAN-APPLY, DESTROY): assumes only the deploy roles
             of the declared long-lived accounts

Each tier is its own job definition, job role and artifact prefix (`runs/<tier>/<run-id>/`), so IAM,
not this code, is what keeps a pull request's plan away from production's state (docs/security.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from chalicelib.core.errors import FieldError
from chalicelib.core.workflows import Workflow


class Tier(StrEnum):
    PLAN = "plan"
    PREVIEW = "preview"
    APPLY = "apply"

    @property
    def settings_key(self) -> str:
        """Suffix of the settings naming this tier's job definition and queue."""
        return self.value.upper()


# Workflows whose jobs only read: their tier does not depend on the environment.
READ_ONLY_WORKFLOWS = frozenset({Workflow.PLAN, Workflow.CUSTOM})


def tier_for(workflow: Workflow, ephemeral: bool) -> Tier:
    """The tier a run's jobs get: read-only work is `plan`; changes go by the environment's class."""
    if workflow in READ_ONLY_WORKFLOWS:
        return Tier.PLAN
    return Tier.PREVIEW if ephemeral else Tier.APPLY


def artifacts_prefix(tier: Tier, run_id: str) -> str:
    """Where a run's jobs keep plans, logs and build outputs; each tier's job role writes only its own."""
    return f"runs/{tier.value}/{run_id}/"


@dataclass(frozen=True)
class JobTarget:
    """The Batch job definition and queue one tier's jobs are submitted with."""

    definition_arn: str
    queue_arn: str


def definition_family(arn: str) -> str:
    """`arn:...:job-definition/<name>[:<revision>]` -> `<name>`: any revision of the tier's own definition is it."""
    name = arn.rsplit("/", 1)[-1]
    return name.split(":", 1)[0]


def target_errors(tier: Tier, target: JobTarget, definition_arn: str | None, queue_arn: str | None) -> list[FieldError]:
    """A requested job definition or queue other than the tier's own, as errors (none when not given)."""
    errors = []
    if definition_arn and definition_family(definition_arn) != definition_family(target.definition_arn):
        errors.append(FieldError("job_definition_arn", definition_arn,
                                 f"the {tier.value} tier's job definition {target.definition_arn or '(none configured)'}"
                                 " or none: the pipeline chooses it from the command and the environment"))
    if queue_arn and queue_arn != target.queue_arn:
        errors.append(FieldError("job_queue_arn", queue_arn,
                                 f"the {tier.value} tier's job queue {target.queue_arn or '(none configured)'}"
                                 " or none: the pipeline chooses it from the command and the environment"))
    return errors

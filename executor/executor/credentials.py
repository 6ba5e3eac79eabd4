"""The role of the target account a job works with, assumed through STS for one job.

Which role depends on the job's trust tier (chalicelib/core/tiers.py): `plan` jobs assume the read-only
plan role, `preview` jobs the preview account's role, `apply` jobs the deploy role. The job role a
tier's job definition runs with may assume only that one (terraform/iam_job.tf), so asking for another
fails in STS, not here.

The temporary credentials reach Terraform through a profile the runner refreshes (executor/refresh.py):
never a backend configuration (which Terraform would store in the plan) or a log line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from chalicelib.core.job import JobErrorClass, JobSpec
from chalicelib.core.tiers import Tier
from executor.failures import JobFailure

_SESSION_UNSAFE = re.compile(r"[^\w+=,.@-]")
TIER_ENV = "TFPIPE_JOB_TIER"  # set per job definition by Terraform and the embedded stack


def deploy_role_arn(account_id: str, role_name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


def job_tier(spec: JobSpec, environ: Mapping[str, str]) -> Tier:
    """The spec's tier, which must be the one of the job definition the job runs on (when it names one)."""
    declared = environ.get(TIER_ENV, "")
    if declared and declared != spec.tier.value:
        raise JobFailure(JobErrorClass.INIT_FAILED, f"starting a {spec.tier.value}-tier job on the {declared} tier's "
                         f"job definition: submit it with the {spec.tier.value} tier's definition")
    return spec.tier


def assume_target_role(sts, account_id: str, role_name: str, run_id: str, duration_seconds: int = 3600) -> dict:
    """STS `Credentials` (AccessKeyId, SecretAccessKey, SessionToken, Expiration) of the target role."""
    role_arn = deploy_role_arn(account_id, role_name)
    session = _SESSION_UNSAFE.sub("-", f"tfpipe-{run_id}")[:64]
    try:
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=session,
                                DurationSeconds=duration_seconds)["Credentials"]
    except Exception as exc:
        raise JobFailure(JobErrorClass.INIT_FAILED, f"assuming role {role_arn}: {exc}") from exc
    return creds

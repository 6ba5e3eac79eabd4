"""The deploy role of the target account, assumed through STS for one job.

The temporary credentials go into Terraform's process environment only: never into a file, a
backend configuration (which Terraform would store in the plan) or a log line.
"""

from __future__ import annotations

import re

from chalicelib.core.job import JobErrorClass
from executor.failures import JobFailure

_SESSION_UNSAFE = re.compile(r"[^\w+=,.@-]")


def deploy_role_arn(account_id: str, role_name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


def assume_deploy_role(sts, account_id: str, role_name: str, run_id: str, duration_seconds: int = 3600) -> dict[str, str]:
    role_arn = deploy_role_arn(account_id, role_name)
    session = _SESSION_UNSAFE.sub("-", f"tfpipe-{run_id}")[:64]
    try:
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=session,
                                DurationSeconds=duration_seconds)["Credentials"]
    except Exception as exc:
        raise JobFailure(JobErrorClass.INIT_FAILED, f"assuming deploy role {role_arn}: {exc}") from exc
    return {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"]}

"""A scripted stand-in for the Terraform executor, run by the local Batch service as a job's command.

It reads the job's contract like the executor (`TFPIPE_JOB`, its task token from the tokens table), looks up what the
test scripted for (environment, action, sha) in the JSON file named by `TFPIPE_STANDIN_SCRIPT`, answers
the task token with SendTaskSuccess(result) or SendTaskFailure(error, cause), and appends what it was
asked to do to `TFPIPE_STANDIN_LOG`. It never runs Terraform: tests using it say so in their names.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys

import boto3

from chalicelib.core.job import JOB_ENV, TASK_TOKEN_ENV, JobResult, JobSpec, token_key


def outcome_for(script: dict, spec: JobSpec) -> dict:
    """Most specific first: `<env>:<action>:<sha7>`, `<env>:<action>`; default a success with changes."""
    for key in (f"{spec.environment}:{spec.action.value}:{spec.sha[:7]}", f"{spec.environment}:{spec.action.value}"):
        if key in script:
            return script[key]
    return {}


def _checksum(spec: JobSpec) -> str:
    """A plan job's sha256 differs per run, as real plans do (an approval names it); an apply answers
    the checksum of the plan it was given, as the executor does after checking it."""
    if spec.plan_checksum:
        return spec.plan_checksum
    return hashlib.sha256(f"{spec.run_id}:{spec.sha}".encode()).hexdigest()


def main() -> int:
    spec = JobSpec.from_json(os.environ[JOB_ENV])
    token = os.environ.get(TASK_TOKEN_ENV)
    if spec.job_key:  # as the executor: submit_job left it in the tokens table
        key = {"pk": {"S": token_key(spec)}}
        table = os.environ["TFPIPE_TOKENS_TABLE"]
        token = boto3.client("dynamodb").get_item(TableName=table, Key=key)["Item"]["task_token"]["S"]
        boto3.client("dynamodb").delete_item(TableName=table, Key=key)
    outcome = {}  # no script: every job succeeds with one change
    if os.environ.get("TFPIPE_STANDIN_SCRIPT"):
        with open(os.environ["TFPIPE_STANDIN_SCRIPT"]) as f:
            outcome = outcome_for(json.load(f), spec)
    if os.environ.get("TFPIPE_STANDIN_LOG"):
        with open(os.environ["TFPIPE_STANDIN_LOG"], "a") as log:
            fcntl.flock(log, fcntl.LOCK_EX)
            log.write(json.dumps({"spec": json.loads(spec.to_json()), "outcome": outcome}) + "\n")
    log_key = f"{spec.artifacts_prefix}{spec.action.value}/log.txt"  # where the executor puts its log
    if "log" in outcome:
        boto3.client("s3").put_object(Bucket=os.environ["TFPIPE_ARTIFACTS_BUCKET"], Key=log_key,
                                      Body=outcome["log"].encode())
    sfn = boto3.client("stepfunctions")
    if "error" in outcome:
        # Reported through the token; the job itself ends cleanly, so only the token decides the path.
        sfn.send_task_failure(taskToken=token, error=outcome["error"], cause=outcome.get("cause", "scripted failure"))
        return 0
    result = JobResult(run_id=spec.run_id, action=spec.action.value, has_changes=outcome.get("has_changes", True),
                       add=outcome.get("add", 1), change=0, destroy=0, outputs=outcome.get("outputs", {}),
                       resources=outcome.get("resources", []),
                       artifacts={"plan": f"{spec.artifacts_prefix}plan.bin", "log": log_key},
                       plan_checksum=_checksum(spec))
    sfn.send_task_success(taskToken=token, output=json.dumps(result.to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

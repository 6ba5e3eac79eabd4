"""Submitting a Terraform job: the task token goes to the tokens table, the job spec to Batch; the job
fetches the token by its run id and job key and answers it."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace

from chalicelib.core.errors import FieldError, InvalidRequest, StalePlan
from chalicelib.core.job import JobAction, JobSpec, token_key
from chalicelib.core.request import parse_custom_command
from chalicelib.core.tiers import artifacts_prefix, target_errors, tier_for
from chalicelib.core.workflows import Workflow
from chalicelib.ports import HeldTokens
from chalicelib.tasks import last_good, lock, status
from chalicelib.tasks.event import TaskEvent

log = logging.getLogger("tfpipe.jobs")


def _custom_args(event: TaskEvent, doing: str) -> list[str]:
    """The custom command, checked against the allow-list again: a run may be started by hand."""
    custom = event.run.request.custom
    errors: list[FieldError] = []
    checked = parse_custom_command(custom.argv if custom else None, errors, event.run.request.environment)
    if errors or checked is None:
        raise InvalidRequest(doing, errors or [FieldError("args", None, "an allow-listed terraform subcommand")])
    return checked.argv


def job_spec(deps, event: TaskEvent, action: JobAction, rollback: bool) -> JobSpec:
    run, request = event.run, event.run.request
    doing = f"preparing the {action.value} job of run {run.run_id}"
    tier = tier_for(run.workflow, request.environment.is_ephemeral)
    sha, prefix = last_good.commit_of(event, doing), artifacts_prefix(tier, run.run_id)
    if rollback:
        sha, prefix = event.step("last_good").get("sha"), prefix + "rollback/"
    if not sha:
        raise InvalidRequest(doing, [FieldError("sha", sha, "a resolved commit sha")])
    plan_key = plan_checksum = None
    if action is JobAction.APPLY:
        plan_key = (event.step("plan").get("artifacts") or {}).get("plan")
        plan_checksum = event.step("plan").get("plan_checksum")  # the executor refuses a plan that differs
        if not plan_key:
            raise InvalidRequest(doing, [FieldError("plan.artifacts.plan", None, "the S3 key of the approved plan")])
    environment = request.environment
    return JobSpec(
        run_id=run.run_id, workflow=run.workflow.value, action=action, repository=request.repository,
        clone_url=deps.vcs.clone_url(request.repository), sha=sha, environment=environment.name,
        account_id=environment.account_id, workspace=environment.name if environment.is_ephemeral else "default",
        actor=request.user_email, pull_request=request.pull_request, plan_key=plan_key, plan_checksum=plan_checksum,
        custom_args=_custom_args(event, doing) if action is JobAction.CUSTOM else [],
        artifacts_prefix=prefix, trace_header=run.trace_header, tier=tier,
        secrets=deps.settings.repository_secrets.for_environment(request.repository, environment.name))


def _clone_token(deps, spec: JobSpec) -> str | None:
    """The GitHub token an HTTPS clone needs, read here so that no job role may read its secret (a pull
    request's code runs in plan and preview jobs); it waits beside the task token."""
    if not (spec.clone_url.startswith("https://") and deps.settings.github_token_secret_name):
        return None
    return deps.secrets.get(deps.settings.github_token_secret_name)


def _still_newest(deps, event: TaskEvent) -> None:
    """Checked again at the apply: the run held the environment's lock since it was ordered at the lock,
    but an operator may have forced that lock away (`tfpipe unlock --force`) and another run applied a
    newer commit meanwhile. Its approved plan is then stale: refused, nothing applied. When the audit
    trail or GitHub cannot answer now, the order checked at the lock stands (the lock was held since)."""
    try:
        applied = lock.applied_newer(deps, event)
    except Exception:
        log.warning("run %s: the order could not be checked again before the apply; the lock's check stands",
                    event.run.run_id, exc_info=True)
        return
    if applied:
        request = event.run.request
        raise StalePlan(f"applying {request.sha[:7]} to {request.environment.name}: it is an ancestor of "
                        f"{applied[:7]}, which {request.environment.name} runs now (applied while this run waited "
                        "for approval); an older commit never replaces a newer one")


def submit(deps, raw: object) -> dict:
    """The submit_job task: `action`, `task_token`, `rollback: true` to apply the last good commit, and
    `commit: last-good` to work at it (DESTROY), else at the run's own commit."""
    event = TaskEvent.parse(raw, "submitting a Terraform job")
    try:
        action = JobAction(event.params.get("action"))
    except ValueError:
        raise InvalidRequest("submitting a Terraform job", [FieldError(
            "action", event.params.get("action"), ", ".join(a.value for a in JobAction))]) from None
    token = event.params.get("task_token")
    if not isinstance(token, str) or not token:
        raise InvalidRequest("submitting a Terraform job", [FieldError("task_token", None, "$$.Task.Token")])
    rollback = bool(event.params.get("rollback"))
    if action is JobAction.APPLY and event.run.workflow is Workflow.PLAN_APPLY:
        _still_newest(deps, event)
    spec = job_spec(deps, event, action, rollback)
    # The tier's own definition and queue, whatever the execution input says: a run started by hand
    # (or before a deploy moved the tiers) naming another tier's definition is refused, not obeyed.
    target = deps.settings.job_target(spec.tier)
    request = event.run.request
    errors = target_errors(spec.tier, target, request.job_definition_arn, request.job_queue_arn)
    if errors:
        raise InvalidRequest(f"submitting the {action.value} job of run {event.run.run_id}", errors)
    # The token waits in the tokens table under a key no one can guess; Batch sees only the key.
    spec = replace(spec, job_key=uuid.uuid4().hex)
    deps.job_tokens.put(token_key(spec), HeldTokens(token, _clone_token(deps, spec)))
    job_id = deps.batch_jobs.submit(spec, target.definition_arn, target.queue_arn)
    if rollback:  # the job tells its own phases; only the workflow knows this one is a rollback
        status.publish(deps, event.run, "rollback-started", event.state, details={"job_id": job_id})
    return {"job_id": job_id, "action": action.value}

"""`tfpipe approve|reject <run>` and `tfpipe unlock <env>`: answer an approval, clear a held lock."""

from __future__ import annotations

import click

from chalicelib.tasks import lock
from tfpipe.commands.common import answer, failing_clearly, operator, state_dir_option


def _decide(run_id: str, approved: bool, state_dir: str | None, plan_sha256: str | None = None) -> None:
    verb = "approving" if approved else "rejecting"
    ops = operator(state_dir)
    if approved:
        plan_sha256 = plan_sha256 or ops.pending_plan(run_id)
        click.echo(f"approving run {run_id}: plan sha256 {plan_sha256 or '(none: the run waits for no approval)'}")
    answer(ops.decide(run_id, approved, plan_sha256), f"{verb} run {run_id}")


@click.command("approve")
@click.argument("run_id")
@click.option("--plan-sha256", default=None,
              help="The sha256 of the plan you reviewed (default: the plan the run waits with); another is refused.")
@state_dir_option
@failing_clearly
def approve(run_id, plan_sha256, state_dir):
    """Approve the apply of exactly the plan a run waits with (a SigV4-signed call to the pipeline's API
    naming the run and the plan's sha256; your IAM identity is recorded as the approver)."""
    _decide(run_id, True, state_dir, plan_sha256)


@click.command("reject")
@click.argument("run_id")
@state_dir_option
@failing_clearly
def reject(run_id, state_dir):
    """Reject the apply a PLAN-APPLY run waits for: nothing is applied, the lock is released (a SigV4-signed
    call; your IAM identity is recorded)."""
    _decide(run_id, False, state_dir)


@click.command("unlock")
@click.argument("environment")
@click.option("--repository", default=None, help="owner/name, when several repositories lock that name.")
@click.option("--force", is_flag=True, help="Clear it even though the run holding it still runs.")
@state_dir_option
@failing_clearly
def unlock(environment, repository, force, state_dir):
    """Clear an environment's lock, e.g. one held after a failed rollback (check the environment first).
    A run that still runs keeps its lock unless --force. Each unlock is an audit record naming your IAM
    identity (`tfpipe history <env>`)."""
    ops = operator(state_dir)
    cleared = lock.unlock(ops.deps, environment, ops.caller_arn(f"unlocking {environment}"), repository, force=force)
    why = f" ({cleared.reason})" if cleared.reason else ""
    click.echo(f"unlocked {environment} of {cleared.repository}: it was held by run {cleared.run_id} "
               f"since {cleared.acquired_at}{why}")

"""`tfpipe approve|reject <run>` and `tfpipe unlock <env>`: answer an approval, clear a held lock."""

from __future__ import annotations

import click

from chalicelib.tasks import lock
from tfpipe.commands.common import actor_email, answer, failing_clearly, operator, state_dir_option


def _decide(run_id: str, approved: bool, email: str | None, state_dir: str | None) -> None:
    verb = "approving" if approved else "rejecting"
    answer(operator(state_dir).decide(run_id, approved, email or actor_email()), f"{verb} run {run_id}")


@click.command("approve")
@click.argument("run_id")
@click.option("--email", default=None, help="Who approves (default: git config user.email).")
@state_dir_option
@failing_clearly
def approve(run_id, email, state_dir):
    """Approve the apply a PLAN-APPLY run waits for (signed call to the pipeline's API)."""
    _decide(run_id, True, email, state_dir)


@click.command("reject")
@click.argument("run_id")
@click.option("--email", default=None, help="Who rejects (default: git config user.email).")
@state_dir_option
@failing_clearly
def reject(run_id, email, state_dir):
    """Reject the apply a PLAN-APPLY run waits for: nothing is applied, the lock is released."""
    _decide(run_id, False, email, state_dir)


@click.command("unlock")
@click.argument("environment")
@click.option("--repository", default=None, help="owner/name, when several repositories lock that name.")
@click.option("--force", is_flag=True, help="Clear it even though the run holding it still runs.")
@state_dir_option
@failing_clearly
def unlock(environment, repository, force, state_dir):
    """Clear an environment's lock, e.g. one held after a failed rollback (check the environment first).
    A run that still runs keeps its lock unless --force."""
    cleared = lock.unlock(operator(state_dir).deps, environment, repository, force=force)
    why = f" ({cleared.reason})" if cleared.reason else ""
    click.echo(f"unlocked {environment} of {cleared.repository}: it was held by run {cleared.run_id} "
               f"since {cleared.acquired_at}{why}")

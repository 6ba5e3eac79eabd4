"""`tfpipe history <env>`: an environment's audit trail, read from the audit branch in Git."""

from __future__ import annotations

import click

from chalicelib.core.audit import AuditRecord, in_time_order, last_good_commit
from tfpipe.commands.common import failing_clearly, json_option, operator, print_rows, state_dir_option

COLUMNS = ["finished_at", "action", "commit", "result", "run_id", "actor", "approver", "error_class"]


def history_rows(records: list[AuditRecord], full: bool) -> list[dict]:
    good = last_good_commit(records)
    rows = []
    for record in in_time_order(records):
        row = {"finished_at": record.finished_at, "action": record.action,
               "commit": record.sha if full else record.sha[:7], "result": record.result, "run_id": record.run_id,
               "actor": record.actor, "approver": record.approver, "error_class": record.error_class}
        if not full and not record.approver and record.approval_not_needed:  # --json says why
            row["approver"] = "none needed"
        if full:
            row.update(workflow=record.workflow, account_id=record.account_id, repository=record.repository,
                       started_at=record.started_at, plan_checksum=record.plan_checksum,
                       approval_not_needed=record.approval_not_needed,
                       artifacts=record.artifacts, pull_request=record.pull_request)
        rows.append(row)
    if rows and not full and good:
        rows.append({"finished_at": "last good", "commit": good[:7]})
    return rows


@click.command("history")
@click.argument("environment")
@click.option("--repository", default=None, help="owner/name (default: the one repository with that environment).")
@json_option
@state_dir_option
@failing_clearly
def history(environment, repository, as_json, state_dir):
    """An environment's audit trail: every apply, rollback, ephemeral apply, destroy and unlock, from Git."""
    ops = operator(state_dir)
    repository = ops.repository_of(environment, repository)
    records = ops.deps.audit_log.history(repository, environment)
    if not records and not as_json:
        click.echo(f"no audit records for {environment} of {repository}")
        return
    print_rows(history_rows(records, full=as_json), COLUMNS, as_json, f"history of {environment} ({repository})")

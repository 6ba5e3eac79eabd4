"""`tfpipe run|runs|show|envs|ttl|destroy`: start and inspect runs and environments."""

from __future__ import annotations

import json

import click

from chalicelib.core.workflows import Command
from chalicelib.tasks import last_good
from tfpipe.commands.common import (
    actor_email,
    answer,
    console,
    failing_clearly,
    json_option,
    operator,
    print_rows,
    state_dir_option,
)
from tfpipe.operations import OperatorError


@click.command("run")
@click.option("--repository", required=True, help="owner/name of the infrastructure repository.")
@click.option("--commit", required=True, help="A sha, branch, tag or ref (resolved to a sha before the run).")
@click.option("--environment", "environment", required=True, help="Target environment name, e.g. prod or pr-7.")
@click.option("--account-id", default=None, help="12-digit AWS account id (default: from TFPIPE_ENVIRONMENTS).")
@click.option("--command", "command", type=click.Choice([c.value for c in Command]), required=True)
@click.option("--ttl", default=None, help="Time to live, e.g. 4h (ephemeral, cron).")
@click.option("--pr", "pull_request", type=int, default=None, help="Pull request number.")
@click.option("--email", default=None, help="Who is acting (default: git config user.email).")
@click.option("--job-definition", default=None, help="Batch job definition ARN (default from settings).")
@click.option("--job-queue", default=None, help="Batch job queue ARN (default from settings).")
@click.option("--wait", is_flag=True, help="Wait until the run ends; exit non-zero unless it succeeded.")
@click.argument("args", nargs=-1)
@state_dir_option
@failing_clearly
def run(repository, commit, environment, account_id, command, ttl, pull_request, email, job_definition,
        job_queue, wait, args, state_dir):
    """Submit a PipelineRequest. For `--command custom`, ARGS are the terraform subcommand and arguments
    (after `--` when one starts with a dash: `-- output -json`)."""
    request = {"repository": repository, "commit": commit, "command": command,
               "environment": {"name": environment, **({"account_id": account_id} if account_id else {})},
               "user_email": email or actor_email(), "ttl": ttl, "pull_request": pull_request,
               "job_definition_arn": job_definition, "job_queue_arn": job_queue,
               "args": list(args) if args else None}
    ops = operator(state_dir)
    result = ops.dispatch({k: v for k, v in request.items() if v is not None})
    answer(result, f"submitting {command} of {commit} to {environment}")
    if wait:
        for started in result.body.get("runs", []):
            execution = ops.wait_for_run(started["run_id"], timeout=3600)
            click.echo(f"run {started['run_id']}: {execution['status']}")
            if execution["status"] != "SUCCEEDED":
                raise click.ClickException(f"run {started['run_id']} ended {execution['status']}: "
                                           f"{execution.get('error') or ''} {execution.get('cause') or ''}".strip())


@click.command("runs")
@json_option
@state_dir_option
@failing_clearly
def runs(as_json, state_dir):
    """List runs, newest first."""
    rows = operator(state_dir).runs()
    for row in rows:
        row["sha"] = (row.get("sha") or "")[:7] if not as_json else row.get("sha")
    print_rows(rows, ["run_id", "workflow", "environment", "sha", "status", "approval_state", "actor", "started_at"],
               as_json, "runs")


@click.command("show")
@click.argument("run_id")
@json_option
@state_dir_option
@failing_clearly
def show(run_id, as_json, state_dir):
    """A run: its steps, status, artifacts and the tail of its log."""
    ops = operator(state_dir)
    detail = {"run": ops.run(run_id), "execution": ops.execution(run_id), "artifacts": ops.artifacts(run_id),
              "log_tail": ops.log_tail(run_id)}
    detail["failure"] = ops.failure(run_id) if detail["execution"]["status"] != "SUCCEEDED" else None
    if as_json:
        click.echo(json.dumps(detail, indent=2, default=str))
        return
    record, execution = detail["run"], detail["execution"]
    console.print(f"[bold]{run_id}[/bold]  {record['workflow']} of {record['environment']} at "
                  f"{record['sha'][:7]} by {record['actor']}: [bold]{execution['status']}[/bold]")
    if execution.get("error"):
        console.print(f"  error: {execution['error']}: {(execution.get('cause') or '')[:500]}")
    _print_failure(detail["failure"])
    console.print("  steps: " + " → ".join(s["state"] for s in execution["steps"]))
    for key in detail["artifacts"]:
        console.print(f"  artifact: {key}")
    for line in detail["log_tail"]:
        console.print(f"  | {line}", markup=False, highlight=False)


def _print_failure(failure: dict | None) -> None:
    """Why the run failed, Terraform's own error blocks (file and line) and where the whole log is."""
    if not failure:
        return
    console.print(f"  why it failed: {failure['reason']}", markup=False, highlight=False, soft_wrap=True)
    diagnostics = failure.get("diagnostics") or []
    if diagnostics:
        console.print("  terraform said:")
        for diagnostic in diagnostics:
            for line in diagnostic["text"].splitlines():
                console.print(f"    {line}", markup=False, highlight=False, soft_wrap=True)
            console.print("")
    if failure.get("log"):
        console.print(f"  full log: {failure['log']} ({failure['log_link']})", markup=False, highlight=False,
                      soft_wrap=True)


@click.command("envs")
@json_option
@state_dir_option
@failing_clearly
def envs(as_json, state_dir):
    """Environments: their last applied commit, lock and expiry."""
    rows = operator(state_dir).environments()
    if not as_json:
        import datetime as dt
        for row in rows:
            row["commit"] = (row["commit"] or "")[:7] or None
            if row["expires_at"]:
                row["expires_at"] = dt.datetime.fromtimestamp(row["expires_at"], dt.UTC).isoformat(timespec="seconds")
    print_rows(rows, ["repository", "environment", "commit", "state", "expires_at", "locked_by"], as_json,
               "environments")


def _environment_request(ops, environment: str, repository: str | None, command: str, **extra) -> dict:
    """A request acting on an existing environment: its repository and commit come from the pipeline."""
    repository = ops.repository_of(environment, repository)
    known = next((e for e in ops.environments() if e["environment"] == environment
                  and e["repository"] == repository), None)
    if known is None:
        raise OperatorError(f"finding environment {environment} of {repository}: no such environment; "
                            "`tfpipe envs` lists them")
    sha = last_good.find(ops.deps, repository, environment)  # what DESTROY itself destroys with
    if not sha:
        raise OperatorError(f"finding environment {environment}: no commit is known to have been applied to it")
    pull_request = int(environment[3:]) if environment.startswith("pr-") and environment[3:].isdigit() else None
    return {"repository": repository, "commit": sha, "environment": {"name": environment},
            "command": command, "user_email": actor_email(), "pull_request": pull_request, **extra}


@click.command("ttl")
@click.argument("environment")
@click.argument("duration")
@click.option("--repository", default=None, help="owner/name, when the environment name is not unique.")
@state_dir_option
@failing_clearly
def ttl(environment, duration, repository, state_dir):
    """Move an environment's destroy time to now + DURATION (e.g. 8h)."""
    ops = operator(state_dir)
    request = _environment_request(ops, environment, repository, "cron", ttl=duration)
    answer(ops.dispatch({k: v for k, v in request.items() if v is not None}), f"moving the TTL of {environment}")


@click.command("destroy")
@click.argument("environment")
@click.option("--repository", default=None, help="owner/name, when the environment name is not unique.")
@state_dir_option
@failing_clearly
def destroy(environment, repository, state_dir):
    """Destroy an environment now."""
    ops = operator(state_dir)
    request = _environment_request(ops, environment, repository, "destroy")
    answer(ops.dispatch({k: v for k, v in request.items() if v is not None}), f"destroying {environment}")

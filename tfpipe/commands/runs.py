"""`tfpipe run|runs|show|envs|ttl|destroy`: start and inspect runs and environments."""

from __future__ import annotations

import datetime as dt
import json

import click

from chalicelib.core.request import Environment
from chalicelib.core.status import Status
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
from tfpipe.operations import WAITING_FOR_APPROVAL, OperatorError, shown_status
from tfpipe.run_history import History

LOG_LINES = 20  # of the last job's log, in `tfpipe show`


@click.command("run")
@click.option("--repository", required=True, help="owner/name of the infrastructure repository.")
@click.option("--commit", required=True, help="A sha, branch, tag or ref (resolved to a sha before the run).")
@click.option("--environment", "environment", required=True, help="Target environment name, e.g. prod or pr-7.")
@click.option("--account-id", default=None, help="12-digit AWS account id (default: from TFPIPE_ENVIRONMENTS).")
@click.option("--command", "command", type=click.Choice([c.value for c in Command]), required=True)
@click.option("--ttl", default=None, help="Time to live, e.g. 4h (ephemeral, cron).")
@click.option("--pr", "pull_request", type=int, default=None, help="Pull request number.")
@click.option("--email", default=None, help="Who is acting (default: git config user.email).")
@click.option("--job-definition", default=None,
              help="Batch job definition ARN (default: the run's trust tier's; another tier's is refused).")
@click.option("--job-queue", default=None,
              help="Batch job queue ARN (default: the run's trust tier's; another tier's is refused).")
@click.option("--wait", is_flag=True, help="Follow the run until it ends (its steps, approval, changes); exit "
                                           "non-zero unless it succeeded.")
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
    started = answer(ops.dispatch({k: v for k, v in request.items() if v is not None}),
                     f"submitting {command} of {commit} to {environment}")
    if wait:
        for each in started:
            follow(ops, each["run_id"])


def follow(ops, run_id: str, timeout: float = 3600) -> None:
    """Print what the run does as it does it, then how it ended and what it changed."""
    printed, last = 0, History()

    def progress(execution: dict, history: History) -> None:
        nonlocal printed, last
        last = history
        for line in history.lines[printed:]:
            click.echo(f"  {line.at.astimezone(dt.UTC):%H:%M:%S}  {line.text}")
        printed = len(history.lines)

    execution = ops.wait_for_run(run_id, timeout=timeout, on_poll=progress)
    changed = next((job for job in reversed(last.jobs) if job.result), None)
    changes = f"; changes ({changed.action}): {changed.counts()}" if changed else ""
    if execution["status"] != "SUCCEEDED":
        raise click.ClickException(f"run {run_id} ended {execution['status']}: {_why(execution)}{changes}")
    click.echo(f"run {run_id}: SUCCEEDED{changes}")


def _why(execution: dict) -> str:
    """Why a run failed, in the words of its last status event (the execution's own error only says
    that the run failed); a Step Functions error when no event was published."""
    events = execution.get("status_events") or []
    if events:
        return events[-1]["message"]
    cause = execution.get("cause")
    return ": ".join(str(p) for p in (execution.get("error"), cause) if p) or "no reason recorded"


RUN_STATUSES = ["running", WAITING_FOR_APPROVAL, *(s.value for s in Status if s not in (Status.STARTED, Status.PENDING))]


@click.command("runs")
@click.option("--repository", default=None, help="Only runs of this owner/name.")
@click.option("--environment", default=None, help="Only runs on this environment.")
@click.option("--status", type=click.Choice(RUN_STATUSES), default=None, help="Only runs with this status.")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True, help="At most this many (0: all).")
@json_option
@state_dir_option
@failing_clearly
def runs(repository, environment, status, limit, as_json, state_dir):
    """List runs, newest first. A run id names its workflow, environment and commit."""
    rows = operator(state_dir).runs(repository, environment, status, limit or None)
    if not as_json:
        for row in rows:
            row["status"] = _status_words(row)
            row["started"] = row["started_at"].replace("T", " ")[:16]  # UTC, to the minute
    print_rows(rows, ["run_id", "repository", "status", "started"], as_json, "runs", whole=("run_id",))
    if not as_json and limit and len(rows) == limit:
        click.echo(f"the newest {limit}; --limit 0 lists all")


@click.command("show")
@click.argument("run_id")
@json_option
@state_dir_option
@failing_clearly
def show(run_id, as_json, state_dir):
    """A run: its status, steps, why it failed, its artifacts and the log of its last job."""
    ops = operator(state_dir)
    record = ops.run(run_id)
    detail, history = ops.history(run_id)
    execution = ops.execution_view(ops.artifacts_prefix(run_id), detail, history)
    log_key, log = ops.last_log(run_id, history)
    if as_json:
        click.echo(json.dumps({"run": record, "execution": execution, "artifacts": ops.artifacts(run_id),
                               "log": log_key, "log_tail": log[-LOG_LINES:]}, indent=2, default=str))
        return
    status = execution["status"]
    if shown_status(record) == WAITING_FOR_APPROVAL:
        status = _status_words(record)
    elif status != "RUNNING" and record["status"] != status.lower():
        status += f" ({record['status']})"  # e.g. FAILED (rolled-back)
    _say(f"{run_id}  {record['workflow']} of {record['environment']} at {record['sha'][:7]} by {record['actor']}: "
         f"{status}")
    if shown_status(record) == WAITING_FOR_APPROVAL:
        for line in history.plan_summary():  # what an approval applies
            _say(f"  {line}")
        where = f", or comment /approve {run_id} on pull request #{record['pull_request']}" \
            if record.get("pull_request") else ""
        _say(f"  approve: tfpipe approve {run_id}   reject: tfpipe reject {run_id}{where}")
        _say(f"  plan sha256: {record.get('plan_sha256') or '(none recorded)'} (an approval approves this plan only)")
    _say("  steps: " + " → ".join(s["state"] for s in execution["steps"]))
    if execution["status"] not in ("RUNNING", "SUCCEEDED"):
        _say("  why it failed (its last status events):")
        for event in execution["status_events"][-3:] or [{"message": _why(execution)}]:
            _say(f"    {event['message']}")
        for job in history.jobs:
            if job.error:
                _say(f"    the {job.action} job failed: {job.error}")
        _print_failure(ops.failure(run_id))
    for key in ops.artifacts(run_id):
        _say(f"  artifact: {key}")
    if log_key:
        _say(f"  log of the last job ({log_key}), last {min(len(log), LOG_LINES)} lines:")
        for line in log[-LOG_LINES:]:
            _say(f"  | {line}")


def _say(text: str) -> None:
    """One line as is: the terminal wraps it (rich would break run ids and messages people copy)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _status_words(record: dict) -> str:
    status = shown_status(record)
    return "waiting for approval" if status == WAITING_FOR_APPROVAL else status


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
    """Move an ephemeral environment's destroy time to now + DURATION (e.g. 8h)."""
    ops = operator(state_dir)
    # What the MODIFY CRON run would refuse, refused now: a bad duration, a long-lived environment.
    bounds = ops.target.settings.ttl_bounds
    if bounds.check("duration", duration)[1]:
        raise click.BadParameter(f"got {duration!r}; accepted: {bounds.accepted()}", param_hint="DURATION")
    if not Environment(environment, "").is_ephemeral:
        raise click.BadParameter(f"{environment} is not an ephemeral environment (pr-<number>); only those "
                                 "have a time to live", param_hint="ENVIRONMENT")
    request = _environment_request(ops, environment, repository, "cron", ttl=duration)
    answer(ops.dispatch({k: v for k, v in request.items() if v is not None}), f"moving the TTL of {environment}")


@click.command("destroy")
@click.argument("environment")
@click.option("--repository", default=None, help="owner/name, when the environment name is not unique.")
@click.option("--yes", is_flag=True, help="Do not ask to type a long-lived environment's name to confirm.")
@state_dir_option
@failing_clearly
def destroy(environment, repository, yes, state_dir):
    """Destroy an environment. A long-lived one is planned first: exactly that destroy plan is applied once
    someone approves it. An ephemeral pr-<N> one is destroyed now."""
    ops = operator(state_dir)
    request = _environment_request(ops, environment, repository, "destroy")
    long_lived = not Environment(environment, "").is_ephemeral
    if long_lived and not yes:
        typed = click.prompt(f"This plans the destroy of every resource of {environment} ({request['repository']} "
                             f"at {request['commit'][:7]}); it is applied once someone approves the plan.\n"
                             f"Type {environment} to confirm", default="", show_default=False)
        if typed.strip() != environment:
            raise click.ClickException(f"destroying {environment}: not confirmed (typed {typed.strip()!r}, not "
                                       f"{environment!r}); nothing was started")
    started = answer(ops.dispatch({k: v for k, v in request.items() if v is not None}), f"destroying {environment}")
    for run in started if long_lived else []:
        run_id = run["run_id"]
        click.echo(f"{environment} is not destroyed yet: run {run_id} plans the destroy, then waits for approval "
                   f"of exactly that plan.\n  follow it: tfpipe show {run_id}\n"
                   f"  approve: tfpipe approve {run_id} (by someone other than who asked)\n"
                   f"  reject:  tfpipe reject {run_id}")

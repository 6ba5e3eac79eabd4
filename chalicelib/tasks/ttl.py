"""TTL destroy schedules of ephemeral environments: create after the apply, move (MODIFY CRON),
delete after the destroy. The environment is recorded before its schedule exists, so the safety-net
sweep finds it even when scheduling fails or the schedule never fires."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chalicelib.core.durations import format_duration
from chalicelib.core.errors import FieldError, InvalidRequest, NotFound
from chalicelib.core.naming import run_id, schedule_name
from chalicelib.core.run_records import EnvironmentRecord, EnvironmentState
from chalicelib.core.runs import Run
from chalicelib.core.workflows import Command, Workflow
from chalicelib.tasks.event import TaskEvent, dispatch


def destroy_run(run: Run, name: str, when: datetime) -> Run:
    """The DESTROY run a schedule starts: same environment and commit, its own deterministic id."""
    request = replace(run.request, command=Command.DESTROY, ttl_seconds=None, custom=None)
    key = f"ttl:{name}:{int(when.timestamp())}"
    return Run(run_id(Workflow.DESTROY, request.environment.name, request.sha or request.commit, key),
               Workflow.DESTROY, request, source=f"schedule:{name}", trace_header=None)


def _schedule(deps, run: Run, ttl_seconds: int) -> dict:
    request = run.request
    name = schedule_name(request.repository, request.environment.name)
    when = (datetime.now(UTC) + timedelta(seconds=ttl_seconds)).replace(microsecond=0)
    destroy = destroy_run(run, name, when)
    deps.runs.put_environment(EnvironmentRecord(request.repository, request.environment.name,
                                                int(when.timestamp()), name, destroy.to_dict()))
    deps.ttl_schedules.put(name, when, deps.settings.state_machine_arn(Workflow.DESTROY), destroy.to_dict())
    return {"schedule_name": name, "expires_at": when.isoformat(), "ttl_seconds": ttl_seconds,
            "ttl": format_duration(ttl_seconds), "destroy_run_id": destroy.run_id}


def create(deps, event: TaskEvent) -> dict:
    return _schedule(deps, event.run, event.run.request.ttl_seconds or deps.settings.ttl_default)


def move(deps, event: TaskEvent) -> dict:
    request = event.run.request
    doing = f"moving the TTL of {request.environment.name}"
    bounds = deps.settings.ttl_bounds
    ttl = request.ttl_seconds
    if ttl is None or not bounds.minimum <= ttl <= bounds.maximum:
        raise InvalidRequest(doing, [FieldError("ttl", format_duration(ttl) if ttl else ttl, bounds.accepted())])
    existing = deps.runs.get_environment(request.repository, request.environment.name)
    if existing is None or existing.state != EnvironmentState.ACTIVE:
        raise NotFound(f"{doing}: no ephemeral environment {request.environment.name} of "
                       f"{request.repository} is up (nothing is scheduled to destroy)")
    # The DESTROY run keeps the commit that was applied, not the commit the cron request names.
    applied = Run.from_dict(existing.destroy_input)
    return _schedule(deps, replace(event.run, request=replace(request, sha=applied.request.sha)), ttl)


def delete(deps, event: TaskEvent) -> dict:
    request = event.run.request
    name = schedule_name(request.repository, request.environment.name)
    deleted = deps.ttl_schedules.delete(name)
    deps.runs.delete_environment(request.repository, request.environment.name)
    return {"schedule_name": name, "deleted": deleted}


def destroy_failed(deps, event: TaskEvent) -> dict:
    request = event.run.request
    deps.runs.set_environment_state(request.repository, request.environment.name, EnvironmentState.DESTROY_FAILED)
    return {"state": EnvironmentState.DESTROY_FAILED}


OPERATIONS = {"create": create, "move": move, "delete": delete, "destroy-failed": destroy_failed}


def handle(deps, raw: object) -> dict:
    return dispatch(OPERATIONS, deps, raw, "working a TTL destroy schedule")

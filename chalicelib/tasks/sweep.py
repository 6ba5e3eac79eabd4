"""The safety net, run on a schedule: destroy ephemeral environments whose TTL passed but whose
schedule did not fire, and report locks held too long by runs that no longer run."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

from chalicelib.core.run_records import EnvironmentState
from chalicelib.core.runs import Run
from chalicelib.core.workflows import Workflow

log = logging.getLogger("tfpipe.sweep")
GRACE_SECONDS = 10 * 60  # a schedule fires within its window; give the DESTROY it started time to finish


def _age_seconds(iso: str, now: float) -> float:
    try:
        return now - datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return float("inf")


def _execution_running(deps, execution_arn: str) -> bool | None:
    if not execution_arn:
        return None
    return deps.starter.is_running(execution_arn)


def sweep(deps, now: float | None = None, grace_seconds: int = GRACE_SECONDS) -> dict:
    now = time.time() if now is None else now
    started, failed, running = [], [], []
    destroy_arn = deps.settings.state_machine_arn(Workflow.DESTROY)
    for env in deps.runs.list_environments():
        if env.state != EnvironmentState.ACTIVE or env.destroy_at + grace_seconds > now:
            continue
        run = Run.from_dict(env.destroy_input)
        # The schedule did fire when its DESTROY run is on record (Scheduler names the execution, so
        # Step Functions would not refuse a second one): leave it alone while it still runs.
        record = deps.runs.get(run.run_id)
        if record and _execution_running(deps, record.execution_arn) is not False:
            running.append({"environment": env.environment, "repository": env.repository, "run_id": run.run_id})
            continue
        try:
            result = deps.starter.start(destroy_arn, run)
        except Exception as exc:  # one environment failing to start must not stop the others
            failed.append({"environment": env.environment, "repository": env.repository, "error": str(exc)})
            continue
        started.append({"environment": env.environment, "repository": env.repository, "run_id": run.run_id,
                        "already_started": result.already_started,
                        "expired_at": datetime.fromtimestamp(env.destroy_at, UTC).isoformat()})
    stale = []
    for lock in deps.locker.list():
        if _age_seconds(lock.acquired_at, now) < deps.settings.stale_lock_seconds and not lock.reason:
            continue
        record = deps.runs.get(lock.run_id)
        running = _execution_running(deps, record.execution_arn if record else "")
        if running:
            continue
        stale.append({"environment": lock.environment, "repository": lock.repository, "run_id": lock.run_id,
                      "acquired_at": lock.acquired_at, "reason": lock.reason,
                      "clear_with": f"tfpipe unlock {lock.environment} --repository {lock.repository}"})
    report = {"destroys_started": started, "destroys_not_started": failed, "destroys_running": running,
              "stale_locks": stale}
    if started or failed or stale:
        log.warning("tfpipe sweep: %s", json.dumps(report, sort_keys=True))
    return report

"""What a run's Step Functions execution history tells an operator: the steps it went through, the
Terraform jobs it ran (the last one's log is the one worth reading), the status events its workflow
published (why a failed run failed), and progress lines for `tfpipe run --wait`.

The task Lambdas are named by the contract in statemachines/placeholders.json: deployed as
`{app}-{stage}-{function}`, so a Task state's FunctionName ends with `-<function>`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Line:
    """One thing that happened in a run, in words, and when."""

    at: datetime
    text: str


@dataclass
class Job:
    """A Terraform job a Task state ran: its action, whether it rolled back, and how it ended."""

    state: str
    action: str
    rollback: bool
    started_at: datetime
    result: dict | None = None  # the job's result on success
    error: str | None = None  # `Error: cause` on failure

    def log_key(self, prefix: str) -> str:
        # Where the executor writes the job's log under the run's artifacts prefix
        # (executor/executor/runner.py; rollback jobs under rollback/).
        return f"{prefix}{'rollback/' if self.rollback else ''}{self.action}/log.txt"

    def counts(self) -> str | None:
        if not self.result:
            return None
        if not self.result.get("has_changes", True):
            return "no changes"
        return (f"{self.result.get('add', 0)} to add, {self.result.get('change', 0)} to change, "
                f"{self.result.get('destroy', 0)} to destroy")


# How a changed resource's actions read, as Terraform marks them in a plan.
ACTION_MARKS = {("create",): "+", ("update",): "~", ("delete",): "-", ("delete", "create"): "-/+",
                ("create", "delete"): "+/-", ("read",): "<="}


@dataclass
class History:
    steps: list[dict] = field(default_factory=list)  # {"state", "at"}
    jobs: list[Job] = field(default_factory=list)
    status_events: list[dict] = field(default_factory=list)  # {"at", "state", "phase", "status", "message"}
    lines: list[Line] = field(default_factory=list)

    def plan_summary(self) -> list[str]:
        """What the run's last plan would change (what an approval applies): its counts, then each
        changed resource with Terraform's mark; nothing before a plan finished."""
        plan = next((j for j in reversed(self.jobs) if j.action.startswith("plan") and not j.rollback and j.result),
                    None)
        if plan is None:
            return []
        lines = [f"plan: {plan.counts()}"]
        for resource in plan.result.get("resources") or []:
            actions = tuple(resource.get("actions") or ())
            mark = ACTION_MARKS.get(actions, "/".join(actions) or "?")
            lines.append(f"  {mark} {resource.get('address', '?')}")
        return lines


def as_json(text: object) -> object:
    """A JSON document given as a string, parsed (an execution's output, a Lambda's error); else as is."""
    if not isinstance(text, str) or not text.lstrip().startswith(("{", "[")):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _function(parameters: str) -> tuple[str, dict]:
    """(the task Lambda's function name, without app and stage; its Payload) of a TaskScheduled event."""
    parsed = as_json(parameters)
    if not isinstance(parsed, dict):
        return "", {}
    name = str(parsed.get("FunctionName", "")).rsplit(":", 1)[-1]
    payload = parsed.get("Payload") if isinstance(parsed.get("Payload"), dict) else {}
    return name, payload


def _is(function: str, name: str) -> bool:
    return function == name or function.endswith(f"-{name}")


def _payload(details: dict) -> dict:
    """A lambda:invoke Task's answer ({"Payload": ...}), or a waitForTaskToken task's own output."""
    output = as_json(details.get("output"))
    if isinstance(output, dict) and isinstance(output.get("Payload"), dict):
        return output["Payload"]
    return output if isinstance(output, dict) else {}


def read(events: list[dict], run_id: str) -> History:
    """Walk the history in order; the workflows run one state at a time (no Parallel or Map)."""
    history = History()
    state, function, job = "", "", None
    waited_for_lock = False
    for event in events:
        at, kind = event["timestamp"], event["type"]
        if "stateEnteredEventDetails" in event:
            state = event["stateEnteredEventDetails"]["name"]
            history.steps.append({"state": state, "at": at.isoformat()})
        elif kind == "TaskScheduled":
            function, payload = _function(event["taskScheduledEventDetails"].get("parameters", ""))
            if _is(function, "submit_job"):
                job = Job(state, str(payload.get("action", "")), bool(payload.get("rollback")), at)
                history.jobs.append(job)
                what = "the rollback job" if job.rollback else f"the {job.action} job"
                history.lines.append(Line(at, f"{state}: running {what}"))
        elif kind == "TaskSubmitted" and _is(function, "request_approval"):
            history.lines += [Line(at, line) for line in history.plan_summary()]
            history.lines.append(Line(at, f"waiting for approval: tfpipe approve {run_id} (or tfpipe reject {run_id})"))
        elif kind == "TaskSucceeded":
            payload = _payload(event["taskSucceededEventDetails"])
            if _is(function, "publish_status") and "message" in payload:
                history.status_events.append({"at": at.isoformat(), "state": state, "phase": payload.get("phase"),
                                              "status": payload.get("status"), "message": payload["message"]})
                history.lines.append(Line(at, payload["message"]))
            elif _is(function, "lock") and payload.get("state") == "wait" and not waited_for_lock:
                waited_for_lock = True
                history.lines.append(Line(at, f"{state}: waiting for the lock: {payload.get('message', '')}"))
            elif _is(function, "submit_job") and job is not None:
                job.result = payload
                history.lines.append(Line(at, f"{state}: {job.counts()}"))
        elif kind in ("TaskFailed", "TaskTimedOut") and _is(function, "submit_job") and job is not None:
            details = event.get("taskFailedEventDetails") or event.get("taskTimedOutEventDetails") or {}
            job.error = ": ".join(str(p) for p in (details.get("error"), details.get("cause")) if p)
            history.lines.append(Line(at, f"{state}: the job failed: {job.error}"))
    return history

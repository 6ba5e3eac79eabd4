"""The event every task Lambda receives from a state machine, as a typed object."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.core.errors import FieldError, InvalidRequest
from chalicelib.core.runs import Run


@dataclass(frozen=True)
class TaskEvent:
    run: Run
    state: dict  # the workflow's state: the run's fields plus each step's result (plan, apply, ...)
    params: dict  # the static parameters of the Task state
    execution_arn: str = ""
    started_at: float = 0.0  # the execution's start, seconds since the epoch

    @classmethod
    def parse(cls, event: object, doing: str) -> TaskEvent:
        if not isinstance(event, dict) or not isinstance(event.get("state"), dict):
            raise InvalidRequest(doing, [FieldError("state", event, "the workflow state ($) of a tfpipe run")])
        try:
            run = Run.from_dict(event["state"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidRequest(doing, [FieldError("state", type(exc).__name__,
                                                    "the workflow state ($) of a tfpipe run")]) from None
        execution = event.get("execution") or {}
        params = {k: v for k, v in event.items() if k not in ("state", "execution")}
        return cls(run, event["state"], params, execution.get("Id", ""), _epoch(execution.get("StartTime")))

    def step(self, name: str) -> dict:
        """The result a previous step left in the state (`$.plan`, `$.apply`, ...), or {}."""
        value = self.state.get(name)
        return value if isinstance(value, dict) else {}


def _epoch(value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return 0.0
    return 0.0


def dispatch(operations: dict, deps, raw: object, doing: str):
    """Run the operation the Task state names (`operation`), looked up in the task's table."""
    event = TaskEvent.parse(raw, doing)
    operation = operations.get(event.params.get("operation"))
    if operation is None:
        raise InvalidRequest(doing, [FieldError("operation", event.params.get("operation"), ", ".join(operations))])
    return operation(deps, event)

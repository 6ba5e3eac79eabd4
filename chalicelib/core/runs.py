"""A run: one execution of one workflow for one validated request. Its id is the execution name."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.core.naming import run_id
from chalicelib.core.request import PipelineRequest
from chalicelib.core.workflows import Workflow


@dataclass(frozen=True)
class Run:
    run_id: str
    workflow: Workflow
    request: PipelineRequest
    source: str  # what started it: "webhook:<delivery id>", "dispatch:<request id>", "schedule:<name>"
    trace_header: str | None = None  # X-Ray trace header, so the job's segments join the same trace

    @classmethod
    def start(cls, workflow: Workflow, request: PipelineRequest, key: str, source: str,
              trace_header: str | None = None) -> Run:
        if request.sha is None:
            raise ValueError("a run starts only from a request whose commit is resolved to a sha")
        return cls(run_id(workflow, request.environment.name, request.sha, key), workflow, request,
                   source, trace_header)

    def to_dict(self) -> dict:
        """The execution input of the workflow's state machine."""
        return {"run_id": self.run_id, "workflow": self.workflow.value, "request": self.request.to_dict(),
                "source": self.source, "trace_header": self.trace_header}

    @classmethod
    def from_dict(cls, data: dict) -> Run:
        return cls(data["run_id"], Workflow(data["workflow"]), PipelineRequest.from_dict(data["request"]),
                   data["source"], data.get("trace_header"))

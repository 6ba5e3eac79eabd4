"""moto in server mode on a free loopback port, with Step Functions' real ASL engine turned on.

moto's backends are module-global: every moto server in one process shares one account state.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import requests
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

from tfpipe.local.wsgi_server import BackgroundServer, free_port

__all__ = ["MOTO_CONFIG", "MotoServer", "free_port"]

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True},
               "lambda": {"use_docker": False}, "batch": {"use_docker": False}}


def _keep_task_failure_causes() -> None:
    """moto 5.2's SendTaskFailure handler passes on the error and drops the cause, which AWS keeps: a
    Catch's ResultPath gets {Error, Cause} and the history's TaskFailed event carries both. The
    executor's cause says why a job failed (Terraform's errors, its log), so the stack keeps it too."""
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def send_task_failure(self):
        backend = self.stepfunction_backend
        arguments = {"error": self._get_param("error")}
        if "cause" in inspect.signature(backend.send_task_failure).parameters:  # the ASL engine's backend
            arguments["cause"] = self._get_param("cause")
        backend.send_task_failure(self._get_param("taskToken"), **arguments)
        return EmptyResult()

    StepFunctionResponse.send_task_failure = send_task_failure


class _QuietMotoHandler(MotoRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class MotoServer:
    """`front` optionally wraps moto's WSGI app (the stack's front door), served on the same port."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None,
                 front: Callable[[Callable], Callable] | None = None):
        self.host = host
        _keep_task_failure_causes()
        self.moto_app = DomainDispatcherApplication(create_backend_app)
        app = front(self.moto_app) if front else self.moto_app
        self._server = BackgroundServer(app, host, port or free_port(host), _QuietMotoHandler, name="moto")

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> MotoServer:
        self._server.start()
        self.configure()
        return self

    def configure(self) -> None:
        requests.post(f"{self.url}/moto-api/config", json=MOTO_CONFIG, timeout=10).raise_for_status()

    def reset(self) -> None:
        requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()
        self.configure()

    def stop(self) -> None:
        self._server.stop()

"""The Chalice app's functions as AWS would deploy them, read from the app's own registrations.

Chalice records every `@app.lambda_function`, `@app.on_sqs_message`, `@app.schedule`,
`@app.on_cw_event`, ... in `app.handler_map` (name -> wrapped handler taking `(event, context)`) and
their configuration in `app.pure_lambda_functions` / `app.event_sources`. Deployed, each becomes the
function `<app_name>-<stage>-<name>`; the REST API handler is `<app_name>-<stage>` (chalice's
appgraph naming). Any Chalice app object works, so tests can bring their own.
"""

from __future__ import annotations

import importlib
import json
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalice.app import (
    BaseEventSourceConfig,
    Chalice,
    CloudWatchEventConfig,
    ScheduledEventConfig,
    ScheduleExpression,
    SQSEventConfig,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
API_HANDLER = "api_handler"


@dataclass(frozen=True)
class ChaliceFunction:
    deployed_name: str
    name: str  # the name inside the app (the handler's name, or "api_handler")
    handler: Callable[[Any, Any], Any]
    source: BaseEventSourceConfig | None = None  # the event source declared with it, if any
    serialize: threading.Lock | None = None  # the API handler keeps per-request state on the app


def load_app(spec: Chalice | str = "app:app") -> Chalice:
    """A Chalice object as is, or `module:attribute` imported with the repository root importable."""
    if isinstance(spec, Chalice):
        return spec
    module_name, _, attribute = spec.partition(":")
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    try:
        app = getattr(importlib.import_module(module_name), attribute or "app")
    except (ImportError, AttributeError) as exc:
        raise RuntimeError(f"loading the Chalice app {spec!r}: {exc}") from exc
    if not isinstance(app, Chalice):
        raise RuntimeError(f"loading the Chalice app {spec!r}: {type(app).__name__} is not a Chalice app")
    return app


class ChaliceFunctions:
    def __init__(self, app: Chalice, stage: str = "dev"):
        self.app = app
        self.stage = stage
        sources = {source.name: source for source in app.event_sources}
        prefix = f"{app.app_name}-{stage}"
        self.functions: dict[str, ChaliceFunction] = {}
        for name, handler in app.handler_map.items():
            if name in sources or name in {f.name for f in app.pure_lambda_functions}:
                deployed = f"{prefix}-{name}"
                self.functions[deployed] = ChaliceFunction(deployed, name, handler, sources.get(name))
        if app.routes:
            self.functions[prefix] = ChaliceFunction(prefix, API_HANDLER, app, serialize=threading.Lock())

    def get(self, deployed_name: str) -> ChaliceFunction | None:
        return self.functions.get(deployed_name)

    def _with_source(self, kind: type) -> list[ChaliceFunction]:
        return [f for f in self.functions.values() if isinstance(f.source, kind)]

    def sqs_consumers(self) -> list[ChaliceFunction]:
        return self._with_source(SQSEventConfig)

    def schedules(self) -> list[ChaliceFunction]:
        return self._with_source(ScheduledEventConfig)

    def event_rules(self) -> list[ChaliceFunction]:
        return self._with_source(CloudWatchEventConfig)


def schedule_expression(config: ScheduledEventConfig) -> str:
    expression = config.schedule_expression
    return expression.to_string() if isinstance(expression, ScheduleExpression) else str(expression)


def chalice_app_name(config_path: Path = REPO_ROOT / ".chalice" / "config.json") -> str:
    """The app name resources are named with ({app} in terraform/names.json), as Chalice deploys it."""
    if not config_path.exists():
        return "tfpipe"
    return json.loads(config_path.read_text()).get("app_name", "tfpipe")


def chalice_stage_environment(stage: str, config_path: Path = REPO_ROOT / ".chalice" / "config.json") -> dict[str, str]:
    """The environment Chalice would deploy the app's functions with (top level, then the stage's)."""
    if not config_path.exists():
        return {}
    config = json.loads(config_path.read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config.get("stages", {}).get(stage, {}).get("environment_variables", {}))
    return env

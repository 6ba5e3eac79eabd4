"""EventBridge rules delivering to Lambda targets.

moto matches events against rules and delivers to SQS, Logs and other buses, but raises
NotImplementedError for a Lambda target. While a stack runs, rules' Lambda targets are handed to the
stack's Lambda service (asynchronous invoke, as EventBridge does) and moto delivers the rest.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from moto.events.models import Rule
from moto.events.utils import EventTemplateParser

log = logging.getLogger("tfpipe.local.events")

_ORIGINAL = Rule.send_to_targets
_deliver: Callable[[str, str], None] | None = None
_lock = threading.Lock()


def _is_lambda(target: dict) -> bool:
    return target.get("Arn", "").split(":")[2:3] == ["lambda"]


def target_payload(target: dict, event: dict) -> str:
    """What EventBridge sends a target: Input, InputPath, InputTransformer, or the event itself."""
    if target.get("Input") is not None:
        return target["Input"]
    if target.get("InputPath"):
        from jsonpath_ng.ext import parse

        found = [match.value for match in parse(target["InputPath"]).find(event)]
        return json.dumps(found[0] if found else None)
    transformer = target.get("InputTransformer")
    if transformer:
        parsed = EventTemplateParser.parse(input_template=transformer.get("InputTemplate"),
                                           input_paths_map=transformer.get("InputPathsMap", {}), event=event)
        return parsed if isinstance(parsed, str) else json.dumps(parsed)
    return json.dumps(event)


def as_delivered(event: Any) -> dict:
    """The event as EventBridge delivers it: moto keeps `time` as epoch seconds internally, AWS
    sends an ISO 8601 string (`2026-11-25T04:44:55Z`)."""
    delivered = dict(event)
    if isinstance(delivered.get("time"), int | float):
        delivered["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(delivered["time"]))
    return delivered


def _send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
    deliver = _deliver
    lambda_targets = [t for t in self.targets if _is_lambda(t)]
    if deliver is None or not lambda_targets:
        return _ORIGINAL(self, original_event, transform_input)
    if not self.event_pattern.matches_event(original_event):
        return None
    others = copy.copy(self)
    others.targets = [t for t in self.targets if not _is_lambda(t)]
    if others.targets:
        _ORIGINAL(others, original_event, transform_input)
    for target in lambda_targets:
        try:
            deliver(target["Arn"], target_payload(target, as_delivered(original_event)))
        except Exception:
            log.exception("delivering an event of rule %s to %s", self.name, target["Arn"])
    return None


def install(deliver: Callable[[str, str], None]) -> None:
    global _deliver
    with _lock:
        _deliver = deliver
        Rule.send_to_targets = _send_to_targets


def uninstall() -> None:
    global _deliver
    with _lock:
        _deliver = None
        Rule.send_to_targets = _ORIGINAL

"""The Chalice app's event sources wired on the stack, from the app's own declarations:

  @app.on_sqs_message  -> an SqsPoller per function (batch size, visibility timeout, DLQ redrive)
  @app.schedule        -> the Scheduler fires the function with a "Scheduled Event" on its rate/cron
  @app.on_cw_event     -> the rule `<app>-<stage>-<name>-event` created in moto with the function as
                          its target; event_rules hands matching events to the Lambda service
and EventBridge Scheduler schedules in moto fired into their targets (Step Functions, Lambda, SQS).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tfpipe.local import event_rules
from tfpipe.local.chalice_functions import ChaliceFunction, ChaliceFunctions, schedule_expression
from tfpipe.local.clock import Clock
from tfpipe.local.lambda_service import LambdaService
from tfpipe.local.scheduler import Scheduler, scheduled_event, target_input
from tfpipe.local.sqs_poller import SqsPoller
from tfpipe.local.targets import Targets

log = logging.getLogger("tfpipe.local.event_sources")


class EventSources:
    def __init__(self, functions: ChaliceFunctions, lambda_service: LambdaService, client: Callable[[str], Any],
                 clock: Clock, region: str, account: str):
        self.functions = functions
        self.lambda_service = lambda_service
        self._client = client
        self.clock = clock
        self.region = region
        self.account = account
        self.targets = Targets(client, lambda_service.invoke_async)
        self.scheduler = Scheduler(clock, client("scheduler"), self._deliver_schedule_target)
        self.pollers: list[SqsPoller] = []
        self._prefix = f"{functions.app.app_name}-{functions.stage}"

    def start(self) -> EventSources:
        event_rules.install(self.targets.deliver)
        for function in self.functions.event_rules():
            self._create_rule(function)
        for function in self.functions.schedules():
            self._add_schedule(function)
        sqs = self._client("sqs")
        for function in self.functions.sqs_consumers():
            source = function.source
            self.pollers.append(SqsPoller(sqs, self.lambda_service.invoke, function.deployed_name,
                                          source.queue or source.queue_arn, source.batch_size, self.region).start())
        self.scheduler.start()
        return self

    def stop(self) -> None:
        for poller in self.pollers:
            poller.stop()
        self.pollers.clear()
        self.scheduler.stop()
        event_rules.uninstall()

    def function_arn(self, deployed_name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{deployed_name}"

    def _create_rule(self, function: ChaliceFunction) -> None:
        events = self._client("events")
        name = f"{self._prefix}-{function.name}-event"
        events.put_rule(Name=name, EventPattern=json.dumps(function.source.event_pattern), State="ENABLED")
        events.put_targets(Rule=name, Targets=[{"Id": "1", "Arn": self.function_arn(function.deployed_name)}])

    def _add_schedule(self, function: ChaliceFunction) -> None:
        rule_arn = f"arn:aws:events:{self.region}:{self.account}:rule/{self._prefix}-{function.name}-event"

        def fire(moment: datetime) -> None:
            event = scheduled_event(rule_arn, self.region, self.account, moment)
            self.lambda_service.invoke_async(function.deployed_name, json.dumps(event).encode())

        self.scheduler.add(function.deployed_name, schedule_expression(function.source), fire)

    def _deliver_schedule_target(self, target: dict, moment: datetime) -> None:
        self.targets.deliver(target["Arn"], target_input(target))

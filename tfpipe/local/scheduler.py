"""Schedules fired at their time: the Chalice app's `@app.schedule` functions and EventBridge
Scheduler schedules found in moto (`at()`, `rate()`, `cron()`), delivered to their targets.

moto stores Scheduler schedules but never fires them; this does, polling moto a few times a second
so that a schedule created while the stack runs fires within about a tick of its time. A one-time
schedule whose ActionAfterCompletion is DELETE is deleted after it fires, as EventBridge Scheduler does.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from tfpipe.local.clock import Clock
from tfpipe.local.schedule_expressions import ScheduleExpressionError, next_fire

log = logging.getLogger("tfpipe.local.scheduler")


@dataclass
class Entry:
    key: str
    expression: str
    timezone: str
    created: datetime
    fire: Callable[[datetime], None]
    version: Any = None  # moto's LastModificationDate: a changed schedule is re-read
    start: datetime | None = None
    end: datetime | None = None
    next_at: datetime | None = None
    done: bool = False

    def plan(self, now: datetime) -> None:
        after = now
        if self.expression.startswith("at("):
            after = self.created - timedelta(days=3660)  # a past at() not yet fired fires now
        if self.start and self.start > after:
            after = self.start - timedelta(microseconds=1)
        try:
            self.next_at = next_fire(self.expression, after, self.created, self.timezone)
        except ScheduleExpressionError as exc:
            log.warning("schedule %s: %s", self.key, exc)
            self.next_at = None
        if self.next_at is None or (self.end and self.next_at > self.end):
            self.done = True


def scheduled_event(rule_arn: str, region: str, account: str, moment: datetime) -> dict:
    """What a scheduled EventBridge rule delivers to its Lambda target."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": account, "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region,
            "resources": [rule_arn], "detail": {}}


class Scheduler:
    def __init__(self, clock: Clock, scheduler_client: Any, deliver: Callable[[dict, datetime], None],
                 tick_seconds: float = 0.2):
        self.clock = clock
        self._client = scheduler_client
        self._deliver = deliver  # fires a Scheduler target: (Target dict, scheduled time)
        self.tick_seconds = tick_seconds
        self._static: list[Entry] = []
        self._schedules: dict[str, Entry] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tfpipe-scheduler", daemon=True)
        self._workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tfpipe-scheduler-fire")
        self._warned = False

    def add(self, key: str, expression: str, fire: Callable[[datetime], None]) -> None:
        """A fixed schedule (the Chalice app's @app.schedule), counted from now."""
        self._static.append(Entry(key, expression, "UTC", self.clock.now(), fire))

    def start(self) -> Scheduler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._workers.shutdown(wait=True, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick")
            self._stop.wait(self.tick_seconds)

    def tick(self) -> None:
        self._sync()
        now = self.clock.now()
        for entry in [*self._static, *self._schedules.values()]:
            if entry.done:
                continue
            if entry.next_at is None:
                entry.plan(now)
            if entry.next_at is not None and not entry.done and entry.next_at <= now:
                moment = entry.next_at
                self._workers.submit(self._fire, entry, moment)
                if entry.expression.startswith("at("):
                    entry.done = True  # a one-time schedule fires once
                else:
                    entry.plan(max(now, moment))

    def _fire(self, entry: Entry, moment: datetime) -> None:
        try:
            entry.fire(moment)
        except Exception:
            log.exception("firing schedule %s", entry.key)

    # -- EventBridge Scheduler schedules in moto --------------------------------------------------
    def _sync(self) -> None:
        try:
            summaries = []
            for page in self._client.get_paginator("list_schedules").paginate():
                summaries.extend(page["Schedules"])
        except ClientError as exc:
            if not self._warned:
                log.warning("listing schedules: %s", exc)
                self._warned = True
            return
        seen = set()
        for summary in summaries:
            key = summary["Arn"]
            seen.add(key)
            known = self._schedules.get(key)
            if known is not None and known.version == summary.get("LastModificationDate"):
                continue
            if summary.get("State", "ENABLED") != "ENABLED":
                self._schedules.pop(key, None)
                continue
            try:
                schedule = self._client.get_schedule(Name=summary["Name"], GroupName=summary["GroupName"])
            except ClientError:
                continue  # deleted between list and get
            self._schedules[key] = Entry(
                key, schedule["ScheduleExpression"], schedule.get("ScheduleExpressionTimezone") or "UTC",
                schedule.get("LastModificationDate") or self.clock.now(),
                lambda moment, s=schedule: self._fire_schedule(s, moment),
                version=summary.get("LastModificationDate"), start=schedule.get("StartDate"),
                end=schedule.get("EndDate"))
        for key in set(self._schedules) - seen:
            del self._schedules[key]

    def _fire_schedule(self, schedule: dict, moment: datetime) -> None:
        log.info("schedule %s/%s fired (%s)", schedule["GroupName"], schedule["Name"], schedule["ScheduleExpression"])
        self._deliver(schedule["Target"], moment)
        if schedule["ScheduleExpression"].startswith("at(") and schedule.get("ActionAfterCompletion") == "DELETE":
            try:
                self._client.delete_schedule(Name=schedule["Name"], GroupName=schedule["GroupName"])
            except ClientError as exc:
                log.warning("deleting completed schedule %s: %s", schedule["Name"], exc)


def target_input(target: dict) -> str:
    raw = target.get("Input")
    return raw if raw is not None else json.dumps({})

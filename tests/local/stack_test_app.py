"""A Chalice app with test-only handlers, so the stack's paths are proven without touching app.py.

Its handlers are real Chalice registrations: the stack deploys them under Chalice's names
(`tfpipe-test-<name>`) exactly as it does the pipeline's own app.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from chalice import Chalice, Rate

# configure_logs=False as app.py: Chalice would otherwise set the `tfpipe` logger (its app name) to ERROR
# with a stdout handler, for every later test in the same process.
app = Chalice(app_name="tfpipe", configure_logs=False)

WORK_QUEUE = "tfpipe-test-work"
PARTIAL_QUEUE = "tfpipe-test-partial"


class Recorder:
    """What the handlers saw (they run in the test process), with a way to wait for it."""

    def __init__(self):
        self._seen: dict[str, list] = defaultdict(list)
        self._changed = threading.Condition()

    def record(self, name: str, item) -> None:
        with self._changed:
            self._seen[name].append(item)
            self._changed.notify_all()

    def seen(self, name: str) -> list:
        with self._changed:
            return list(self._seen[name])

    def wait_for(self, name: str, count: int = 1, timeout: float = 10) -> list:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._seen[name]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{name}: saw {len(self._seen[name])} of {count} within {timeout}s")
                self._changed.wait(left)
            return list(self._seen[name])

    def clear(self) -> None:
        with self._changed:
            self._seen.clear()


recorder = Recorder()


class DeployRefused(Exception):
    pass


@app.lambda_function(name="greet")
def greet(event, context):
    recorder.record("greet", event)
    return {"greeting": f"hello {event.get('who', 'nobody')}", "function": context.function_name}


@app.lambda_function(name="refuse")
def refuse(event, context):
    raise DeployRefused(f"refusing to deploy {event.get('environment', '?')}")


@app.lambda_function(name="flaky")
def flaky(event, context):
    recorder.record("flaky", event)
    raise RuntimeError("not today")


@app.on_sqs_message(queue=WORK_QUEUE, batch_size=1)
def work(event):
    for record in event:
        recorder.record("work", record.body)
        if "fail" in record.body:
            raise RuntimeError(f"cannot process {record.body}")


@app.on_sqs_message(queue=PARTIAL_QUEUE, batch_size=10)
def partial(event):
    failures = []
    for record in event:
        recorder.record("partial", record.body)
        if "fail" in record.body:
            failures.append({"itemIdentifier": record.to_dict()["messageId"]})
    return {"batchItemFailures": failures}


@app.schedule(Rate(1, unit=Rate.MINUTES))
def every_minute(event):
    recorder.record("every_minute", event.to_dict())


@app.on_cw_event({"source": ["tfpipe.test"], "detail-type": ["Ping"]})
def on_ping(event):
    recorder.record("on_ping", event.to_dict())


@app.route("/webhooks/github", methods=["POST"], content_types=["application/json"])
def webhook():
    request = app.current_request
    recorder.record("webhook", {"headers": {k.lower(): v for k, v in request.headers.items()},
                                "body": request.raw_body.decode()})
    return {"accepted": True}


@app.route("/ping")
def ping():
    return {"pong": True}

"""A Chalice app with test-only handlers, so the stack's paths are proven without touching app.py.

Its handlers are real Chalice registrations: the stack deploys them under Chalice's names
(`tfpipe-test-<name>`) exactly as it does the pipeline's own app.
"""

from __future__ import annotations

import threading

from chalice import Chalice

app = Chalice(app_name="tfpipe")

# What the handlers saw, for the tests to inspect (handlers run in the test process).
seen: list[dict] = []
seen_event = threading.Event()


class DeployRefused(Exception):
    pass


@app.lambda_function(name="greet")
def greet(event, context):
    seen.append(event)
    seen_event.set()
    return {"greeting": f"hello {event.get('who', 'nobody')}", "function": context.function_name}


@app.lambda_function(name="refuse")
def refuse(event, context):
    raise DeployRefused(f"refusing to deploy {event.get('environment', '?')}")


@app.route("/ping")
def ping():
    return {"pong": True}

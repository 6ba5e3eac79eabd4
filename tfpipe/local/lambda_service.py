"""The local Lambda service: AWS Lambda's Invoke wire API, running real function code.

`POST /2015-03-31/functions/{name}/invocations` with `X-Amz-Invocation-Type` RequestResponse (the
default), Event (202, run in the background) or DryRun (204). A function that raises answers 200
with `X-Amz-Function-Error: Unhandled` and the Python runtime's error payload
`{errorMessage, errorType, requestId, stackTrace}`, which is what Step Functions' Catch reads; a
failed Event invocation is retried twice, as Lambda does.
Functions are looked up, in order, among the Chalice app's functions (run in-process) and any
other function sources (e.g. code uploaded to moto). Every other Lambda API call goes to moto.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

log = logging.getLogger("tfpipe.local.lambda")

_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
_ARN = re.compile(r"^(?:arn:aws[\w-]*:lambda:[\w-]+:)?(?:\d{12}:)?(?:function:)?(?P<name>[\w-]+)(?::[\w$-]+)?$")
DEFAULT_TIMEOUT_SECONDS = 900
ASYNC_RETRY_DELAYS = (60.0, 120.0)  # Lambda's default: two retries of a failed asynchronous invocation


@dataclass
class Outcome:
    payload: bytes
    error: str | None = None  # "Unhandled" when the function raised


class Function(Protocol):
    name: str

    def invoke(self, payload: bytes, context: LambdaContext) -> Outcome: ...


class FunctionSource(Protocol):
    def find(self, name: str) -> Function | None: ...


class LambdaContext:
    """The subset of the Python runtime's context object that handlers use."""

    def __init__(self, function_name: str, region: str, account: str, timeout: int = DEFAULT_TIMEOUT_SECONDS):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account}:function:{function_name}"
        self.memory_limit_in_mb = 128
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def error_payload(exc: BaseException, request_id: str) -> bytes:
    return json.dumps({
        "errorMessage": str(exc), "errorType": type(exc).__name__, "requestId": request_id,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }).encode()


class InProcessFunction:
    """A Python handler called in this process, the way the Lambda Python runtime calls it."""

    def __init__(self, name: str, handler: Callable[[Any, Any], Any], serialize: Any = None):
        self.name = name
        self._handler = handler
        self._serialize = serialize

    def invoke(self, payload: bytes, context: LambdaContext) -> Outcome:
        try:
            event = json.loads(payload or b"{}")
            if self._serialize is not None:
                with self._serialize:
                    result = self._handler(event, context)
            else:
                result = self._handler(event, context)
            return Outcome(json.dumps(result).encode())
        except Exception as exc:
            log.warning("function %s raised %s: %s", self.name, type(exc).__name__, exc)
            return Outcome(error_payload(exc, context.aws_request_id), error="Unhandled")


class ChaliceSource:
    def __init__(self, functions: Any):  # a ChaliceFunctions
        self._functions = functions

    def find(self, name: str) -> Function | None:
        found = self._functions.get(name)
        return InProcessFunction(name, found.handler, found.serialize) if found else None


def function_name(path_part: str) -> str | None:
    match = _ARN.match(unquote(path_part))
    return match["name"] if match else None


def _aws_error(status: int, code: str, message: str) -> Response:
    return Response(json.dumps({"Type": "User", "message": message}), status=status,
                    headers={"x-amzn-ErrorType": code, "Content-Type": "application/json"})


class LambdaService:
    """WSGI app: Invoke answered here, anything else passed to `fallback` (moto)."""

    def __init__(self, sources: Iterable[FunctionSource], fallback: Callable, region: str = "us-east-1",
                 account: str = "123456789012", async_workers: int = 8):
        self.sources = list(sources)
        self.fallback = fallback
        self.region = region
        self.account = account
        self._async = ThreadPoolExecutor(max_workers=async_workers, thread_name_prefix="tfpipe-lambda-event")
        self.retry_delays: tuple[float, ...] = ASYNC_RETRY_DELAYS
        self._timers: list[threading.Timer] = []
        self._timers_lock = threading.Lock()
        self._closed = threading.Event()

    def find(self, name: str) -> Function | None:
        for source in self.sources:
            found = source.find(name)
            if found is not None:
                return found
        return None

    def invoke(self, name: str, payload: bytes) -> Outcome:
        """Synchronous invoke from Python (the event sources use this)."""
        function = self.find(name)
        if function is None:
            raise LookupError(f"invoking {name}: no such function on the local Lambda service")
        return function.invoke(payload, LambdaContext(name, self.region, self.account))

    def invoke_async(self, name: str, payload: bytes) -> None:
        self._async.submit(self._run_event, name, payload, 0)

    def _run_event(self, name: str, payload: bytes, attempt: int) -> None:
        try:
            outcome = self.invoke(name, payload)
        except Exception:
            log.exception("asynchronous invocation of %s", name)
            return
        if not outcome.error:
            return
        if attempt >= len(self.retry_delays) or self._closed.is_set():
            log.warning("asynchronous invocation of %s failed for good: %s", name, outcome.payload[:500])
            return
        # Lambda retries a failed asynchronous invocation twice, after about 1 and 2 minutes.
        delay = self.retry_delays[attempt]
        log.warning("asynchronous invocation of %s failed; retrying in %.0f s: %s", name, delay, outcome.payload[:500])
        timer = threading.Timer(delay, self._retry, args=(name, payload, attempt + 1))
        timer.daemon = True
        with self._timers_lock:
            self._timers.append(timer)
        timer.start()

    def _retry(self, name: str, payload: bytes, attempt: int) -> None:
        if not self._closed.is_set():
            self._async.submit(self._run_event, name, payload, attempt)

    def close(self) -> None:
        self._closed.set()
        with self._timers_lock:
            for timer in self._timers:
                timer.cancel()
        self._async.shutdown(wait=False, cancel_futures=True)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        match = _INVOKE_PATH.match(environ.get("PATH_INFO", ""))
        if not match or environ.get("REQUEST_METHOD") != "POST":
            return self.fallback(environ, start_response)
        request = Request(environ)
        name = function_name(match["name"])
        function = self.find(name) if name else None
        if function is None:
            response = _aws_error(404, "ResourceNotFoundException",
                                  f"Function not found: arn:aws:lambda:{self.region}:{self.account}:function:{name}")
            return response(environ, start_response)
        kind = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        payload = request.get_data()
        if kind == "DryRun":
            response = Response(status=204)
        elif kind == "Event":
            self.invoke_async(function.name, payload)
            response = Response(status=202)
        elif kind == "RequestResponse":
            outcome = function.invoke(payload, LambdaContext(function.name, self.region, self.account))
            response = Response(outcome.payload, status=200, content_type="application/json",
                                headers={"X-Amz-Executed-Version": "$LATEST"})
            if outcome.error:
                response.headers["X-Amz-Function-Error"] = outcome.error
        else:
            response = _aws_error(400, "InvalidParameterValueException", f"unknown invocation type {kind!r}")
        return response(environ, start_response)

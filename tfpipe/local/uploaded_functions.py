"""Functions whose code was uploaded to moto (CreateFunction with a zip or S3 object; the sample app
applied by Terraform), run in a subprocess with their configured environment, handler and timeout.

moto stores the code but cannot run it without Docker; moto runs in this process, so its Lambda
backend is read directly for the code bytes and configuration.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

from moto.awslambda.utils import get_backend

from tfpipe.local.lambda_service import LambdaContext, Outcome

log = logging.getLogger("tfpipe.local.uploaded")
RUNTIME = Path(__file__).with_name("lambda_runtime.py")


def _error(message: str, kind: str) -> Outcome:
    return Outcome(json.dumps({"errorMessage": message, "errorType": kind}).encode(), error="Unhandled")


class Invocations:
    """The invocations running now, each a process group, so a stopping stack leaves none behind."""

    def __init__(self):
        self._running: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self._closed = False

    def run(self, argv: list[str], payload: bytes, cwd: Path, env: dict[str, str], timeout: float) -> tuple[int, bytes]:
        """(exit code, output); raises subprocess.TimeoutExpired (the group killed) after `timeout`."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the local Lambda service is stopping")
            process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, start_new_session=True)
            self._running.add(process)
        try:
            output, _ = process.communicate(payload, timeout=timeout)
            return process.returncode, output
        except subprocess.TimeoutExpired:
            _kill_group(process)
            output, _ = process.communicate()
            raise subprocess.TimeoutExpired(argv, timeout, output=output) from None
        finally:
            with self._lock:
                self._running.discard(process)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            running = list(self._running)
        for process in running:
            _kill_group(process)


def _kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


class SubprocessFunction:
    def __init__(self, name: str, handler: str, runtime: str, code_dir: Path, environment: Mapping[str, str],
                 timeout: int, memory: int, on_log: Callable[[str, str], None],
                 invocations: Invocations | None = None):
        self.name = name
        self.handler = handler
        self.runtime = runtime
        self.code_dir = code_dir
        self.environment = dict(environment)
        self.timeout = timeout
        self.memory = memory
        self._on_log = on_log
        self._invocations = invocations or Invocations()

    def invoke(self, payload: bytes, context: LambdaContext) -> Outcome:
        if not (self.runtime or "").startswith("python"):
            return _error(f"runtime {self.runtime!r} is not run locally (only python*)", "Runtime.InvalidRuntime")
        env = {**self.environment, "AWS_LAMBDA_FUNCTION_NAME": self.name, "_HANDLER": self.handler,
               "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory), "LAMBDA_TASK_ROOT": str(self.code_dir),
               "TFPIPE_LOCAL_TIMEOUT": str(self.timeout), "TFPIPE_LOCAL_REQUEST_ID": context.aws_request_id,
               "TFPIPE_LOCAL_FUNCTION_ARN": context.invoked_function_arn}
        with tempfile.TemporaryDirectory(prefix="tfpipe-invoke-") as scratch:
            result = Path(scratch) / "result.json"
            try:
                code, output = self._invocations.run([sys.executable, str(RUNTIME), self.handler, str(result)],
                                                     payload, self.code_dir, env, self.timeout)
            except subprocess.TimeoutExpired as exc:
                self._on_log(self.name, (exc.output or b"").decode(errors="replace"))
                return _error(f"Task timed out after {self.timeout:.2f} seconds", "Sandbox.Timedout")
            self._on_log(self.name, output.decode(errors="replace"))
            if not result.exists():
                return _error(f"Runtime exited with error: exit status {code}", "Runtime.ExitError")
            outcome = json.loads(result.read_text())
        if "error" in outcome:
            return Outcome(json.dumps(outcome["error"]).encode(), error="Unhandled")
        return Outcome(json.dumps(outcome["result"]).encode())


class UploadedSource:
    """Finds functions in moto's Lambda backends, the stack's own account first, then every other account
    moto holds (a preview's functions live in the preview account); unpacks each code version once under
    `work_dir`. A function of another account runs with credentials of its own role there
    (`role_credentials`), so what it calls lands in its account, as in AWS."""

    def __init__(self, account: str, region: str, work_dir: Path, base_env: Callable[[], Mapping[str, str]],
                 on_log: Callable[[str, str], None] | None = None,
                 role_credentials: Callable[[str], Mapping[str, str]] | None = None):
        self.account = account
        self.region = region
        self.work_dir = Path(work_dir)
        self.base_env = base_env
        self.on_log = on_log or (lambda name, text: log.debug("%s: %s", name, text))
        self.role_credentials = role_credentials
        self.invocations = Invocations()

    def _backends(self) -> list[tuple[str, object]]:
        """(account, Lambda backend) for this account, then the others moto has seen (follows moto's
        use_docker config)."""
        from moto.core.models import default_user_config

        if default_user_config.get("lambda", {}).get("use_docker", True) is False:
            from moto.awslambda_simple.models import lambda_simple_backends as backends
        else:
            from moto.awslambda.models import lambda_backends as backends
        others = [account for account in list(backends.keys()) if account != self.account]
        return [(account, get_backend(account, self.region)) for account in [self.account, *others]]

    def _function(self, name: str):
        for account, backend in self._backends():
            with contextlib.suppress(Exception):  # moto's UnknownFunctionException and friends: not in this account
                return account, backend.get_function(name)
        return None, None

    def find(self, name: str) -> SubprocessFunction | None:
        account, function = self._function(name)
        if function is None:
            return None
        code_dir = self.work_dir / name / (function.code_sha_256 or "empty").replace("/", "_")[:24]
        if not code_dir.exists():
            # A staging folder of its own per caller: two first invocations at once (a request and the
            # health check) both unpack, and the one that renames second keeps the first's copy.
            code_dir.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=code_dir.name + ".", suffix=".partial", dir=code_dir.parent))
            with zipfile.ZipFile(io.BytesIO(function.code_bytes)) as archive:
                archive.extractall(staging)
            try:
                staging.rename(code_dir)
            except OSError:
                if not code_dir.exists():
                    raise
                shutil.rmtree(staging, ignore_errors=True)
        env = dict(self.base_env())
        if account != self.account and self.role_credentials is not None:
            env.update(self.role_credentials(function.role))
        env.update(function.environment_vars or {})
        return SubprocessFunction(name, function.handler or "", function.run_time or "", code_dir, env,
                                  int(function.timeout or 3), int(getattr(function, "memory_size", 128) or 128),
                                  self.on_log, self.invocations)

    def close(self) -> None:
        """Kill the invocations still running (and whatever they started)."""
        self.invocations.close()

    def function_urls(self) -> dict[str, str]:
        """Function name -> its function URL as moto answers it (https://<id>.lambda-url.<region>.on.aws)."""
        urls = {}
        for _, backend in reversed(self._backends()):  # this account's last: its names win
            for function in backend._lambdas.latest():
                config = getattr(function, "url_config", None)
                if config is not None:
                    urls[function.function_name] = config.url
        return urls

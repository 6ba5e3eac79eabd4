"""Functions whose code was uploaded to moto (CreateFunction with a zip or S3 object; the sample app
applied by Terraform), run in a subprocess with their configured environment, handler and timeout.

moto stores the code but cannot run it without Docker; moto runs in this process, so its Lambda
backend is read directly for the code bytes and configuration.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

from moto.awslambda.utils import get_backend

from tfpipe.local.lambda_service import LambdaContext, Outcome

log = logging.getLogger("tfpipe.local.uploaded")
RUNTIME = Path(__file__).with_name("lambda_runtime.py")


def _error(message: str, kind: str) -> Outcome:
    return Outcome(json.dumps({"errorMessage": message, "errorType": kind}).encode(), error="Unhandled")


class SubprocessFunction:
    def __init__(self, name: str, handler: str, runtime: str, code_dir: Path, environment: Mapping[str, str],
                 timeout: int, memory: int, on_log: Callable[[str, str], None]):
        self.name = name
        self.handler = handler
        self.runtime = runtime
        self.code_dir = code_dir
        self.environment = dict(environment)
        self.timeout = timeout
        self.memory = memory
        self._on_log = on_log

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
                done = subprocess.run([sys.executable, str(RUNTIME), self.handler, str(result)], input=payload,
                                      cwd=self.code_dir, env=env, capture_output=True, timeout=self.timeout)
            except subprocess.TimeoutExpired as exc:
                self._on_log(self.name, (exc.stdout or b"").decode(errors="replace"))
                return _error(f"Task timed out after {self.timeout:.2f} seconds", "Sandbox.Timedout")
            self._on_log(self.name, (done.stdout + done.stderr).decode(errors="replace"))
            if not result.exists():
                return _error(f"Runtime exited with error: exit status {done.returncode}", "Runtime.ExitError")
            outcome = json.loads(result.read_text())
        if "error" in outcome:
            return Outcome(json.dumps(outcome["error"]).encode(), error="Unhandled")
        return Outcome(json.dumps(outcome["result"]).encode())


class UploadedSource:
    """Finds functions in moto's Lambda backend; unpacks each code version once under `work_dir`."""

    def __init__(self, account: str, region: str, work_dir: Path, base_env: Callable[[], Mapping[str, str]],
                 on_log: Callable[[str, str], None] | None = None):
        self.account = account
        self.region = region
        self.work_dir = Path(work_dir)
        self.base_env = base_env
        self.on_log = on_log or (lambda name, text: log.debug("%s: %s", name, text))

    def _backend(self):
        return get_backend(self.account, self.region)  # follows moto's use_docker config

    def find(self, name: str) -> SubprocessFunction | None:
        try:
            function = self._backend().get_function(name)
        except Exception:  # moto's UnknownFunctionException and friends
            return None
        code_dir = self.work_dir / name / (function.code_sha_256 or "empty").replace("/", "_")[:24]
        if not code_dir.exists():
            staging = code_dir.with_suffix(".partial")
            staging.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(io.BytesIO(function.code_bytes)) as archive:
                archive.extractall(staging)
            staging.rename(code_dir)
        env = {**self.base_env(), **(function.environment_vars or {})}
        return SubprocessFunction(name, function.handler or "", function.run_time or "", code_dir, env,
                                  int(function.timeout or 3), int(getattr(function, "memory_size", 128) or 128),
                                  self.on_log)

    def function_urls(self) -> dict[str, str]:
        """Function name -> its function URL as moto answers it (https://<id>.lambda-url.<region>.on.aws)."""
        urls = {}
        for function in self._backend()._lambdas.latest():
            config = getattr(function, "url_config", None)
            if config is not None:
                urls[function.function_name] = config.url
        return urls

"""The Terraform CLI, run as argument lists (never a shell) with a timeout per call.

Output streams line by line into the job log (masked there). An interrupt or a timeout is forwarded
to Terraform as a single SIGINT, which makes it stop starting new operations, write the state it has,
and release the state lock; only when it has not exited after the grace period does a second
interrupt (Terraform's "exit now") and then SIGKILL follow.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from chalicelib.core.failure_cause import most_telling
from chalicelib.core.job import JobErrorClass
from executor.diagnostics import terraform_errors
from executor.failures import JobFailure
from executor.interrupt import Interrupt
from executor.isolation import work_env
from executor.joblog import JobLog

MIN_VERSION = (1, 10, 0)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class TfRun:
    args: list[str]
    returncode: int
    output: str  # stdout+stderr as logged (stdout only when it went to a file)
    seconds: float
    interrupted: bool = False
    timed_out: bool = False
    stop_reason: str = ""  # why it was interrupted
    timeout: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.interrupted and not self.timed_out

    def check(self, error: JobErrorClass, doing: str) -> None:
        """JobFailure(error) naming what was being done and Terraform's first errors, unless it succeeded."""
        if self.interrupted:
            raise JobFailure(JobErrorClass.INTERRUPTED, f"{doing}: {self.stop_reason}; terraform stopped "
                             f"(exit {self.returncode}) after saving state and releasing its lock")
        if self.timed_out:
            raise JobFailure(JobErrorClass.TIMEOUT, f"{doing}: exceeded the phase timeout of {self.timeout:g}s")
        if self.returncode != 0:
            diagnostics = terraform_errors(self.output)
            detail = "; ".join(f"Error: {d.summary}" + (f" ({d.location})" if d.location else "")
                               for d in most_telling(diagnostics)[:3]) or self.output.strip()[-500:]
            raise JobFailure(error, f"{doing} failed (exit {self.returncode}): {detail}", diagnostics)


class Terraform:
    def __init__(self, binary: str, cwd: Path, env: dict[str, str], log: JobLog, interrupt: Interrupt,
                 grace_seconds: float, spawn: dict | None = None):
        self.binary = binary
        self.spawn = dict(spawn or {})  # who runs terraform (executor.isolation.WorkUser.spawn_kwargs)
        self.cwd = Path(cwd)
        self.env = env
        self._log = log
        self._interrupt = interrupt
        self._grace = grace_seconds

    def run(self, args: list[str], timeout: float, stdout_file: Path | None = None, quiet: bool = False) -> TfRun:
        """Run `terraform <args>`. With `stdout_file`, stdout goes there (JSON documents) and only
        stderr is logged; `quiet` keeps the lines out of the log (they are still returned)."""
        argv = [self.binary, *args]
        self._log.event("terraform " + " ".join(args))
        started = time.monotonic()
        out_handle = open(stdout_file, "wb") if stdout_file else None  # noqa: SIM115 - closed below
        try:
            # A session of its own: a signal sent to our process group (a local `kill -TERM -<pgid>`)
            # must not reach Terraform directly; it gets exactly the one interrupt we forward.
            proc = subprocess.Popen(argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                                    stdout=out_handle or subprocess.PIPE,
                                    stderr=subprocess.PIPE if out_handle else subprocess.STDOUT,
                                    start_new_session=True, **self.spawn)
        except OSError as exc:
            if out_handle:
                out_handle.close()
            return TfRun(args, 127, f"starting terraform: {exc}", 0.0)
        lines: list[str] = []
        reader = threading.Thread(target=self._pump, args=(proc.stderr if out_handle else proc.stdout, lines, quiet),
                                  daemon=True)
        reader.start()
        interrupted = timed_out = False
        deadline = started + timeout
        while proc.poll() is None:
            if not interrupted and not timed_out:
                if self._interrupt.requested:
                    interrupted = True
                elif time.monotonic() > deadline:
                    timed_out = True
                if interrupted or timed_out:
                    why = self._interrupt.reason if interrupted else f"phase timeout of {timeout:.0f}s"
                    self._log.event(f"{why}: interrupting terraform and waiting up to {self._grace:.0f}s "
                                    "for it to save state and release the lock", level="warning")
                    self._stop(proc)
            time.sleep(0.05)
        if interrupted or timed_out:
            _kill_session(proc.pid)
        reader.join(timeout=5)
        if out_handle:
            out_handle.close()
        seconds = time.monotonic() - started
        return TfRun(args, proc.returncode, "".join(lines), seconds, interrupted, timed_out,
                     self._interrupt.reason if interrupted else "", timeout)

    def _stop(self, proc: subprocess.Popen) -> None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(self._grace)
            return
        except subprocess.TimeoutExpired:
            pass
        self._log.event("terraform did not stop in time: interrupting again (it exits at once)", level="error")
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(min(10.0, self._grace))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its session: terraform and the provider plugins it started
            proc.wait()

    def _pump(self, stream, lines: list[str], quiet: bool) -> None:
        for raw in iter(stream.readline, b""):
            line = _ANSI.sub("", raw.decode(errors="replace"))
            lines.append(line)
            if not quiet:
                self._log.terraform_line(line)
        stream.close()

    def version(self) -> tuple[int, int, int]:
        result = subprocess.run([self.binary, "version"], capture_output=True, text=True, timeout=60,
                                env=self.env, cwd=self.cwd, **self.spawn)
        match = re.search(r"Terraform v(\d+)\.(\d+)\.(\d+)", result.stdout)
        if not match:
            raise ValueError(f"reading the terraform version: unexpected output {result.stdout[:200]!r}")
        return tuple(int(p) for p in match.groups())  # type: ignore[return-value]


def _kill_session(session_id: int) -> None:
    """What a stopped Terraform leaves behind in its session (a provisioner's `sleep` whose shell it
    killed) must not outlive the job."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(session_id, signal.SIGKILL)


def base_env(environ: dict[str, str], credentials: dict[str, str], workspace: str,
             variables: dict[str, str]) -> dict[str, str]:
    """Terraform's environment: the allow-listed part of ours (never the job's own credentials or
    contract), plus the target role's credentials, the workspace and the `TF_VAR_`s."""
    env = work_env(environ)
    env.update(credentials)
    env.update({"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"})
    env.pop("TF_WORKSPACE", None)
    if workspace != "default":
        env["TF_WORKSPACE"] = workspace
    env.update({f"TF_VAR_{name}": value for name, value in variables.items()})
    return env

"""The build step: run the repository's build commands, upload what they produce under
`<prefix>build/`, and name the uploads to Terraform as variables (see `repo_config`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from chalicelib.core.job import JobErrorClass
from executor.failures import JobFailure
from executor.isolation import read_untrusted
from executor.repo_config import RepoConfig


def run_build(config: RepoConfig, checkout: Path, env: dict[str, str], log, interrupt, store,
              prefix: str, spawn: dict | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """Runs every step (as the work user when `spawn` names one: executor.isolation); returns
    (Terraform variables, artifact keys by step name)."""
    variables: dict[str, str] = {}
    artifacts: dict[str, str] = {}
    for step in config.build:
        if interrupt.requested:
            raise JobFailure(JobErrorClass.INTERRUPTED, f"building {step.name}: {interrupt.reason}")
        doing = f"building {step.name} ({' '.join(step.command)})"
        log.event(doing)
        try:
            result = subprocess.run(step.command, cwd=checkout, env=env, capture_output=True, text=True,
                                    timeout=step.timeout_seconds, stdin=subprocess.DEVNULL, **(spawn or {}))
        except subprocess.TimeoutExpired:
            raise JobFailure(JobErrorClass.BUILD_FAILED, f"{doing}: timed out after {step.timeout_seconds}s") from None
        except OSError as exc:
            raise JobFailure(JobErrorClass.BUILD_FAILED, f"{doing}: {exc}") from None
        for line in (result.stdout + result.stderr).splitlines():
            log.event(line, source="build")
        if result.returncode != 0:
            raise JobFailure(JobErrorClass.BUILD_FAILED, f"{doing}: exited {result.returncode}")
        if step.output is None:
            continue
        path = Path(checkout) / step.output
        try:  # the step may have left a link (to the runner's /proc/<pid>/environ) instead of a file
            data = read_untrusted(Path(checkout), step.output)
        except OSError as exc:
            raise JobFailure(JobErrorClass.BUILD_FAILED, f"{doing}: it did not produce {step.output} ({exc})") from None
        key = f"{prefix}build/{step.name}/{path.name}"
        store.put_bytes(key, data)
        artifacts[f"build/{step.name}"] = key
        if step.variable:
            variables[step.variable] = key
    if config.artifacts_bucket_variable:
        variables[config.artifacts_bucket_variable] = store.bucket
    return variables, artifacts

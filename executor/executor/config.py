"""The executor's own knobs, read once at start beside the pipeline's `Settings`.

They are job settings (how long a phase may run, how often to heartbeat), so the job definition sets
them as environment variables; everything else comes from `chalicelib.settings.Settings`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field

from chalicelib.core.durations import parse_duration
from chalicelib.settings import PREFIX, Settings, SettingsError
from executor.sources import parse_list

_TRUE = ("1", "true", "on", "yes")


@dataclass(frozen=True)
class ExecutorConfig:
    settings: Settings = field(default_factory=Settings)
    heartbeat_seconds: float = 60.0
    phase_timeout_seconds: float = 3600.0  # each of checkout, build, init, plan, apply, destroy, custom
    lock_timeout_seconds: int = 300  # how long terraform waits for a state lock another run holds
    # After SIGTERM or a timeout: how long terraform gets to save state and unlock. ECS (under Batch)
    # sends SIGKILL 30 s after SIGTERM by default, so the default leaves a few seconds to report.
    interrupt_grace_seconds: float = 25.0
    health_check_timeout_seconds: float = 300.0
    health_check_interval_seconds: float = 5.0
    s3_use_path_style: bool = False  # S3 endpoints that cannot take virtual-hosted buckets (some emulators)
    work_dir: str = ""  # empty: a fresh temporary directory per job
    terraform_binary: str = "terraform"
    credentials_refresh_seconds: float = 900.0  # re-assume the target role (sessions last 1 h): refresh.py
    work_user: str = "tfpipe-work"  # runs build steps and Terraform (executor/isolation.py)
    # Checked before `terraform init` (executor/sources.py): globs of namespace/type or host/namespace/type,
    # and of module sources besides local ones.
    allowed_providers: tuple[str, ...] = ("hashicorp/*",)
    allowed_module_sources: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ExecutorConfig:
        env = os.environ if environ is None else environ

        def get(name: str, default: str) -> str:
            return env.get(PREFIX + name, default)

        try:
            return cls(
                settings=Settings.from_env(env),
                heartbeat_seconds=parse_duration(get("JOB_HEARTBEAT", "60s")),
                phase_timeout_seconds=parse_duration(get("JOB_PHASE_TIMEOUT", "1h")),
                lock_timeout_seconds=parse_duration(get("JOB_LOCK_TIMEOUT", "5m")),
                interrupt_grace_seconds=parse_duration(get("JOB_INTERRUPT_GRACE", "25s")),
                health_check_timeout_seconds=parse_duration(get("HEALTH_CHECK_TIMEOUT", "5m")),
                health_check_interval_seconds=parse_duration(get("HEALTH_CHECK_INTERVAL", "5s")),
                s3_use_path_style=get("S3_USE_PATH_STYLE", "false").lower() in _TRUE,
                work_dir=get("JOB_WORK_DIR", ""),
                terraform_binary=get("TERRAFORM_BINARY", "terraform"),
                credentials_refresh_seconds=parse_duration(get("JOB_CREDENTIALS_REFRESH", "15m")),
                work_user=get("WORK_USER", "tfpipe-work"),
                allowed_providers=parse_list(get("ALLOWED_PROVIDERS", "hashicorp/*")),
                allowed_module_sources=parse_list(get("ALLOWED_MODULE_SOURCES", "")),
            )
        except ValueError as exc:
            raise SettingsError(f"reading the executor's settings from the environment: {exc}") from exc

    def make_work_dir(self) -> str:
        if self.work_dir:
            os.makedirs(self.work_dir, exist_ok=True)
            return tempfile.mkdtemp(prefix="job-", dir=self.work_dir)
        return tempfile.mkdtemp(prefix="tfpipe-job-")

"""Running the real terraform binary in tests: the CLI configuration `make install` wrote (the
provider mirror and plugin cache), no prompts, no version check calls, a timeout on every command."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 300


def terraform_env(**extra: str) -> dict[str, str]:
    config = os.environ.get("TF_CLI_CONFIG_FILE", "")
    if not config or not Path(config).is_file():
        pytest.fail("running terraform: no Terraform CLI configuration (TF_CLI_CONFIG_FILE); run `make install` "
                    "to write .tfpipe/terraform.rc with the provider mirror")
    return {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1",
            "TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE": "true", **extra}


def terraform(args: list[str], cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["terraform", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    if check and result.returncode != 0:
        pytest.fail(f"terraform {' '.join(args)} in {cwd} exited {result.returncode}:\n{result.stdout[-3000:]}\n"
                    f"{result.stderr[-3000:]}")
    return result

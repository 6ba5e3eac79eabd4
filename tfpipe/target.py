"""Where the CLI finds the pipeline: the embedded stack's `<state-dir>/stack.json`, or AWS.

On the embedded stack, stack.json carries the environment the stack's own functions run with
(TFPIPE_* settings, AWS endpoints, fake credentials), the API's URL, the local webhook secret and the
IAM credentials of the stack's operator user, which the CLI signs its API calls with (SigV4).
Against AWS, settings come from TFPIPE_* variables, TFPIPE_API_URL names the deployed API, and API
calls are signed with the caller's own AWS credentials (botocore's usual chain).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from chalicelib.settings import Settings

STACK_FILE = "stack.json"


class TargetError(Exception):
    pass


@dataclass
class Target:
    api_url: str
    settings: Settings
    env: dict[str, str] = field(default_factory=dict)  # applied to this process before any AWS client
    state_dir: Path | None = None
    description: str = ""
    operator: dict[str, str] = field(default_factory=dict)  # the stack's operator key; empty: the caller's own

    @classmethod
    def resolve(cls, state_dir: str | Path | None) -> Target:
        """The embedded stack when a state dir is named (--state-dir, or TFPIPE_STATE_DIR as `tfpipe local
        env` exports it) or .tfpipe/stack.json exists here, else AWS."""
        named = state_dir or os.environ.get("TFPIPE_STATE_DIR")
        path = Path(named or ".tfpipe")
        if named or (path / STACK_FILE).exists():
            return cls.from_state_dir(path)
        return cls.from_environment()

    @classmethod
    def from_state_dir(cls, state_dir: str | Path) -> Target:
        path = Path(state_dir).resolve()
        stack_file = path / STACK_FILE
        if not stack_file.exists():
            raise TargetError(f"finding the embedded stack: {stack_file} does not exist. Start it with "
                              f"`tfpipe local up --state-dir {state_dir}` (in another terminal), or set "
                              "TFPIPE_API_URL and the TFPIPE_* settings to reach a pipeline in AWS.")
        data = json.loads(stack_file.read_text())
        env = {k: str(v) for k, v in data.get("env", {}).items()}
        api_url = data.get("api_url") or data.get("endpoints", {}).get("api")
        if not api_url:
            raise TargetError(f"reading {stack_file}: it names no api_url; restart the stack")
        return cls(api_url.rstrip("/"), Settings.from_env(env), env, path, f"embedded stack at {path}",
                   data.get("operator") or {})

    @classmethod
    def from_environment(cls) -> Target:
        api_url = os.environ.get("TFPIPE_API_URL")
        if not api_url:
            raise TargetError("finding the pipeline: no embedded stack in .tfpipe/ and TFPIPE_API_URL is not "
                              "set. Run `tfpipe local up`, or export TFPIPE_API_URL (the terraform output "
                              "`api_url`) and the TFPIPE_* settings of your deployment.")
        return cls(api_url.rstrip("/"), Settings.from_env(), {}, None, f"AWS API at {api_url}")

    def activate(self) -> None:
        """Point this process's AWS clients at the target."""
        os.environ.update(self.env)

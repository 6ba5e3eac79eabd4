"""`<state-dir>/stack.json`: where a running stack listens and its local webhook secret, for the
parts that run in other processes (the Git hook, `tfpipe pr`, a shell that exports the env).
Written when the stack is up, removed when it stops: its presence means "a stack is running"."""

from __future__ import annotations

import json
import os
from pathlib import Path

NAME = "stack.json"


class StackNotRunning(Exception):
    pass


def write(state_dir: Path, info: dict) -> Path:
    path = Path(state_dir) / NAME
    staging = path.with_suffix(".tmp")
    staging.write_text(json.dumps(info, indent=2, sort_keys=True))
    staging.chmod(0o600)  # it holds the local webhook secret
    os.replace(staging, path)
    return path


def read(state_dir: Path) -> dict:
    path = Path(state_dir) / NAME
    if not path.exists():
        raise StackNotRunning(f"no embedded stack is running for {Path(state_dir).resolve()} "
                              f"(start one with `tfpipe local up --state-dir {state_dir}`)")
    return json.loads(path.read_text())


def remove(state_dir: Path) -> None:
    (Path(state_dir) / NAME).unlink(missing_ok=True)

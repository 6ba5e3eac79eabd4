"""`<state-dir>/stack.json`: where a running stack listens, its local webhook secret and its operator
IAM key (the CLI signs API calls with it), for the parts that run in other processes (the Git hook,
`tfpipe pr`, the CLI, a shell that exports the env).
Written when the stack is up, removed when it stops: its presence means "a stack is running".

`<state-dir>/stack.lock` says which process owns the state directory: a stack holds an exclusive
lock on it for its whole life (the kernel lets go when the process ends, even on SIGKILL), so a
second stack on the same directory is refused before it can touch the first one's stack.json.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path

NAME = "stack.json"
LOCK = "stack.lock"


class StackNotRunning(Exception):
    pass


class StackAlreadyRunning(Exception):
    pass


def write(state_dir: Path, info: dict) -> Path:
    path = Path(state_dir) / NAME
    staging = path.with_suffix(".tmp")
    staging.write_text(json.dumps(info, indent=2, sort_keys=True))
    staging.chmod(0o600)  # it holds the local webhook secret and the operator's IAM key
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


class Ownership:
    """This process's hold on a state directory; `release()` lets the next stack have it."""

    def __init__(self, fd: int):
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock; the file stays (unlinking it would race)
            self._fd = None


def own(state_dir: Path) -> Ownership:
    """Take the state directory for this process's stack, or say which process has it."""
    path = Path(state_dir) / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StackAlreadyRunning(
            f"starting the embedded stack in {Path(state_dir).resolve()}: a stack is already running, "
            f"pid {_owner(path)}; stop it (Ctrl-C where it runs, or kill that pid) or give this one "
            "another --state-dir") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return Ownership(fd)


def _owner(lock: Path) -> str:
    """The pid the owner wrote; it writes it right after taking the lock, so a moment's wait covers
    a stack that is just starting."""
    for _ in range(50):
        pid = lock.read_text().strip()
        if pid:
            return pid
        time.sleep(0.01)
    try:
        return str(read(lock.parent).get("pid", "unknown"))
    except (StackNotRunning, ValueError):
        return "unknown"

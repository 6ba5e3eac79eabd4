"""Helpers for the GitHub stand-in tests: a working clone that pushes to a stack's bare repository,
and a comparison of payload shapes with GitHub's own (the fixtures)."""

from __future__ import annotations

import subprocess
from pathlib import Path


class Clone:
    def __init__(self, origin: Path, work: Path, user: str = "ada"):
        self.work = work
        self.user = user
        subprocess.run(["git", "clone", "--quiet", str(origin), str(work)], check=True, capture_output=True)
        self.git("config", "user.name", user)
        self.git("config", "user.email", f"{user}@example.test")

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", *args], cwd=self.work, capture_output=True, text=True, check=True)
        return done.stdout + done.stderr

    def commit(self, name: str, text: str, message: str) -> str:
        (self.work / name).write_text(text)
        self.git("add", name)
        self.git("commit", "--quiet", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def push(self, *refs: str) -> str:
        return self.git("push", "origin", *refs)


def missing_keys(reference: object, mine: object, path: str = "$") -> list[str]:
    """Keys GitHub's payload has (recursively) that ours lacks."""
    missing: list[str] = []
    if isinstance(reference, dict) and isinstance(mine, dict):
        for key, value in reference.items():
            if key not in mine:
                missing.append(f"{path}.{key}")
            else:
                missing.extend(missing_keys(value, mine[key], f"{path}.{key}"))
    elif isinstance(reference, list) and isinstance(mine, list) and reference and mine:
        missing.extend(missing_keys(reference[0], mine[0], f"{path}[0]"))
    return missing

"""Checkout of exactly one commit: a shallow fetch of the sha into an empty repository.

HTTPS remotes (GitHub) authenticate with a token handed to git through its environment
(GIT_CONFIG_* variables), so it is in no argument list, no `.git/config` and no log line. Local paths
and file:// URLs (the embedded stack) need nothing.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from chalicelib.core.job import JobErrorClass
from executor.failures import JobFailure


def git_auth_env(clone_url: str, token: str | None) -> dict[str, str]:
    env = {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1"}
    parts = urlsplit(clone_url)
    if token and parts.scheme == "https":
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update({"GIT_CONFIG_COUNT": "1",
                    "GIT_CONFIG_KEY_0": f"http.https://{parts.hostname}/.extraheader",
                    "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}"})
    return env


def checkout(clone_url: str, sha: str, dest: Path, env: dict[str, str], timeout: float) -> None:
    """Fetch `sha` alone (depth 1) and check it out detached; refuse anything else at HEAD."""
    doing = f"checking out {sha[:12]} from {_display(clone_url)}"
    steps = [["git", "init", "--quiet", str(dest)],
             ["git", "-C", str(dest), "fetch", "--quiet", "--depth", "1", "--no-tags", clone_url, sha],
             ["git", "-C", str(dest), "checkout", "--quiet", "--detach", "FETCH_HEAD"]]
    for argv in steps:
        try:
            result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                                    stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise JobFailure(JobErrorClass.CHECKOUT_FAILED, f"{doing}: git {argv[3]} timed out after {timeout:.0f}s") from None
        if result.returncode != 0:
            raise JobFailure(JobErrorClass.CHECKOUT_FAILED, f"{doing}: {result.stderr.strip()[-2000:]}")
    head = subprocess.run(["git", "-C", str(dest), "rev-parse", "HEAD"], env=env, capture_output=True,
                          text=True, timeout=60).stdout.strip()
    if head != sha:
        raise JobFailure(JobErrorClass.CHECKOUT_FAILED, f"{doing}: HEAD is {head or 'missing'}, not the requested commit")


def _display(clone_url: str) -> str:
    """The URL without any user:password part, for messages."""
    parts = urlsplit(clone_url)
    if parts.password or parts.username:
        return parts._replace(netloc=parts.hostname or "").geturl()
    return clone_url

"""Checkout of exactly one commit: a shallow fetch of the sha into an empty repository; then, when the
job must know what a pull request or push changed, the history the diff needs (`fetch_history`).

HTTPS remotes (GitHub) authenticate with a token handed to git through its environment
(GIT_CONFIG_* variables), so it is in no argument list, no `.git/config` and no log line. Local paths
and file:// URLs (the embedded stack) need nothing.
"""

from __future__ import annotations

import base64
import subprocess
from dataclasses import dataclass
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
        _succeeded(_run(argv, env, timeout, doing), doing)
    _check_head(dest, env, sha, doing)


# The first fetch takes this many commits behind each tip; each later round deepens every shallow edge
# by the next number; past the last, the rest of the history is fetched (`--unshallow`). A pull request
# branched a few commits back costs one round trip, one branched years ago a handful.
_DEPTHS = (16, 64, 256)
_FILTER_IGNORED = "filtering not recognized by server"


@dataclass(frozen=True)
class History:
    """What `fetch_history` brought: the base's commit (None when it was not asked for or could not be
    fetched), whether `before` is now in the checkout, and whether the remote left the blobs out (a
    file:// bare repository does only with `uploadpack.allowFilter`; otherwise the same commits are
    fetched with their blobs: slower, same answer)."""

    base: str | None = None
    before: bool = False
    blob_less: bool = True


def fetch_history(clone_url: str, dest: Path, env: dict[str, str], timeout: float, *, sha: str,
                  base: str | None = None, before: str | None = None) -> History:
    """Fetch into the checkout of `sha` what `git diff` needs: for a pull request the `base` (a branch
    name or a sha) and enough of both histories to hold their merge base; for a push `before` and
    enough of `sha`'s history to reach it. Commits and trees only where the remote allows
    (`--filter=blob:none`): a `--name-only --no-renames` diff compares trees and never reads a blob.

    Nothing else changes: no ref is written (only FETCH_HEAD), HEAD and the working tree stay at `sha`
    (checked before and after), and the token stays in `env` as for `checkout`. A base or `before` the
    remote does not have (a deleted branch, a commit force-pushed away) is not an error: the result
    says so and the changes fall back to every project. A git that times out or fails while deepening
    is a CHECKOUT_FAILED naming what was being done."""
    if (base is None) == (before is None):
        raise ValueError("fetch_history wants a base (pull request) or a before (push), not both or neither")
    tip = base if base is not None else before
    doing = (f"fetching the history of {sha[:12]} and its base {base}" if base is not None
             else f"fetching the history of {sha[:12]} back to {before[:12]}") + f" from {_display(clone_url)}"
    _check_head(dest, env, sha, doing)
    fetch = ["git", "-C", str(dest), "fetch", "--quiet", "--no-tags", "--filter=blob:none"]
    # `--` first: a base is a name from the event, and one starting with "-" must not become an option.
    first = _run([*fetch, f"--depth={_DEPTHS[0]}", "--", clone_url, tip, sha], env, timeout, doing)
    blob_less = _FILTER_IGNORED not in first.stderr
    if first.returncode != 0:  # no such ref or commit there; any other refusal too: every project is planned
        _check_head(dest, env, sha, doing)
        return History(blob_less=blob_less)
    # FETCH_HEAD lists what was fetched in the order asked: the first line is the base or `before`.
    resolved = _run(["git", "-C", str(dest), "rev-parse", "--verify", "FETCH_HEAD^{commit}"], env, timeout, doing)
    tip = _succeeded(resolved, doing).stdout.strip()
    found = (["merge-base", tip, sha] if base is not None else ["merge-base", "--is-ancestor", tip, sha])
    for step in [*(f"--deepen={n}" for n in _DEPTHS[1:]), "--unshallow"]:
        if _run(["git", "-C", str(dest), *found], env, timeout, doing).returncode == 0 or not _shallow(dest, env, timeout, doing):
            break
        deeper = _succeeded(_run([*fetch, step, "--", clone_url, tip, sha], env, timeout, doing), doing)
        blob_less = blob_less and _FILTER_IGNORED not in deeper.stderr
    _check_head(dest, env, sha, doing)
    return History(base=tip if base is not None else None, before=before is not None, blob_less=blob_less)


def _shallow(dest: Path, env: dict[str, str], timeout: float, doing: str) -> bool:
    argv = ["git", "-C", str(dest), "rev-parse", "--is-shallow-repository"]
    return _succeeded(_run(argv, env, timeout, doing), doing).stdout.strip() == "true"


def _run(argv: list[str], env: dict[str, str], timeout: float, doing: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise JobFailure(JobErrorClass.CHECKOUT_FAILED, f"{doing}: git {argv[3]} timed out after {timeout:.0f}s") from None


def _succeeded(result: subprocess.CompletedProcess, doing: str) -> subprocess.CompletedProcess:
    if result.returncode != 0:
        raise JobFailure(JobErrorClass.CHECKOUT_FAILED, f"{doing}: {result.stderr.strip()[-2000:]}")
    return result


def _check_head(dest: Path, env: dict[str, str], sha: str, doing: str) -> None:
    """The job plans exactly the commit it checked out: anything else at HEAD is refused."""
    head = subprocess.run(["git", "-C", str(dest), "rev-parse", "HEAD"], env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL).stdout.strip()
    if head != sha:
        raise JobFailure(JobErrorClass.CHECKOUT_FAILED, f"{doing}: HEAD is {head or 'missing'}, not the requested commit")


def _display(clone_url: str) -> str:
    """The URL without any user:password part, for messages."""
    parts = urlsplit(clone_url)
    if parts.password or parts.username:
        return parts._replace(netloc=parts.hostname or "").geturl()
    return clone_url

"""After an apply: poll the environment's `health_check_url` output until it answers 2xx."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from chalicelib.core.job import JobErrorClass
from executor.failures import JobFailure
from executor.interrupt import Interrupt


def wait_healthy(url: str, timeout: float, interval: float, interrupt: Interrupt, log) -> int:
    """The number of attempts it took; JobFailure(HealthCheckFailed) when the deadline passes first."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise JobFailure(JobErrorClass.HEALTH_CHECK_FAILED, f"health check: {url!r} is not an http(s) URL")
    deadline = time.monotonic() + timeout
    attempts, last = 0, "no answer yet"
    while True:
        attempts += 1
        try:
            with urllib.request.urlopen(url, timeout=min(10.0, max(1.0, timeout))) as response:  # noqa: S310 - scheme checked
                if 200 <= response.status < 300:
                    log.event(f"health check {url}: {response.status} after {attempts} attempt(s)")
                    return attempts
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(getattr(exc, "reason", exc))
        if time.monotonic() + interval > deadline:
            raise JobFailure(JobErrorClass.HEALTH_CHECK_FAILED,
                             f"health check {url}: no 2xx answer within {timeout:.0f}s ({attempts} attempts, last: {last})")
        # Said on every miss, so a job watched while it waits shows what the app answers.
        log.event(f"health check {url}: {last} (attempt {attempts}; trying until "
                  f"{max(0.0, deadline - time.monotonic()):.0f}s from now)")
        if interrupt.wait(interval):
            raise JobFailure(JobErrorClass.INTERRUPTED, f"health check {url}: {interrupt.reason}")

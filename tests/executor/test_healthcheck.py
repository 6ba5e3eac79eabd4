"""The post-apply health check against a real local HTTP server."""

from __future__ import annotations

import pytest
from executor.failures import JobFailure
from executor.healthcheck import wait_healthy
from executor.interrupt import Interrupt

from chalicelib.core.job import JobErrorClass


class _Log:
    def __init__(self):
        self.messages = []

    def event(self, message, **_):
        self.messages.append(message)


def test_polls_until_the_url_answers_2xx(http_server):
    url, answers = http_server
    answers.extend([503, 502])
    log = _Log()
    assert wait_healthy(url, timeout=10, interval=0.05, interrupt=Interrupt(), log=log) == 3
    # Each miss is in the job's log as it happens, not only when the deadline passes.
    assert [m.split(" (")[0] for m in log.messages[:2]] == [f"health check {url}: HTTP 503", f"health check {url}: HTTP 502"]


def test_no_2xx_before_the_deadline_is_health_check_failed_with_the_last_answer(http_server):
    url, answers = http_server
    answers.extend([500] * 1000)
    with pytest.raises(JobFailure, match="last: HTTP 500") as caught:
        wait_healthy(url, timeout=0.5, interval=0.1, interrupt=Interrupt(), log=_Log())
    assert caught.value.error is JobErrorClass.HEALTH_CHECK_FAILED


def test_an_unreachable_url_is_health_check_failed():
    from tfpipe.local.moto_server import free_port

    with pytest.raises(JobFailure) as caught:
        wait_healthy(f"http://127.0.0.1:{free_port()}/", timeout=0.3, interval=0.1, interrupt=Interrupt(), log=_Log())
    assert caught.value.error is JobErrorClass.HEALTH_CHECK_FAILED


def test_only_http_urls_are_polled():
    with pytest.raises(JobFailure, match="not an http"):
        wait_healthy("file:///etc/passwd", timeout=1, interval=0.1, interrupt=Interrupt(), log=_Log())

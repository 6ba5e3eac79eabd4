"""Starting and stopping the stack: endpoints listen while it runs, nothing is left after."""

from __future__ import annotations

import os
import socket
import threading
from urllib.parse import urlparse

import pytest

from tfpipe.local.stack import Stack


def _listening(url: str) -> bool:
    parsed = urlparse(url)
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((parsed.hostname, parsed.port)) == 0


def test_stop_closes_every_port_and_restores_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    threads_before = set(threading.enumerate())

    with Stack(app="tests.local.stack_test_app:app", stage="test", state_dir=tmp_path) as stack:
        endpoints = stack.endpoints
        assert all(_listening(url) for url in endpoints.values())
        assert os.environ["AWS_ENDPOINT_URL"] == stack.aws_url
        assert os.environ["MOTO_PORT"] == str(urlparse(stack.aws_url).port)

    assert not any(_listening(url) for url in endpoints.values())
    assert "AWS_ENDPOINT_URL" not in os.environ
    leftover = [t.name for t in set(threading.enumerate()) - threads_before if t.name.startswith("tfpipe-")]
    assert leftover == []
    # moto is itself again: no function URL rewriting, rules' Lambda targets back to moto's handling
    from moto.awslambda.models import FunctionUrlConfig
    from moto.events.models import Rule

    from tfpipe.local import event_rules, function_urls
    assert FunctionUrlConfig.__init__ is function_urls._ORIGINAL_INIT
    assert Rule.send_to_targets is event_rules._ORIGINAL


def test_a_second_stack_in_the_same_process_is_refused(stack, tmp_path):
    with pytest.raises(RuntimeError, match="already running"):
        Stack(app="tests.local.stack_test_app:app", state_dir=tmp_path).start()

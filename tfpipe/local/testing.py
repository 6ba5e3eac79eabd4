"""pytest fixtures for the embedded stack, importable by any test package:

    # tests/e2e/conftest.py
    from tfpipe.local.testing import stack_fixture
    stack = stack_fixture(app="app:app", scope="module")

The fixture yields a started `Stack` whose environment is exported (AWS_ENDPOINT_URL*, TFPIPE_*),
and stops it afterwards, leaving no thread, process or port behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tfpipe.local.stack import Stack


def stack_fixture(app: Any = "app:app", scope: str = "function", **stack_kwargs: Any) -> Callable:
    """A pytest fixture yielding a running `Stack` for `app` (a Chalice object or "module:attr")."""

    @pytest.fixture(scope=scope)
    def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
        kwargs = dict(stack_kwargs)
        kwargs.setdefault("state_dir", tmp_path_factory.mktemp("tfpipe-state"))
        with Stack(app=app, **kwargs) as running:
            yield running

    return stack

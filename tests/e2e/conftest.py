"""A real `ackflow up` per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.runner import RunningStack, free_port_base


@pytest.fixture(scope="module")
def running_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    stack = RunningStack(tmp_path_factory.mktemp("ackflow"), free_port_base())
    stack.start()
    try:
        yield stack
    finally:
        if stack.process and stack.process.poll() is None:
            stack.stop()
        stack.down()

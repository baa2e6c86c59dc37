"""The dev and prod stacks, captured under the fake cloud once per test module."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from local.cloud.capture import Capture, capture

STACKS = ("dev", "prod")


@pytest.fixture(scope="module")
def stacks() -> Callable[[str], Capture]:
    """``stacks("dev")``: the stack captured on first use in this module, then reused."""
    captured: dict[str, Capture] = {}

    def get(name: str) -> Capture:
        if name not in captured:
            captured[name] = capture(name)
        return captured[name]

    return get


@pytest.fixture(scope="module", params=STACKS)
def example_stack(request: pytest.FixtureRequest, stacks: Callable[[str], Capture]) -> Capture:
    """Each example stack in turn."""
    return stacks(request.param)


@pytest.fixture(scope="module")
def dev(stacks: Callable[[str], Capture]) -> Capture:
    return stacks("dev")


@pytest.fixture(scope="module")
def prod(stacks: Callable[[str], Capture]) -> Capture:
    return stacks("prod")

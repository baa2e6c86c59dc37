"""A test workload that always fails, for retry and event-age tests."""

from __future__ import annotations

from workloads import Function, Workload

WORKLOAD = Workload(
    name="flaky",
    summary="Test double for the end-to-end tests (not part of the product).",
    worker=Function(handler="handler.handler"),
)

"""A test workload whose handler crashes in the way the event asks, for the fault tests."""

from __future__ import annotations

from workloads import Function, Workload

WORKLOAD = Workload(
    name="crashy",
    summary="Test double for the fault tests (not part of the product).",
    worker=Function(handler="handler.handler"),
)

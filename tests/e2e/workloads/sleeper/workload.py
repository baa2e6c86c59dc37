"""A test workload: sleeps, or invokes another function, as its event says."""

from __future__ import annotations

from workloads import Function, Workload

WORKLOAD = Workload(
    name="sleeper",
    summary="Test double for the end-to-end tests (not part of the product).",
    worker=Function(handler="handler.handler"),
)

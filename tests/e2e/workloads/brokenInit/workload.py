"""A test workload whose handler module fails while it is imported (Lambda's init phase)."""

from __future__ import annotations

from workloads import Function, Workload

WORKLOAD = Workload(
    name="brokenInit",
    summary="Test double for the fault tests (not part of the product).",
    worker=Function(handler="handler.handler"),
)

"""A bench-only workload: a 2-second task behind a REST route, for the ack-vs-sync figure."""

from __future__ import annotations

from workloads import Function, HttpRoute, Invocation, Workload

WORKLOAD = Workload(
    name="nap",
    summary="Sleeps two seconds (make bench's slow task; not part of the product).",
    worker=Function(handler="handler.handler"),
    routes=(
        HttpRoute(
            method="GET",
            path="/nap",
            invocation=Invocation.CLIENT,  # the caller picks, as GET /square/{number}
            request_template='{"seconds": 2}',
        ),
    ),
)

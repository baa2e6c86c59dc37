"""The ack figures: p50/p99 and rate at 1 and 32 concurrent, sync and async, through REST, the
Invoke API and GraphQL, each group with the bare baseline server measured beside it; and the
async acks' latency at the rates issue 10 sets, paced, beside the baseline at the same rate.

wrk sends the requests (they repeat exactly: the Invoke API's are signed once with SigV4 and
resent within its five minutes, as AWS accepts). Before each run one request is checked by
hand, so a figure is never the speed of an error.
"""

from __future__ import annotations

import dataclasses
import json
import math
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bench.signing import invoke_url, sigv4_headers
from bench.wrk import WrkResult, run_wrk

__all__ = [
    "CONCURRENCY",
    "PACED_SECONDS",
    "TARGET_RATES",
    "AckCase",
    "ack_cases",
    "baseline_case",
    "group_commit_baseline_case",
    "measure_at_rate",
    "measure_baseline_while_draining",
    "measure_case",
    "measure_paced_while_draining",
]

CONCURRENCY = (1, 32)
SECONDS = 3.0
ASYNC_CAP = {1: 200, 32: 1000}
"""At most this many async requests per run, so each leaves a bounded backlog of events..."""
CHECKED_REQUESTS = {"rest_event": 3000, "invoke_event": 5000}
"""...except the paths issue 10 checks, at 32 concurrent: as many as its check sends."""
DRAIN_EVENTS = 6_000
DRAIN_QUEUE_SECONDS = 3.0
"""The backlog the baseline is measured beside (:func:`measure_baseline_while_draining`): at
most this many events, queued for at most this long (wrk runs its whole duration even once
capped). The stack then takes longer to drain it than the baseline's runs (7 s: paced at each
target rate, then closed-loop); the intake holds the acks that would not start within the
dev stack's scaled maximum event age (9 s), so none ages out."""
TARGET_RATES = {"invoke_event": 2000, "rest_event": 1500}
"""Acks per second offered at 32 connections. Closed-loop, a p99 target says little on its own:
32 connections waiting for their answers make the mean latency 32 ÷ rate, so a p99 within
10 ms would need well over 3,200/s. Paced, the figure is how long an ack takes at that load."""
PACED_SECONDS = 1.5
"""Short enough that the backlog it leaves (3,000 events at 2,000/s) drains within the engine's
allowance on this machine, so its acks are not normally held (the stack's log says when they
are). wrk's own duration is whole seconds, so the run is capped at this many seconds'
requests."""
SQUARE_BODY = json.dumps({"number": "12"})
GRAPHQL_SQUARE = 'query { square(number: "12") { number square } }'
GRAPHQL_SQUARE_ASYNC = 'mutation { squareAsync(number: "12") { requestId status } }'

Kind = Literal["sync", "async", "baseline"]


@dataclass(frozen=True)
class AckCase:
    """One request shape to load, and what a right answer to it looks like."""

    key: str
    label: str
    kind: Kind
    url: str
    method: str = "GET"
    body: str | None = None
    headers: Callable[[], dict[str, str]] = dict
    """Made fresh for each run (a SigV4 signature carries its time)."""
    status: int = 200
    answer_holds: str = ""
    """Text the answer's body must contain."""


def ack_cases(endpoints: Mapping[str, Any], squaring_function: str) -> list[AckCase]:
    """The dev stack's sync and async front doors of the squaring worker."""
    rest = f"{endpoints['rest_url']}/square/12"
    invoke = invoke_url(endpoints, squaring_function)
    graphql = endpoints["graphql_url"]
    api_key = {"x-api-key": endpoints["api_key"], "content-type": "application/json"}

    def invoke_headers(invocation_type: str) -> Callable[[], dict[str, str]]:
        return lambda: sigv4_headers(
            endpoints, invoke, SQUARE_BODY, "lambda", {"X-Amz-Invocation-Type": invocation_type}
        )

    return [
        AckCase(
            "rest_sync",
            "REST GET /square/{n}",
            "sync",
            rest,
            answer_holds='"square_of_your_number_is": 144',
        ),
        AckCase(
            "invoke_sync",
            "Invoke API RequestResponse",
            "sync",
            invoke,
            "POST",
            SQUARE_BODY,
            invoke_headers("RequestResponse"),
            answer_holds='"square": 144',
        ),
        AckCase(
            "graphql_sync",
            "GraphQL square query",
            "sync",
            graphql,
            "POST",
            json.dumps({"query": GRAPHQL_SQUARE}),
            lambda: api_key,
            answer_holds='"square":"144"',
        ),
        AckCase(
            "rest_event",
            "REST GET /square/{n}, InvocationType: Event",
            "async",
            rest,
            headers=lambda: {"InvocationType": "Event"},
            status=202,
            answer_holds='"status": "ACCEPTED"',
        ),
        AckCase(
            "invoke_event",
            "Invoke API Event",
            "async",
            invoke,
            "POST",
            SQUARE_BODY,
            invoke_headers("Event"),
            status=202,
        ),
        AckCase(
            "graphql_async",
            "GraphQL squareAsync mutation",
            "async",
            graphql,
            "POST",
            json.dumps({"query": GRAPHQL_SQUARE_ASYNC}),
            lambda: api_key,
            answer_holds='"status":"ACCEPTED"',
        ),
    ]


def baseline_case(url: str) -> AckCase:
    """The bare server: 202 after one fsync'ed SQLite insert of the body."""
    return AckCase(
        "baseline",
        "bare aiohttp + fsync'ed SQLite insert",
        "baseline",
        url,
        "POST",
        SQUARE_BODY,
        status=202,
    )


def group_commit_baseline_case(url: str) -> AckCase:
    """The bare server with its inserts group-committed as the event store's are
    (``bench.baseline_server --group-commit``)."""
    return dataclasses.replace(
        baseline_case(url),
        key="group_commit_baseline",
        label="bare aiohttp + group-committed fsync'ed SQLite inserts",
    )


def measure_case(case: AckCase, connections: int) -> dict[str, Any]:
    """One wrk run of ``case`` at ``connections``, as a result row."""
    cap = _async_cap(case.key, connections) if case.kind == "async" else None
    return row(case, load(case, connections, SECONDS, cap))


def _async_cap(key: str, connections: int) -> int:
    if connections == 32 and key in CHECKED_REQUESTS:
        return CHECKED_REQUESTS[key]
    return ASYNC_CAP[connections]


def measure_at_rate(case: AckCase, rate: float) -> dict[str, Any]:
    """``case`` at ``rate`` requests per second, paced over 32 connections, as a result row."""
    cap = round(rate * PACED_SECONDS)
    return {**row(case, load(case, 32, math.ceil(PACED_SECONDS), cap, rate)), "offered_rate": rate}


def measure_baseline_while_draining(
    queue_with: AckCase, baseline: AckCase, events: int = DRAIN_EVENTS
) -> dict[str, Any]:
    """The baseline server while the stack drains ``events`` events it has just accepted
    through ``queue_with``: paced at each target rate (under ``paced``), then closed-loop at 32.
    The baseline runs in a process of its own, so this is what any accept path on this machine
    gets while the workers use its cores: the fair baseline for the acks measured while the
    workers run."""
    paced = measure_paced_while_draining(queue_with, baseline, events)
    return {**measure_case(baseline, 32), **paced}


def measure_paced_while_draining(
    queue_with: AckCase, baseline: AckCase, events: int = DRAIN_EVENTS
) -> dict[str, Any]:
    """:func:`measure_baseline_while_draining` without its closed-loop run."""
    queued = load(queue_with, 32, DRAIN_QUEUE_SECONDS, events - 1)  # and the one checked
    return {
        "paced": [measure_at_rate(baseline, rate) for rate in sorted(set(TARGET_RATES.values()))],
        "queued": queued.requests + 1,
        "queued_non_2xx": queued.non_2xx,
        "queued_rate": round(queued.rate, 1),
    }


def load(
    case: AckCase,
    connections: int,
    seconds: float,
    cap: int | None,
    rate: float | None = None,
) -> WrkResult:
    """``case``'s request checked once by hand, then sent by wrk (at most ``cap`` of them,
    paced at ``rate`` per second if given)."""
    headers = case.headers()
    check(case, headers)
    return run_wrk(
        case.url,
        connections=connections,
        seconds=seconds,
        method=case.method,
        body=case.body,
        headers=headers,
        max_requests=cap,
        rate=rate,
    )


def row(case: AckCase, result: WrkResult) -> dict[str, Any]:
    return {
        "key": case.key,
        "label": case.label,
        "kind": case.kind,
        "concurrency": result.connections,
        "requests": result.requests,
        "seconds": round(result.seconds, 3),
        "rate": round(result.rate, 1),
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "non_2xx": result.non_2xx,
        "socket_errors": result.socket_errors,
        "cdf": [list(point) for point in result.cdf],
    }


def check(case: AckCase, headers: Mapping[str, str]) -> None:
    """One request by hand: the status and the answer ``case`` expects, or an error."""
    request = urllib.request.Request(
        case.url,
        data=case.body.encode() if case.body is not None else None,
        headers=dict(headers),
        method=case.method,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            status, body = answer.status, answer.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode(errors="replace")
    if status != case.status or case.answer_holds not in body:
        raise RuntimeError(
            f"{case.label}: expected {case.status} with {case.answer_holds!r}, got {status}: "
            f"{body[:300]}"
        )

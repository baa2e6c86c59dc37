"""Ack against sync on a 2-second task: the bench's ``nap`` workload behind ``GET /nap``,
answered after the nap (RequestResponse) or at once with a 202 (``InvocationType: Event``)."""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.acks import AckCase, check, row
from bench.wrk import run_wrk

__all__ = ["TARGET_RATIO", "measure_slow_task"]

TARGET_RATIO = 400
SYNC_CALLS = 3
ACKS = 30
"""Few: each queues a 2-second nap that holds an execution environment."""


def measure_slow_task(endpoints: dict[str, Any]) -> dict[str, Any]:
    url = f"{endpoints['rest_url']}/nap"
    sync = AckCase("nap_sync", "GET /nap (2 s), sync", "sync", url, answer_holds='"slept"')
    event = AckCase(
        "nap_event",
        "GET /nap (2 s), InvocationType: Event",
        "async",
        url,
        headers=lambda: {"InvocationType": "Event"},
        status=202,
    )
    sync_seconds = []
    for _ in range(SYNC_CALLS):
        started = time.monotonic()
        check(sync, {})
        sync_seconds.append(time.monotonic() - started)
    check(event, event.headers())
    acks = row(
        event,
        run_wrk(url, connections=1, seconds=3, headers=event.headers(), max_requests=ACKS),
    )
    sync_ms = statistics.median(sync_seconds) * 1000
    return {
        "sync_p50_ms": round(sync_ms, 1),
        "sync_runs_ms": [round(s * 1000, 1) for s in sync_seconds],
        "ack_p50_ms": acks["p50_ms"],
        "ack_p99_ms": acks["p99_ms"],
        "acks": acks["requests"],
        "ratio": round(sync_ms / acks["p50_ms"], 1),
        "target_ratio": TARGET_RATIO,
    }

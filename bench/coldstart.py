"""Cold start per function: its first invocation after `ackflow up` (a new execution
environment: the process, the runtime client, the handler's imports) against the median of
the warm ones after it, through the Invoke API with boto3.

Each function gets an event it answers at once (the workers refuse ``{}`` before any work), so
the figure is the start, not the work.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.stack import BenchStack

__all__ = ["measure_cold_starts"]

WARM_INVOCATIONS = 5
QUICK_EVENTS = {"squaring": {"number": "12"}, "nap": {"seconds": 0}}
"""Workloads whose worker would work on ``{}``: an event it finishes at once."""


def measure_cold_starts(stack: BenchStack) -> list[dict[str, Any]]:
    """One row per function, in the order of the stack's workloads; run first, while every
    function is still cold."""
    lambda_ = stack.client("lambda")
    rows = []
    for workload, names in stack.endpoints["workloads"].items():
        functions = [("worker", names["function_name"])]
        if "front_function_name" in names:
            functions.insert(0, ("front", names["front_function_name"]))
        for role, name in functions:
            event = QUICK_EVENTS.get(workload, {}) if role == "worker" else {}
            payload = json.dumps(event).encode()
            cold = _invoke_seconds(lambda_, name, payload)
            warm = [_invoke_seconds(lambda_, name, payload) for _ in range(WARM_INVOCATIONS)]
            rows.append(
                {
                    "function": name,
                    "cold_ms": round(cold * 1000, 1),
                    "warm_ms": round(statistics.median(warm) * 1000, 1),
                    "ratio": round(cold / statistics.median(warm), 1),
                }
            )
    return rows


def _invoke_seconds(lambda_: Any, name: str, payload: bytes) -> float:
    started = time.monotonic()
    lambda_.invoke(FunctionName=name, Payload=payload)["Payload"].read()
    return time.monotonic() - started

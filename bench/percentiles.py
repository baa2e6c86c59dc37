"""Percentiles of latencies measured by the bench's own clients, as wrk reports them."""

from __future__ import annotations

import math

__all__ = ["nearest_rank"]


def nearest_rank(ordered: list[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of ``ordered`` (sorted, not empty)."""
    index = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[index]

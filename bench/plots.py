"""The bench's PNG plots (matplotlib, no display): the ack latency CDFs, and throughput over
time while the burst drains."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.report import best_baselines

__all__ = ["plot_ack_latency", "plot_burst"]


def plot_ack_latency(rows: list[dict[str, Any]], path: Path) -> Path:
    """One panel per concurrency: each path's latency CDF, the bare baseline dashed."""
    baselines = best_baselines(rows)
    rows = [r for r in rows if r["kind"] != "baseline" or r in baselines.values()]
    levels = sorted({r["concurrency"] for r in rows})
    figure, axes = plt.subplots(1, len(levels), figsize=(7 * len(levels), 5), squeeze=False)
    for axis, level in zip(axes[0], levels, strict=True):
        for r in (r for r in rows if r["concurrency"] == level and r.get("cdf")):
            latencies = [ms for _, ms in r["cdf"]]
            percentiles = [p for p, _ in r["cdf"]]
            baseline = r["kind"] == "baseline"
            label = f"baseline, {r['group']} group" if baseline else r["label"]
            axis.plot(latencies, percentiles, "--" if baseline else "-", label=label)
        axis.set_xscale("log")
        axis.set_xlabel("latency (ms, log scale)")
        axis.set_ylabel("percentile")
        axis.set_title(f"{level} concurrent")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7, loc="lower right")
    figure.suptitle("Ack latency CDF (wrk; baseline dashed: aiohttp + fsync'ed SQLite insert)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_burst(burst: dict[str, Any], path: Path) -> Path:
    """Acks and destination records per second, from the burst's first request."""
    timeline = burst["timeline"]
    figure, axis = plt.subplots(figsize=(9, 5))
    for name, label in (
        ("accepted", "acks (202)"),
        ("success", "success records"),
        ("failure", "failure records"),
    ):
        axis.plot(timeline["bucket_seconds"], timeline[name], label=label)
    axis.set_xlabel("seconds since the first request")
    axis.set_ylabel("per second")
    axis.set_title(
        f"Burst of {burst['events']:,} Event invocations: {burst['success']:,} succeeded, "
        f"{burst['aged_out']:,} aged out, {burst['unaccounted']:,} unaccounted"
    )
    axis.grid(True, alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path

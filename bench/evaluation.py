"""Program evaluation time for 1, 10 and 50 workloads: ``local.cloud.capture.capture()`` of a
stack that enables N copies of the squaring workload, each with its own name, routes and
GraphQL names (the stack config refuses two workloads claiming one).

Each N runs in a fresh process (``python -m bench.evaluation <folder> <n>``) whose
``ACKFLOW_WORKLOADS_PATH`` holds exactly its N copies: one untimed capture of the first copy
alone pays Python's imports and first-use costs, then the N-workload capture is timed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from stack.program import WORKLOADS_PATH_ENV
from workloads import WORKLOADS_ROOT

__all__ = ["COUNTS", "copy_squaring", "measure_evaluation", "stack_config", "with_ratios"]

COUNTS = (1, 10, 50)
TIMED_RUNS = {1: 7, 10: 5, 50: 3}
"""Runs per count (the fastest is kept): more where a run is short and the noise is large."""
SOURCE = WORKLOADS_ROOT / "squaring"
COPIED_FILES = ("workload.py", "handler.py", "schema.graphql", "requirements.txt")
RENAMES = {
    "workload.py": (
        ('name="squaring"', 'name="squaring{k}"'),
        ('path="/square/{number}"', 'path="/square{k}/{number}"'),
        ('path="/square"', 'path="/square{k}"'),
        ('field_name="square"', 'field_name="square{k}"'),
        ('field_name="squareAsync"', 'field_name="squareAsync{k}"'),
    ),
    "schema.graphql": (
        ("SquareResult", "SquareResult{k}"),
        ("  square(", "  square{k}("),
        ("  squareAsync(", "  squareAsync{k}("),
    ),
}


def copy_squaring(folder: Path, k: int) -> Path:
    """``squaring{k}``: the squaring workload under its own name, routes and GraphQL names."""
    copy = folder / f"squaring{k}"
    copy.mkdir(parents=True)
    for name in COPIED_FILES:
        shutil.copy(SOURCE / name, copy / name)
    for name, renames in RENAMES.items():
        text = (copy / name).read_text()
        for old, new in renames:
            if old not in text:
                raise RuntimeError(f"{SOURCE / name} no longer holds {old!r}: update the bench")
            text = text.replace(old, new.replace("{k}", str(k)))
        (copy / name).write_text(text)
    return copy


def stack_config(count: int) -> dict[str, Any]:
    return {
        "aws:region": "us-east-1",
        "ackflow:api": {"auth": "apiKey", "stageName": "api"},
        "ackflow:workloads": {f"squaring{k}": {} for k in range(1, count + 1)},
    }


def measure_evaluation(folder: Path) -> list[dict[str, Any]]:
    """Seconds per N (the fastest run), and the ratio to N=1."""
    rows = []
    for count in COUNTS:
        workloads = folder / f"n{count}"
        for k in range(1, count + 1):
            copy_squaring(workloads, k)
        run = subprocess.run(
            [sys.executable, "-m", "bench.evaluation", str(workloads), str(count)],
            env={**os.environ, WORKLOADS_PATH_ENV: str(workloads)},
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        if run.returncode != 0:
            raise RuntimeError(f"evaluating {count} workloads failed:\n{run.stderr}")
        seconds = json.loads(run.stdout.strip().splitlines()[-1])
        rows.append({"workloads": count, "seconds": min(seconds), "runs": seconds})
    return with_ratios(rows)


def with_ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row's seconds against the first count's, per workload, and against the second
    count's scaled up in proportion (``vs_proportional``). A linear cost with a fixed part
    stays at or under 1.0 there; a cost growing faster than the count goes over."""
    first, second = rows[0], rows[1]
    for row in rows:
        proportional = second["seconds"] * row["workloads"] / second["workloads"]
        row["ratio_to_1"] = round(row["seconds"] / first["seconds"], 2)
        row["seconds_per_workload"] = round(row["seconds"] / row["workloads"], 3)
        row["vs_proportional"] = round(row["seconds"] / proportional, 2)
    return rows


def _time_captures(count: int) -> list[float]:
    from local.cloud.capture import capture

    capture("bench", stack_config(1))  # imports and first-use costs, untimed
    runs = []
    for _ in range(TIMED_RUNS[count]):
        started = time.perf_counter()
        result = capture("bench", stack_config(count))
        runs.append(round(time.perf_counter() - started, 3))
        workers = result.of_type("ackflow:index:AsyncWorker")
        if len(workers) != count:
            raise RuntimeError(f"{count} workloads enabled, {len(workers)} workers declared")
    return runs


if __name__ == "__main__":
    print(json.dumps(_time_captures(int(sys.argv[2]))))

"""``make bench``: every figure beside its baseline, measured in one run on this machine.

Starts its own `ackflow up` (the dev stack plus bench/workloads, on free ports, state under
``.ackflow/bench-run/``), measures, stops it, and writes ``bench/results/<timestamp>.json``,
``<timestamp>.md`` (printed too) and the PNG plots beside them.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.acks import (
    CONCURRENCY,
    TARGET_RATES,
    AckCase,
    ack_cases,
    baseline_case,
    group_commit_baseline_case,
    measure_at_rate,
    measure_baseline_while_draining,
    measure_case,
)
from bench.baseline_server import BaselineServer
from bench.burst import measure_burst, measure_send_message_batch
from bench.coldstart import measure_cold_starts
from bench.evaluation import measure_evaluation
from bench.floor import measure_floor
from bench.plots import plot_ack_latency, plot_burst
from bench.queues import Backlog
from bench.report import markdown
from bench.slack import measure_slack
from bench.slow_task import measure_slow_task
from bench.stack import MODEL_PACING, BenchStack, free_port_base
from bench.streaming import measure_streaming
from bench.wrk import INSTALL_HINT, wrk_available
from local.cloud.capture import PROJECT_ROOT

RESULTS = Path(__file__).parent / "results"
WORK = PROJECT_ROOT / ".ackflow" / "bench-run"


class Run:
    """One bench run's results, and its phases timed as they go; a failed phase is noted and
    the others still run."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = time.monotonic()
        self.results: dict[str, Any] = {
            "started": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "machine": machine(),
            "phases": {},
            "errors": {},
        }

    def phase(self, name: str, measure: Callable[[], Any]) -> Any:
        self.console.print(f"[bold]{name}[/] …")
        began = time.monotonic()
        try:
            value = measure()
        except Exception as error:
            self.results["errors"][name] = f"{type(error).__name__}: {error}"
            self.console.print(f"[red]{name} failed[/]\n{traceback.format_exc()}")
            value = None
        took = time.monotonic() - began
        self.results["phases"][name] = round(took, 1)
        self.console.print(f"  {name}: {took:.1f} s (at {time.monotonic() - self.started:.0f} s)")
        return value


def machine() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "commit": commit or "unknown",
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def backlog_of(stack: BenchStack, workload: str) -> Backlog:
    """The workload's destination queues, as they are now."""
    sqs = stack.client("sqs")
    return Backlog(sqs, {c: stack.queue(workload, c) for c in ("success", "failure")})


def measure_acks(run: Run, stack: BenchStack, baseline_url: str) -> list[dict[str, Any]]:
    """Each group (sync, then async) between two baseline runs, all at 1 and 32 concurrent. An
    async path's events drain before the next path is measured, so each is measured while the
    workers run its own backlog, and none is left for the figures after."""
    rows = []
    backlogs = []
    cases = ack_cases(stack.endpoints, stack.function("squaring"))
    baseline = baseline_case(baseline_url)
    for group in ("sync", "async"):
        for case in [baseline, *(c for c in cases if c.kind == group), baseline]:
            backlog = backlog_of(stack, "squaring")
            measured = [
                {**row, "group": group}
                for n in CONCURRENCY
                if (row := run.phase(f"{case.key} at {n}", lambda c=case, n=n: measure_case(c, n)))
            ]
            rows += measured
            if case.kind == "async":
                drained = run.phase(f"{case.key}'s backlog", partial(backlog.settle, measured))
                backlogs.append({"key": case.key, **(drained or {})})
    run.results["ack_backlogs"] = backlogs
    run.results["acks_at_target_rates"] = measure_at_target_rates(run, stack, cases, baseline)
    run.results["baseline_while_draining"] = measure_beside_a_drain(run, stack, cases, baseline)
    return rows


def measure_at_target_rates(
    run: Run, stack: BenchStack, cases: list[AckCase], baseline: AckCase
) -> list[dict[str, Any]]:
    """Each async path paced at its target rate, right after the baseline at the same rate;
    its backlog drains before the next."""
    measured = []
    for case in (c for c in cases if c.key in TARGET_RATES):
        rate = TARGET_RATES[case.key]
        backlog = backlog_of(stack, "squaring")
        base = run.phase(f"baseline at {rate}/s", partial(measure_at_rate, baseline, rate))
        row = run.phase(f"{case.key} at {rate}/s", partial(measure_at_rate, case, rate))
        if row:
            settle = partial(backlog.settle, [row])
            drained = run.phase(f"{case.key} at {rate}/s: its backlog", settle)
            measured.append({**row, "baseline": base, "backlog": drained or {}})
    return measured


def measure_beside_a_drain(
    run: Run, stack: BenchStack, cases: list[AckCase], baseline: AckCase
) -> dict[str, Any] | None:
    """The baseline while the stack drains a backlog of Invoke API events; then that backlog
    drained, so the figures after start from none."""
    backlog = backlog_of(stack, "squaring")
    invoke_event = next(c for c in cases if c.key == "invoke_event")
    measured = run.phase(
        "baseline while the stack drains",
        lambda: measure_baseline_while_draining(invoke_event, baseline),
    )
    if measured is None:
        return None
    accepted = [{"requests": measured["queued"], "non_2xx": measured["queued_non_2xx"]}]
    return {**measured, "backlog": run.phase("that backlog", partial(backlog.settle, accepted))}


def main() -> int:
    console = Console()
    if not wrk_available():
        console.print(f"[red]{INSTALL_HINT}[/]")
        return 2
    run = Run(console)
    results = run.results
    shutil.rmtree(WORK, ignore_errors=True)
    results["evaluation"] = run.phase(
        "program evaluation", lambda: measure_evaluation(WORK / "evaluation")
    )
    stack = BenchStack(WORK / "state", free_port_base())
    with BaselineServer(WORK / "baseline" / "events.sqlite3") as baseline:
        try:
            results["startup_seconds"] = run.phase("ackflow up", stack.start)
            if stack.endpoints:
                measure_stack(run, stack, baseline.url)
        finally:
            stack.stop()
    results["seconds"] = round(time.monotonic() - run.started, 1)
    write(results, console)
    return 1 if results["errors"] else 0


def measure_stack(run: Run, stack: BenchStack, baseline_url: str) -> None:
    results = run.results
    endpoints = stack.endpoints
    results["cold_starts"] = run.phase("cold starts", lambda: measure_cold_starts(stack))
    results["acks"] = measure_acks(run, stack, baseline_url)
    slack_backlog = backlog_of(stack, "slack")
    results["slack"] = [
        r
        for n in CONCURRENCY
        if (r := run.phase(f"slack at {n}", lambda n=n: measure_slack(endpoints, n)))
    ]
    results["slack_backlog"] = run.phase(
        "slack's backlog", lambda: slack_backlog.settle(results["slack"])
    )
    results["streaming"] = run.phase(
        "streaming", lambda: measure_streaming(stack, MODEL_PACING.first_token_seconds)
    )
    results["delivery_baseline"] = run.phase(
        "SendMessageBatch baseline", lambda: measure_send_message_batch(stack)
    )
    results["burst"] = run.phase("burst", lambda: measure_burst(stack))
    results["slow_task"] = run.phase("2-second task", lambda: measure_slow_task(endpoints))
    # Last: it lowers the stack's priority for good.
    results["floor"] = run.phase(
        "the floor: a group-committing server beside the drain, then below it",
        lambda: measure_the_floor(stack),
    )


def measure_the_floor(stack: BenchStack) -> dict[str, Any]:
    cases = ack_cases(stack.endpoints, stack.function("squaring"))
    invoke_event = next(c for c in cases if c.key == "invoke_event")
    assert stack.process is not None
    with BaselineServer(WORK / "floor" / "events.sqlite3", group_commit=True) as server:
        return measure_floor(
            stack.process.pid, invoke_event, group_commit_baseline_case(server.url)
        )


def write(results: dict[str, Any], console: Console) -> None:
    RESULTS.mkdir(exist_ok=True)
    stamp = results["started"].replace(":", "").replace("-", "")
    plots = {}
    if results.get("acks"):
        rows = [*results["acks"], *({**r, "group": "async"} for r in results.get("slack", []))]
        plots["ack latency"] = plot_ack_latency(rows, RESULTS / f"{stamp}-ack-latency.png").name
    if results.get("burst"):
        plots["burst"] = plot_burst(results["burst"], RESULTS / f"{stamp}-burst.png").name
    results["plots"] = plots
    (RESULTS / f"{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    summary = markdown(results, plots)
    (RESULTS / f"{stamp}.md").write_text(summary)
    sys.stdout.write(summary)
    console.print(f"written: bench/results/{stamp}.json, .md and {', '.join(plots.values())}")


if __name__ == "__main__":
    sys.exit(main())

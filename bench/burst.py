"""A burst of ``Event`` invocations against a running ``ackflow up``, drained to the end.

Sends ``count`` events (32 concurrent by default) through the Invoke API or a REST route,
then waits until every one is done and its records are delivered, reading the engine's
SQLite file read-only (as ``ackflow events`` does). Reports the ack rate, and the end-to-end
rate: events from the first acceptance to the last destination record taken.

    python -m bench.burst --state-dir .ackflow --stack dev --count 10000 [--via rest]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path

from bench.load import LoadResult, run_load
from local.async_invoke.stats import open_read_only, read_snapshot

__all__ = ["BurstResult", "burst"]


@dataclass
class BurstResult:
    acks: LoadResult
    drain_seconds: float
    """From the first event received to the last of their messages delivered."""
    conditions: dict[str, int]
    undelivered: int

    @property
    def events_per_second(self) -> float:
        return self.acks.statuses.get(202, 0) / self.drain_seconds if self.drain_seconds else 0.0

    def summary(self) -> str:
        return (
            f"acks: {self.acks.summary()}\n"
            f"drained {sum(self.conditions.values())} events in {self.drain_seconds:.1f} s: "
            f"{self.events_per_second:,.0f} events/s end to end; conditions {self.conditions}; "
            f"undelivered {self.undelivered}"
        )


async def burst(
    state_dir: Path,
    function: str | None = None,
    *,
    count: int,
    concurrency: int = 32,
    via: str = "invoke",
    timeout: float = 600.0,
) -> BurstResult:
    endpoints = json.loads((state_dir / "endpoints.json").read_text())
    function = function or endpoints["workloads"]["squaring"]["function_name"]
    started = time.time()
    if via == "rest":
        acks = await run_load(
            lambda n: f"{endpoints['rest_url']}/square/{n}",
            count=count,
            concurrency=concurrency,
            headers={"InvocationType": "Event"},
        )
    else:
        url = f"{endpoints['lambda_endpoint_url']}/2015-03-31/functions/{function}/invocations"
        acks = await run_load(
            url,
            count=count,
            concurrency=concurrency,
            method="POST",
            headers={"X-Amz-Invocation-Type": "Event"},
            body=lambda n: json.dumps({"number": str(n)}).encode(),
        )
    if not acks.statuses.get(202):
        raise RuntimeError(f"no event was acknowledged: {dict(acks.statuses)}")
    db = open_read_only(state_dir / "events.sqlite3")
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            stats = read_snapshot(db).functions.get(function)
            if stats and not stats.backlog and not stats.deliveries_pending:
                break
            await asyncio.sleep(0.5)
        first, last_done, last_sent = db.execute(
            "SELECT min(received_at), max(finished_at),"
            " (SELECT max(done_at) FROM deliveries AS d JOIN events AS e USING (request_id)"
            "  WHERE e.function_name = ? AND e.received_at >= ?)"
            " FROM events WHERE function_name = ? AND received_at >= ?",
            (function, started, function, started),
        ).fetchone()
        conditions = dict(
            db.execute(
                "SELECT condition, count(*) FROM events WHERE function_name = ?"
                " AND received_at >= ? GROUP BY condition",
                (function, started),
            ).fetchall()
        )
        stats = read_snapshot(db).functions.get(function)
    finally:
        db.close()
    end = max(t for t in (last_done, last_sent) if t is not None)
    return BurstResult(
        acks=acks,
        drain_seconds=end - first,
        conditions=conditions,
        undelivered=stats.deliveries_pending if stats else 0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, default=Path(".ackflow"))
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--function", help="default: the squaring worker")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--via", choices=("invoke", "rest"), default="invoke")
    args = parser.parse_args()
    result = asyncio.run(
        burst(
            args.state_dir / args.stack,
            args.function,
            count=args.count,
            concurrency=args.concurrency,
            via=args.via,
        )
    )
    print(result.summary())


if __name__ == "__main__":
    main()

"""A closed-loop HTTP load client: ``concurrency`` connections sending ``count`` requests.

Each connection sends its next request as soon as the previous one is answered, as the
issue's measurements did (aiohttp, 32 concurrent). Latencies are per request, in seconds.

    python -m bench.load URL --count 5000 --concurrency 32 [-H 'Name: value'] [--method POST]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import aiohttp

__all__ = ["LoadResult", "run_load"]


@dataclass
class LoadResult:
    """What a run measured."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    bodies: list[bytes] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0

    def summary(self) -> str:
        return (
            f"{len(self.latencies)} requests in {self.seconds:.2f} s: {self.rate:,.0f}/s, "
            f"p50 {self.percentile(50) * 1000:.1f} ms, p99 {self.percentile(99) * 1000:.1f} ms, "
            f"mean {statistics.fmean(self.latencies) * 1000:.1f} ms, "
            f"statuses {dict(self.statuses)}"
        )


async def run_load(
    url: str | Callable[[int], str],
    *,
    count: int,
    concurrency: int,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | Callable[[int], bytes] | None = None,
    keep_bodies: bool = False,
) -> LoadResult:
    """Send ``count`` requests over ``concurrency`` keep-alive connections; ``url`` and
    ``body`` may be functions of the request's number."""
    numbers = iter(range(count))
    result = LoadResult(seconds=0.0)
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def connection() -> None:
            for n in numbers:
                target = url(n) if callable(url) else url
                data = body(n) if callable(body) else body
                started = time.perf_counter()
                async with session.request(method, target, headers=headers, data=data) as answer:
                    content = await answer.read()
                result.latencies.append(time.perf_counter() - started)
                result.statuses[answer.status] += 1
                if keep_bodies:
                    result.bodies.append(content)

        started = time.perf_counter()
        await asyncio.gather(*(connection() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--data", default=None)
    parser.add_argument("-H", "--header", action="append", default=[])
    args = parser.parse_args()
    headers = dict(h.split(":", 1) for h in args.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    result = asyncio.run(
        run_load(
            args.url,
            count=args.count,
            concurrency=args.concurrency,
            method=args.method,
            headers=headers,
            body=args.data.encode() if args.data is not None else None,
        )
    )
    print(result.summary())


if __name__ == "__main__":
    main()

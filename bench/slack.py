"""Slack's ack: signed slash commands to the stack's ``slack_command_url``, at 1 and 32 at a
time, timed from the request to its 200 (Slack gives up after 3 s).

An aiohttp client, not wrk: every command is its own (its response URL and trigger id) and is
signed over its body with the stack's signing secret, as Slack signs it.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
import uuid
from typing import Any

import aiohttp

from bench.percentiles import nearest_rank
from bench.wrk import CDF_PERCENTILES
from local.standins.slack_command import signed_headers

__all__ = ["SLACK_DEADLINE_MS", "measure_slack"]

SLACK_DEADLINE_MS = 3000
SECONDS = 3.0
MAX_COMMANDS = {1: 200, 32: 1000}
"""At most this many per run: each one queues a worker event that posts to the sink."""


def measure_slack(endpoints: dict[str, Any], concurrency: int) -> dict[str, Any]:
    return asyncio.run(_measure(endpoints, concurrency))


def command_body(response_sink_url: str, text: str = "12") -> str:
    """A ``/square`` command as Slack posts it, with its own response URL and trigger id."""
    return urllib.parse.urlencode(
        {
            "token": "bench",
            "team_id": "T0BENCH",
            "team_domain": "ackflow-bench",
            "channel_id": "C0BENCH",
            "channel_name": "bench",
            "user_id": "U0BENCH",
            "user_name": "bench",
            "command": "/square",
            "text": text,
            "api_app_id": "A0BENCH",
            "response_url": f"{response_sink_url}/{uuid.uuid4()}",
            "trigger_id": f"{time.time_ns()}.bench.{uuid.uuid4().hex}",
        }
    )


async def _measure(endpoints: dict[str, Any], concurrency: int) -> dict[str, Any]:
    url = endpoints["slack_command_url"]
    secret = endpoints["slack_signing_secret"]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    limit = MAX_COMMANDS[concurrency]
    started = time.monotonic()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def send_commands() -> None:
            while time.monotonic() - started < SECONDS and len(latencies) < limit:
                body = command_body(endpoints["response_sink_url"])
                sent = time.monotonic()
                async with http.post(url, data=body, headers=signed_headers(secret, body)) as ack:
                    await ack.read()
                    latencies.append(time.monotonic() - sent)
                    statuses[ack.status] = statuses.get(ack.status, 0) + 1

        await asyncio.gather(*(send_commands() for _ in range(concurrency)))
    seconds = time.monotonic() - started
    ordered = sorted(latencies)
    cdf = [[p, round(nearest_rank(ordered, p) * 1000, 3)] for p in CDF_PERCENTILES]
    return {
        "key": "slack",
        "label": "Slack slash command ack",
        "kind": "async",
        "concurrency": concurrency,
        "requests": len(latencies),
        "seconds": round(seconds, 3),
        "rate": round(len(latencies) / seconds, 1),
        "p50_ms": round(nearest_rank(ordered, 50) * 1000, 3),
        "p99_ms": round(nearest_rank(ordered, 99) * 1000, 3),
        "non_2xx": sum(n for status, n in statuses.items() if not 200 <= status < 300),
        "socket_errors": 0,
        "cdf": cdf,
    }

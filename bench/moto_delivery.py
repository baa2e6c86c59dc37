"""Delivery's baseline: a bare loop of ``SendMessageBatch`` (10 records a call) into one queue
of a moto server, as the queue fills. Compares moto's own server with ackflow's
(:mod:`local.aws_services.moto_process`), each started fresh on a free port.

    python -m bench.moto_delivery --messages 5000
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import boto3

__all__ = ["DeliveryRate", "send_batches"]

RECORD = json.dumps(
    {
        "version": "1.0",
        "timestamp": "2026-01-01T00:00:00.000Z",
        "requestContext": {"requestId": "0" * 36, "condition": "Success"},
        "requestPayload": {"number": "7"},
        "responsePayload": {"number": 7, "square": 49},
    }
)


@dataclass
class DeliveryRate:
    first_rate: float
    """Messages/s over the first tenth of the run (an empty queue)."""
    last_rate: float
    """Messages/s over the last tenth (the queue holding almost all of them)."""


def send_batches(endpoint: str, messages: int) -> DeliveryRate:
    sqs = boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    url = sqs.create_queue(QueueName=f"bench-{time.time_ns()}")["QueueUrl"]
    calls = messages // 10
    stamps = []
    for _ in range(calls):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": RECORD} for n in range(10)]
        )
        stamps.append(time.perf_counter())
    tenth = max(1, calls // 10)
    return DeliveryRate(
        first_rate=10 * tenth / (stamps[tenth] - stamps[0]),
        last_rate=10 * tenth / (stamps[-1] - stamps[-1 - tenth]),
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(module: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", module, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"http://127.0.0.1:{port}"
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{module} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    args = parser.parse_args()
    for module in ("moto.server", "local.aws_services.moto_process"):
        process, endpoint = _serve(module)
        try:
            rate = send_batches(endpoint, args.messages)
        finally:
            process.terminate()
            process.wait()
        print(
            f"{module}: {rate.first_rate:,.0f} msg/s into an empty queue, "
            f"{rate.last_rate:,.0f} msg/s with {args.messages * 9 // 10:,} already in it"
        )


if __name__ == "__main__":
    main()

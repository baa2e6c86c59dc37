"""The burst figure: 10,000 Event invocations of the squaring worker through the Invoke API,
each followed to its destination record; and delivery's baseline, a bare loop of SQS
SendMessageBatch against the same moto.

The requests go out from an aiohttp client (32 at a time), each signed with SigV4 over its own
payload: wrk cannot sign a body that changes with every request. They are all signed before
the burst starts (a signature stays valid for five minutes), so that the client's signing does
not set the pace: it held the acks to about 1,700/s, where wrk sends 2,000-2,500/s. Each event
carries its own number, so every record found in a queue names the event it is for.

A record counts from when it reached its queue (SQS's ``SentTimestamp``), and the queues are
read once the records are in: a reader running during the drain would take the same two cores
as the stack it measures (it halved the rate measured here).
"""

from __future__ import annotations

import asyncio
import collections
import json
import time
from typing import TYPE_CHECKING, Any

import aiohttp

from bench.percentiles import nearest_rank
from bench.queues import QueueReader, purge, queue_depths, wait_for_records
from bench.signing import invoke_url, sigv4_headers

if TYPE_CHECKING:
    from bench.stack import BenchStack

__all__ = ["BURST_EVENTS", "measure_burst", "measure_send_message_batch"]

BURST_EVENTS = 10_000
CONCURRENCY = 32
FIRST_NUMBER = 10**12
"""Event i squares FIRST_NUMBER + i, so records of earlier figures are told apart."""
WAIT_CAP_SECONDS = 180
"""After the last ack, wait at most this long for a record of every event to reach the
queues, and as long again to read them..."""
STALL_SECONDS = 30
"""...or this long without a new record."""
BUCKET_SECONDS = 0.5
BASELINE_SECONDS = 3.0
BASELINE_QUEUE = "ackflow-bench-send-message-batch"


def measure_burst(stack: BenchStack) -> dict[str, Any]:
    """Send the burst, drain it, and say what became of each event, with a timeline."""
    sqs = stack.client("sqs")
    urls = {c: stack.queue("squaring", c) for c in ("success", "failure")}
    purge(sqs, urls)
    url = invoke_url(stack.endpoints, stack.function("squaring"))
    requests = _signed_requests(stack.endpoints, url)
    started = time.time()
    acks, latencies = asyncio.run(_send(url, requests))
    submitted = time.time()
    accepted = {i for i, (status, _) in acks.items() if status == 202}
    wait_for_records(sqs, urls, len(accepted), STALL_SECONDS, WAIT_CAP_SECONDS)
    reader = QueueReader(lambda: stack.client("sqs"), urls, threads_per_queue=3)
    reader.start()
    outcome = _read_until_accounted(reader, accepted)
    finished = time.time()
    reader.stop()
    return {
        **_summary(acks, outcome, started, submitted, finished, reader),
        **_ack_latency(latencies),
        "unread": sum(queue_depths(sqs, urls).values()),
    }


def _signed_requests(endpoints: dict[str, Any], url: str) -> list[tuple[str, dict[str, str]]]:
    """Event i's body and signed headers."""
    requests = []
    for i in range(BURST_EVENTS):
        body = json.dumps({"number": str(FIRST_NUMBER + i)})
        headers = sigv4_headers(endpoints, url, body, "lambda", {"X-Amz-Invocation-Type": "Event"})
        requests.append((body, headers))
    return requests


async def _send(
    url: str, requests: list[tuple[str, dict[str, str]]]
) -> tuple[dict[int, tuple[int, float]], list[float]]:
    """Event i → (the HTTP status of its ack, ``time.time()`` of the ack); and each request's
    seconds until its answer."""
    pending = iter(enumerate(requests))
    acks: dict[int, tuple[int, float]] = {}
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send_next() -> None:
            for i, (body, headers) in pending:
                sent = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as answer:
                    await answer.read()
                    acks[i] = (answer.status, time.time())
                latencies.append(time.perf_counter() - sent)

        await asyncio.gather(*(send_next() for _ in range(CONCURRENCY)))
    return acks, latencies


def _ack_latency(latencies: list[float]) -> dict[str, float]:
    """The acks' p50 and p99, in ms: the engine holds acks while its queue could not start a
    new event within its age, so a burst that outruns the drain shows here."""
    ordered = sorted(latencies)
    if not ordered:
        return {"ack_p50_ms": 0.0, "ack_p99_ms": 0.0}
    return {
        "ack_p50_ms": round(nearest_rank(ordered, 50) * 1000, 1),
        "ack_p99_ms": round(nearest_rank(ordered, 99) * 1000, 1),
    }


def _event_of(record: dict[str, Any]) -> int | None:
    try:
        index = int(record["requestPayload"]["number"]) - FIRST_NUMBER
    except (KeyError, TypeError, ValueError):
        return None
    return index if 0 <= index < BURST_EVENTS else None


def _read_until_accounted(reader: QueueReader, accepted: set[int]) -> dict[int, str]:
    """Event → its first record's condition, once all are accounted for or the wait ends."""
    outcome: dict[int, str] = {}
    seen = 0
    reading = last_progress = time.time()
    while True:
        for item in reader.received[seen:]:
            index = _event_of(item.record)
            if index is not None:
                outcome.setdefault(index, item.record["requestContext"]["condition"])
        if len(reader.received) > seen:
            seen, last_progress = len(reader.received), time.time()
        now = time.time()
        if (
            accepted <= outcome.keys()
            or now - reading > WAIT_CAP_SECONDS
            or now - last_progress > STALL_SECONDS
        ):
            return outcome
        time.sleep(0.2)


def _summary(
    acks: dict[int, tuple[int, float]],
    outcome: dict[int, str],
    started: float,
    submitted: float,
    finished: float,
    reader: QueueReader,
) -> dict[str, Any]:
    accepted = {i for i, (status, _) in acks.items() if status == 202}
    conditions = collections.Counter(outcome.values())
    per_event = collections.Counter(
        index for item in reader.received if (index := _event_of(item.record)) is not None
    )
    success_times = sorted(
        item.at
        for item in reader.received
        if item.record["requestContext"]["condition"] == "Success"
        and _event_of(item.record) is not None
    )
    all_in = accepted <= outcome.keys()
    arrived = max(
        (item.at for item in reader.received if _event_of(item.record) is not None),
        default=submitted,
    )
    drained = (success_times[-1] if success_times else arrived) - started
    beside, after = _drain_rates(success_times, started, submitted)
    return {
        "events": BURST_EVENTS,
        "accepted": len(accepted),
        "refused": dict(collections.Counter(s for s, _ in acks.values() if s != 202)),
        "submit_seconds": round(submitted - started, 2),
        "ack_rate": round(len(acks) / (submitted - started), 1),
        "success": conditions.get("Success", 0),
        "failure_conditions": {c: n for c, n in conditions.items() if c != "Success"},
        "aged_out": conditions.get("EventAgeExceeded", 0),
        "duplicates": sum(n - 1 for n in per_event.values() if n > 1),
        "unaccounted": len(accepted - outcome.keys()),
        "unaccounted_numbers": [FIRST_NUMBER + i for i in sorted(accepted - outcome.keys())[:20]],
        "reader_errors": reader.errors[:20],
        "all_accounted": all_in,
        "seconds_until_accounted": round(arrived - started, 2) if all_in else None,
        "waited_seconds": round(finished - started, 2),
        "success_per_second": round(conditions.get("Success", 0) / drained, 1) if drained else 0,
        "success_per_second_beside_acks": beside,
        "success_per_second_after_acks": after,
        "timeline": _timeline(acks, reader, started),
    }


def _drain_rates(
    success_times: list[float], started: float, submitted: float
) -> tuple[float, float]:
    """Success records per second while the acks ran, and from the last ack to the last record:
    the drain is slower beside the acks, which is what decides how long the last event waits."""
    beside = sum(1 for at in success_times if at <= submitted)
    after = len(success_times) - beside
    acking = submitted - started
    draining = (success_times[-1] - submitted) if after else 0.0
    return (
        round(beside / acking, 1) if acking > 0 else 0.0,
        round(after / draining, 1) if draining > 0 else 0.0,
    )


def _timeline(
    acks: dict[int, tuple[int, float]], reader: QueueReader, started: float
) -> dict[str, list[float]]:
    """Per BUCKET_SECONDS from the first request: acks, success and failure records per second."""
    series: dict[str, collections.Counter[int]] = {
        "accepted": collections.Counter(),
        "success": collections.Counter(),
        "failure": collections.Counter(),
    }
    for status, at in acks.values():
        if status == 202:
            series["accepted"][int((at - started) / BUCKET_SECONDS)] += 1
    for item in reader.received:
        if _event_of(item.record) is not None:
            series[item.queue][int((item.at - started) / BUCKET_SECONDS)] += 1
    buckets = max((max(c, default=0) for c in series.values()), default=0) + 1
    return {
        "bucket_seconds": [round(b * BUCKET_SECONDS, 2) for b in range(buckets)],
        **{
            name: [counts.get(b, 0) / BUCKET_SECONDS for b in range(buckets)]
            for name, counts in series.items()
        },
    }


def measure_send_message_batch(stack: BenchStack, record_bytes: int = 700) -> dict[str, Any]:
    """Messages per second that one loop of SendMessageBatch (10 a call) gets into moto."""
    sqs = stack.client("sqs")
    url = sqs.create_queue(QueueName=BASELINE_QUEUE)["QueueUrl"]
    body = json.dumps({"record": "x" * record_bytes})  # the size of a destination record
    sent = 0
    started = time.monotonic()
    try:
        while time.monotonic() - started < BASELINE_SECONDS:
            sqs.send_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": body} for i in range(10)]
            )
            sent += 10
        seconds = time.monotonic() - started
    finally:
        sqs.delete_queue(QueueUrl=url)
    return {"messages": sent, "seconds": round(seconds, 3), "rate": round(sent / seconds, 1)}

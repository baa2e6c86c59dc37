"""Destination records in moto's SQS, read through the AWS API: counted, waited for, drained."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

__all__ = ["Backlog", "QueueReader", "Received", "purge", "queue_depths", "wait_for_records"]


def queue_depths(sqs: Any, urls: Mapping[str, str]) -> dict[str, int]:
    """Messages waiting in each queue (moto counts them exactly)."""
    return {
        name: int(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
                "Attributes"
            ]["ApproximateNumberOfMessages"]
        )
        for name, url in urls.items()
    }


def wait_for_records(
    sqs: Any,
    urls: Mapping[str, str],
    expected: int,
    stall_seconds: float = 15,
    cap_seconds: float = 60,
) -> tuple[dict[str, int], float]:
    """Wait until the queues hold ``expected`` records together (one per accepted event), or
    none came for ``stall_seconds``, or ``cap_seconds`` passed; returns the depths then and
    the seconds waited."""
    started = time.monotonic()
    depths = queue_depths(sqs, urls)
    changed = started
    while (
        sum(depths.values()) < expected
        and time.monotonic() - changed < stall_seconds
        and time.monotonic() - started < cap_seconds
    ):
        time.sleep(0.5)
        now = queue_depths(sqs, urls)
        if now != depths:
            depths, changed = now, time.monotonic()
    return depths, time.monotonic() - started


@dataclass
class Backlog:
    """A workload's destination queues and what they held before a figure ran: then, once the
    figure ran, waiting for a record of each event it had accepted."""

    sqs: Any
    urls: Mapping[str, str]
    before: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.before = queue_depths(self.sqs, self.urls)

    def settle(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """``rows``: the figure's result rows (their requests less those refused)."""
        accepted = sum(r["requests"] - r["non_2xx"] for r in rows)
        expected = sum(self.before.values()) + accepted
        depths, waited = wait_for_records(self.sqs, self.urls, expected)
        return {
            "accepted": accepted,
            **{c: depths[c] - self.before[c] for c in depths},
            "waited_seconds": round(waited, 1),
            "failure_sample": self._failure_sample() if depths["failure"] else {},
        }

    def _failure_sample(self) -> dict[str, int]:
        """What up to 10 failure records say: their condition and the function's error type."""
        messages = self.sqs.receive_message(
            QueueUrl=self.urls["failure"], MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", [])
        seen: dict[str, int] = {}
        for message in messages:
            record = json.loads(message["Body"])
            error = (record.get("responsePayload") or {}).get("errorType")
            what = record["requestContext"]["condition"] + (f" {error}" if error else "")
            seen[what] = seen.get(what, 0) + 1
        return seen


def purge(sqs: Any, urls: Mapping[str, str]) -> None:
    for url in urls.values():
        sqs.purge_queue(QueueUrl=url)


@dataclass(frozen=True)
class Received:
    """A destination record as the reader got it."""

    queue: str
    at: float
    """When the record reached its queue (SQS's ``SentTimestamp``), as ``time.time()``."""
    record: dict[str, Any]


@dataclass
class QueueReader:
    """Threads that receive and delete records from queues as they arrive (ReceiveMessage of
    10, then DeleteMessageBatch), keeping each record."""

    make_client: Callable[[], Any]
    urls: Mapping[str, str]
    threads_per_queue: int = 2
    received: list[Received] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Calls that failed (and were tried again): a message received but not deleted comes back
    after its visibility timeout, as on AWS."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for name, url in self.urls.items():
            for _ in range(self.threads_per_queue):
                thread = threading.Thread(target=self._read, args=(name, url), daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _read(self, name: str, url: str) -> None:
        sqs = self.make_client()
        while not self._stop.is_set():
            try:
                self._read_once(sqs, name, url)
            except (BotoCoreError, ClientError) as error:
                self.errors.append(f"{type(error).__name__}: {error}")
                time.sleep(0.5)

    def _read_once(self, sqs: Any, name: str, url: str) -> None:
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["SentTimestamp"],
        ).get("Messages", [])
        if not messages:
            return
        self.received.extend(
            Received(name, int(m["Attributes"]["SentTimestamp"]) / 1000, json.loads(m["Body"]))
            for m in messages
        )
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )

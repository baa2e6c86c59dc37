"""The outbox: records sent in batches that fill under load, only failed entries retried,
refusals not retried, and a target that does not answer holding up no other."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from local.async_invoke.aging import BACKOFF_MAX_SECONDS, backoff_seconds
from local.async_invoke.destinations import DestinationSender
from local.async_invoke.outbox import MAX_BATCHES_PER_TARGET
from local.lambda_.invocation import MAX_ASYNC_PAYLOAD_BYTES
from tests.local.async_invoke.helpers import (
    ACCOUNT,
    REGION,
    Queue,
    accept,
    accept_all,
    function,
    receive,
    run_until,
)


def receive_all(sqs: Any, queue: Queue) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while batch := receive(sqs, queue):
        messages += batch
        for message in batch:
            sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"])
    return messages


class FlakyBatches:
    """The real SQS client, except that the first SendMessageBatch carrying the record of a
    chosen event answers that entry as a server fault (``SenderFault: false``), unsent."""

    def __init__(self, real: Any, flaky: set[int]) -> None:
        self.real = real
        self.flaky = set(flaky)
        self.batches: list[list[int]] = []

    def get_queue_url(self, **kwargs: Any) -> Any:
        return self.real.get_queue_url(**kwargs)

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        numbers = [json.loads(e["MessageBody"])["requestPayload"]["n"] for e in Entries]
        self.batches.append(numbers)
        failing = [e for e, n in zip(Entries, numbers, strict=True) if n in self.flaky]
        self.flaky -= set(numbers)
        answer = self.real.send_message_batch(
            QueueUrl=QueueUrl, Entries=[e for e in Entries if e not in failing]
        )
        answer.setdefault("Failed", []).extend(
            {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "try again"}
            for e in failing
        )
        return answer


class SlowBatches:
    """The real SQS client, each SendMessageBatch taking ``seconds`` longer, or held until
    :attr:`released` for the queues in ``held``; counts the calls each queue has in flight."""

    def __init__(self, real: Any, seconds: float = 0.0, held: frozenset[str] = frozenset()):
        self.real = real
        self.seconds = seconds
        self.held = held
        self.released = threading.Event()
        self.sizes: list[int] = []
        self.in_flight: Counter[str] = Counter()
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def get_queue_url(self, **kwargs: Any) -> Any:
        return self.real.get_queue_url(**kwargs)

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        with self._lock:
            self.sizes.append(len(Entries))
            self.in_flight[QueueUrl] += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight[QueueUrl])
        try:
            if QueueUrl in self.held:
                self.released.wait(10)
            time.sleep(self.seconds)
            return self.real.send_message_batch(QueueUrl=QueueUrl, Entries=Entries)
        finally:
            with self._lock:
                self.in_flight[QueueUrl] -= 1


def test_under_load_a_targets_records_wait_in_line_and_leave_in_full_batches(
    make_engine, new_queue, sqs
):
    queue = new_queue()
    client = SlowBatches(sqs, seconds=0.05)
    engine = make_engine(
        function(on_success=queue.arn), sender=DestinationSender(clients={"sqs": client})
    )
    accept_all(engine, "worker", [json.dumps({"n": n}).encode() for n in range(100)])

    run_until(engine)

    numbers = sorted(json.loads(m["Body"])["requestPayload"]["n"] for m in receive_all(sqs, queue))
    assert numbers == list(range(100))
    assert client.most_in_flight == MAX_BATCHES_PER_TARGET
    # The first records leave at once, one or a few a call; the rest fill their calls.
    assert len(client.sizes) <= 100 // 10 + MAX_BATCHES_PER_TARGET, client.sizes


def test_a_target_that_does_not_answer_holds_up_no_other(make_engine, new_queue, sqs):
    stuck, other = new_queue(), new_queue()
    client = SlowBatches(sqs, held=frozenset({stuck.url}))
    engine = make_engine(
        function("stuck", on_success=stuck.arn),
        function("other", on_success=other.arn),
        sender=DestinationSender(clients={"sqs": client}),
    )
    accept_all(engine, "stuck", [b"{}"] * 200)  # more than the outbox holds of one target
    accept_all(engine, "other", [b"{}"] * 5)
    delivered: list[dict[str, Any]] = []

    def others_delivered() -> bool:
        delivered.extend(receive_all(sqs, other))
        if len(delivered) < 5:
            return False
        client.released.set()  # lets the stuck calls end, so the engine can stop
        return True

    run_until(engine, others_delivered)

    assert len(delivered) == 5
    assert client.most_in_flight == MAX_BATCHES_PER_TARGET  # to the stuck queue


def test_records_go_in_batches_of_ten_and_only_failed_entries_are_retried(
    make_engine, new_queue, sqs, tmp_path
):
    queue = new_queue()
    client = FlakyBatches(sqs, {3, 17})
    engine = make_engine(
        function(on_success=queue.arn), sender=DestinationSender(clients={"sqs": client})
    )
    ids = accept_all(engine, "worker", [json.dumps({"n": n}).encode() for n in range(25)])

    run_until(engine)

    delivered = receive_all(sqs, queue)
    numbers = sorted(json.loads(m["Body"])["requestPayload"]["n"] for m in delivered)
    assert numbers == list(range(25))  # each record once: the good entries were not resent
    assert all(len(batch) <= 10 for batch in client.batches)
    assert sum(len(batch) for batch in client.batches) == 27  # 25, plus the 2 retried
    retried = [n for n in range(25) if sum(batch.count(n) for batch in client.batches) == 2]
    assert retried == [3, 17]
    states = _delivery_states(tmp_path)
    assert {i: states[i] for i in ids} == {
        i: ("sent", 2 if n in (3, 17) else 1) for n, i in enumerate(ids)
    }


def test_a_batch_refused_whole_is_split_and_only_the_refused_record_is_rejected(
    make_engine, sqs, caplog, tmp_path
):
    name = f"small-{uuid.uuid4().hex[:12]}"
    url = sqs.create_queue(QueueName=name, Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    queue = Queue(url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")
    engine = make_engine(function(on_success=queue.arn))
    small = [json.dumps({"n": n}).encode() for n in range(4)]
    big = json.dumps({"n": 99, "pad": "x" * 2000}).encode()
    ids = accept_all(engine, "worker", [*small, big])

    with caplog.at_level(logging.ERROR):
        run_until(engine)

    delivered = receive_all(sqs, queue)
    assert sorted(json.loads(m["Body"])["requestPayload"]["n"] for m in delivered) == [0, 1, 2, 3]
    states = _delivery_states(tmp_path)
    assert states[ids[-1]] == ("rejected", 1)  # tried once, never again
    assert {states[i] for i in ids[:-1]} == {("sent", 1)}  # in the same try, one by one
    assert "rejects the record" in caplog.text and ids[-1] in caplog.text


def test_a_record_over_sqss_limit_is_rejected_once_and_the_engine_goes_idle(
    make_engine, new_queue, sqs, caplog, tmp_path
):
    queue = new_queue()
    engine = make_engine(function(on_success=queue.arn))
    # The event is under the 1 MB Invoke limit; its record (event and echoed result) is not.
    payload = json.dumps({"blob": "x" * (MAX_ASYNC_PAYLOAD_BYTES - 100)}).encode()
    request_id = accept(engine, "worker", payload)

    with caplog.at_level(logging.ERROR):
        run_until(engine)  # idle: nothing is retried forever

    status = engine.status(request_id)
    assert (status.condition, status.undelivered) == ("Success", 0)
    assert "over SQS's 1048576-byte limit" in status.last_delivery_error
    assert _delivery_states(tmp_path)[request_id] == ("rejected", 1)
    assert receive(sqs, queue) == []
    assert "rejects the record" in caplog.text


def test_a_thousand_failed_tries_do_not_overflow_the_backoff(make_engine, tmp_path):
    assert backoff_seconds(1025) == backoff_seconds(10**6) == BACKOFF_MAX_SECONDS
    missing = f"arn:aws:sqs:{REGION}:{ACCOUNT}:never-made-{uuid.uuid4().hex[:8]}"
    engine = make_engine(function(on_success=missing), scale=0.0001)
    request_id = accept(engine, "worker", b"{}")
    run_until(engine, lambda: engine.status(request_id).last_delivery_error is not None)
    with sqlite3.connect(tmp_path / "q.db") as db:
        db.execute("UPDATE deliveries SET attempts = 2000, next_attempt_at = 0")

    run_until(engine, lambda: _delivery_states(tmp_path)[request_id][1] > 2000)

    state, attempts = _delivery_states(tmp_path)[request_id]
    assert (state, attempts) == ("pending", 2001)  # tried again later, not stuck `sending`


def _delivery_states(tmp_path: Path) -> dict[str, tuple[str, int]]:
    """Each event's message: (state, attempts)."""
    with sqlite3.connect(tmp_path / "q.db") as db:
        rows = db.execute("SELECT request_id, state, attempts FROM deliveries").fetchall()
    return {request_id: (state, attempts) for request_id, state, attempts in rows}

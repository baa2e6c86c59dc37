"""ackflow's moto: the same answers as moto's, safe across its server's threads, and without
walking the queue per message."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from unittest import mock

import boto3
import pytest
from moto import backends, mock_aws
from moto.sqs.models import Message, Queue, sqs_backends

from local.aws_services.moto_process import list_moto_modules_once, patch_moto_sqs

ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture
def sqs() -> Iterator[object]:
    patch_moto_sqs()
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)


class PropertyReads:
    """Counts the reads of one of moto's properties (``cls.name``)."""

    def __init__(self, cls: type, name: str) -> None:
        self.count = 0
        self._cls = cls
        self._name = name
        self._read = getattr(cls, name).fget

    def __enter__(self) -> PropertyReads:
        def counted(instance: object) -> object:
            self.count += 1
            return self._read(instance)

        self._patch = mock.patch.object(self._cls, self._name, property(counted))
        self._patch.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._patch.stop()


def queue_walks() -> PropertyReads:
    """Counts the walks over a queue's messages that building its attributes makes (the count
    of visible messages is one of them)."""
    return PropertyReads(Queue, "approximate_number_of_messages")


def test_sending_to_and_receiving_from_a_standard_queue_walks_no_queue(sqs):
    url = sqs.create_queue(QueueName="records")["QueueUrl"]
    with queue_walks() as walks:
        for n in range(30):
            sqs.send_message(QueueUrl=url, MessageBody=f"record {n}")
        received = []
        while answer := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            received += [m["Body"] for m in answer]
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(answer)
            ]
            sqs.delete_message_batch(QueueUrl=url, Entries=entries)

    assert sorted(received) == sorted(f"record {n}" for n in range(30))
    assert walks.count == 0


def _fill(sqs, url: str, count: int) -> None:
    for start in range(0, count, 10):
        entries = [{"Id": str(n), "MessageBody": f"record {start + n}"} for n in range(10)]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)


def test_receiving_from_a_long_queue_reads_the_clock_per_message_handed_out(sqs):
    """moto reads the clock for each message in the queue (``Message.visible``), twice."""
    url = sqs.create_queue(QueueName="long")["QueueUrl"]
    _fill(sqs, url, 1_000)

    with PropertyReads(Message, "visible") as clock_reads:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)

    assert len(answer["Messages"]) == 10
    assert clock_reads.count <= 2 * 10


def test_a_delete_batch_walks_a_long_queue_once(sqs):
    """moto walks the queue twice for each entry, reading every message's receipt handles."""
    url = sqs.create_queue(QueueName="long")["QueueUrl"]
    _fill(sqs, url, 1_000)
    answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(answer)]

    with PropertyReads(Message, "all_receipt_handles") as handle_reads:
        deleted = sqs.delete_message_batch(QueueUrl=url, Entries=entries)

    assert sorted(s["Id"] for s in deleted["Successful"]) == sorted(e["Id"] for e in entries)
    assert deleted.get("Failed", []) == []
    assert len(sqs_backends[ACCOUNT][REGION].get_queue("long")._messages) == 990
    assert handle_reads.count <= 3 * 10


def test_a_delete_batch_answers_each_entry_as_moto_does(sqs):
    url = sqs.create_queue(QueueName="records")["QueueUrl"]
    _fill(sqs, url, 20)
    first, second, third = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=third["ReceiptHandle"])

    answer = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "first", "ReceiptHandle": first["ReceiptHandle"]},
            {"Id": "unknown", "ReceiptHandle": "no-such-handle"},
            {"Id": "second", "ReceiptHandle": second["ReceiptHandle"]},
            {"Id": "deleted-before", "ReceiptHandle": third["ReceiptHandle"]},
        ],
    )

    assert sorted(s["Id"] for s in answer["Successful"]) == [
        "deleted-before",
        "first",
        "second",
    ]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in answer["Failed"]] == [
        ("unknown", "ReceiptHandleIsInvalid", True)
    ]
    left = sqs_backends[ACCOUNT][REGION].get_queue("records")._messages
    assert sorted(m.body for m in left) == sorted(f"record {n}" for n in range(3, 20))


def test_a_message_past_its_queues_retention_is_still_not_received(sqs):
    url = sqs.create_queue(QueueName="short", Attributes={"MessageRetentionPeriod": "60"})[
        "QueueUrl"
    ]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    (old,) = sqs_backends[ACCOUNT][REGION].get_queue("short")._messages
    old.sent_timestamp -= 61_000  # milliseconds: sent 61 s ago, over the 60 s retention

    expired = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    sqs.send_message(QueueUrl=url, MessageBody="new")
    fresh = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)

    assert "Messages" not in expired
    assert [m["Body"] for m in fresh["Messages"]] == ["new"]


def test_a_fifo_queue_still_reads_its_deduplication_setting(sqs):
    url = sqs.create_queue(
        QueueName="ordered.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")

    answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)

    assert [m["Body"] for m in answer["Messages"]] == ["same"]  # the second was deduplicated


def test_threads_sending_receiving_and_deleting_at_once_lose_and_repeat_nothing(sqs):
    """As moto's server runs them, one thread a request: unpatched, a delete rebuilding the
    queue's list drops messages appended meanwhile and brings back ones already deleted."""
    sqs.create_queue(QueueName="busy")
    backend = sqs_backends[ACCOUNT][REGION]
    senders, per_sender = 2, 500
    received: list[str] = []
    refused: list[Exception] = []
    sending_done = threading.Event()

    def send(sender: int) -> None:
        for n in range(per_sender):
            backend.send_message("busy", f"{sender}-{n}")

    def receive_and_delete() -> None:
        while True:
            finished = sending_done.is_set()  # read first: an empty queue after it is final
            messages = backend.receive_message("busy", 10, 0, 30)
            if not messages and finished:
                return
            for message in messages:
                received.append(message.body)
                try:
                    backend.delete_message("busy", message.receipt_handle)
                except Exception as error:  # the test counts every refusal
                    refused.append(error)

    sending = [threading.Thread(target=send, args=(s,)) for s in range(senders)]
    reading = [threading.Thread(target=receive_and_delete) for _ in range(2)]
    for thread in sending + reading:
        thread.start()
    for thread in sending:
        thread.join()
    sending_done.set()
    for thread in reading:
        thread.join()

    assert sorted(received) == sorted(f"{s}-{n}" for s in range(senders) for n in range(per_sender))
    assert refused == []
    assert backend.get_queue("busy")._messages == []


def test_the_servers_routing_lists_motos_modules_once(monkeypatch):
    listed = list(backends.list_of_moto_modules())
    monkeypatch.setattr(backends, "list_of_moto_modules", backends.list_of_moto_modules)
    list_moto_modules_once()
    list_moto_modules_once()  # idempotent
    listings = mock.Mock(side_effect=os.listdir)
    monkeypatch.setattr(os, "listdir", listings)

    assert list(backends.list_of_moto_modules()) == listed
    assert "sqs" in backends.list_of_moto_modules()
    assert listings.call_count == 0

"""The bench's queue reader: every record once, timed from when it reached its queue."""

from __future__ import annotations

import json
import time

import boto3
from moto import mock_aws

from bench.queues import QueueReader


@mock_aws
def test_the_reader_times_each_record_from_its_arrival_not_from_its_reading():
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="records")["QueueUrl"]
    sent_from = time.time()
    for number in range(12):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"number": number}))
    sent_until = time.time()
    time.sleep(1.0)

    reader = QueueReader(lambda: sqs, {"success": url}, threads_per_queue=1)
    reader.start()
    deadline = time.time() + 10
    while len(reader.received) < 12 and time.time() < deadline:
        time.sleep(0.05)
    reader.stop()

    assert sorted(item.record["number"] for item in reader.received) == list(range(12))
    assert all(sent_from - 0.01 <= item.at <= sent_until + 0.01 for item in reader.received)
    left = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (left["ApproximateNumberOfMessages"], left["ApproximateNumberOfMessagesNotVisible"]) == (
        "0",
        "0",
    )

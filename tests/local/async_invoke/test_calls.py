"""AWS API calls from the event loop (LoopCalls) answer as boto3 does, against the real moto."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import socket
import uuid
from typing import Any

import pytest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ParamValidationError

from local.async_invoke.destinations import DestinationSender
from local.async_invoke.destinations.base import outcome_of_error
from local.async_invoke.destinations.calls import LoopCalls, ThreadedCalls
from tests.local.async_invoke.helpers import REGION

CREDENTIALS = Credentials("testing", "testing")


@pytest.fixture
def calls(endpoint: str) -> LoopCalls:
    return LoopCalls("sqs", endpoint_url=endpoint, region=REGION, credentials=CREDENTIALS)


def new_queue_url(sqs: Any) -> str:
    return sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:12]}")["QueueUrl"]


def test_a_batch_sent_from_the_loop_arrives_as_boto3_reads_it(calls, sqs):
    url = new_queue_url(sqs)
    entries = [{"Id": str(n), "MessageBody": json.dumps({"n": n, "text": "é"})} for n in range(10)]

    answer = asyncio.run(calls.call("SendMessageBatch", {"QueueUrl": url, "Entries": entries}))

    assert sorted(int(e["Id"]) for e in answer["Successful"]) == list(range(10))
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        bodies += [json.loads(m["Body"]) for m in messages]
        handles = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ]
        sqs.delete_message_batch(QueueUrl=url, Entries=handles)
    assert sorted(b["n"] for b in bodies) == list(range(10))
    assert {b["text"] for b in bodies} == {"é"}


def test_an_error_answer_raises_the_modeled_exception_boto3_raises(calls, sqs):
    missing = {"QueueName": f"missing-{uuid.uuid4().hex[:12]}"}
    with pytest.raises(ClientError) as from_boto3:
        sqs.get_queue_url(**missing)

    with pytest.raises(ClientError) as from_loop:
        asyncio.run(calls.call("GetQueueUrl", missing))

    assert type(from_loop.value).__name__ == type(from_boto3.value).__name__ == "QueueDoesNotExist"
    assert from_loop.value.response["Error"] == from_boto3.value.response["Error"]
    assert from_loop.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert outcome_of_error(1, from_loop.value).state == "retry"  # a queue may yet be made


def test_a_refused_batch_reads_as_a_permanent_rejection(calls, sqs):
    url = new_queue_url(sqs)
    twice = [{"Id": "1", "MessageBody": "a"}, {"Id": "1", "MessageBody": "b"}]

    with pytest.raises(ClientError) as refused:
        asyncio.run(calls.call("SendMessageBatch", {"QueueUrl": url, "Entries": twice}))

    assert type(refused.value).__name__ == "BatchEntryIdsNotDistinct"
    assert outcome_of_error(1, refused.value).state == "rejected"


def test_parameters_are_validated_as_boto3_does_before_anything_is_sent(calls):
    with pytest.raises(ParamValidationError, match="Entries"):
        asyncio.run(calls.call("SendMessageBatch", {"QueueUrl": "http://unused/q"}))


def test_no_answer_is_a_failure_to_retry():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    calls = LoopCalls(
        "sqs", endpoint_url=f"http://127.0.0.1:{port}", region=REGION, credentials=CREDENTIALS
    )

    with pytest.raises(Exception) as unreachable:
        asyncio.run(calls.call("GetQueueUrl", {"QueueName": "q"}))

    assert not isinstance(unreachable.value, ClientError)
    assert outcome_of_error(1, unreachable.value).state == "retry"


def test_threaded_calls_reach_the_client_method_of_the_api_name(sqs):
    url = new_queue_url(sqs)

    answer = asyncio.run(
        ThreadedCalls(sqs).call("GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["All"]})
    )

    assert answer["Attributes"]["QueueArn"].endswith(url.rsplit("/", 1)[1])


class NoThreads(concurrent.futures.ThreadPoolExecutor):
    def submit(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a destination call went to a worker thread")


def send_without_threads(sender: DestinationSender, arn: str, records: list[bytes]) -> None:
    async def send() -> None:
        asyncio.get_running_loop().set_default_executor(NoThreads())
        for record in records:
            await sender.send_record(arn, record)  # raises unless sent

    asyncio.run(send())


def bodies_in(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    return [json.loads(m["Body"]) for m in messages]


def a_record(n: int) -> bytes:
    context = {"condition": "Success", "functionArn": f"arn:aws:lambda:{REGION}:0:function:f"}
    return json.dumps({"requestContext": context, "requestPayload": {"n": n}}).encode()


def test_sqs_records_leave_without_a_worker_thread(endpoint, sqs):
    url = new_queue_url(sqs)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]

    send_without_threads(
        DestinationSender(endpoint_url=endpoint, region=REGION),
        arn,
        [a_record(n) for n in range(3)],
    )

    assert sorted(body["requestPayload"]["n"] for body in bodies_in(sqs, url)) == [0, 1, 2]


def test_sns_and_eventbridge_records_leave_without_a_worker_thread(endpoint, aws, sqs):
    sns, events = aws("sns"), aws("events")
    topic_queue, bus_queue = new_queue_url(sqs), new_queue_url(sqs)
    arn_of = {
        url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        for url in (topic_queue, bus_queue)
    }
    topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:12]}")["TopicArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn_of[topic_queue])
    sns.set_subscription_attributes(
        SubscriptionArn=subscription["SubscriptionArn"],
        AttributeName="RawMessageDelivery",
        AttributeValue="true",
    )
    bus_name = f"bus-{uuid.uuid4().hex[:12]}"
    bus = events.create_event_bus(Name=bus_name)["EventBusArn"]
    events.put_rule(Name="all", EventBusName=bus_name, EventPattern='{"source": ["lambda"]}')
    events.put_targets(
        Rule="all", EventBusName=bus_name, Targets=[{"Id": "q", "Arn": arn_of[bus_queue]}]
    )
    sender = DestinationSender(endpoint_url=endpoint, region=REGION)

    send_without_threads(sender, topic, [a_record(1), a_record(2)])
    send_without_threads(sender, bus, [a_record(3), a_record(4)])

    published = bodies_in(sqs, topic_queue)  # raw: the records as published
    put = [event["detail"] for event in bodies_in(sqs, bus_queue)]  # inside EventBridge events
    assert sorted(record["requestPayload"]["n"] for record in published) == [1, 2]
    assert sorted(record["requestPayload"]["n"] for record in put) == [3, 4]

"""Destination delivery against a real moto server: each kind of ARN, read back with boto3."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from local.async_invoke.destinations import (
    FAILURE_DETAIL_TYPE,
    PAYLOADS_DROPPED,
    SNS_MAX_MESSAGE_BYTES,
    SUCCESS_DETAIL_TYPE,
    DeliveryFailed,
    DeliveryRejected,
    DestinationSender,
    s3_record_key,
)
from local.async_invoke.records import record_body

ACCOUNT = "000000000000"
REGION = "us-east-1"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:squaring-worker"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture
def sender(endpoint: str) -> DestinationSender:
    return DestinationSender(endpoint_url=endpoint, region=REGION)


def body(fields: dict[str, Any]) -> bytes:
    return record_body(fields)


def record(condition: str = "Success", **extra: Any) -> dict[str, Any]:
    failed = condition != "Success"
    return {
        "version": "1.0",
        "timestamp": "2025-03-04T05:06:07.089Z",
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"{FUNCTION_ARN}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": 3 if failed else 1,
        },
        "requestPayload": {"n": 7},
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            **({"functionError": "Unhandled"} if failed else {}),
        },
        "responsePayload": {"errorMessage": "boom", "errorType": "ValueError"}
        if failed
        else {"square": 49},
        **extra,
    }


def new_queue(sqs: Any) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def subscribe_raw(sns: Any, topic: str, queue_arn: str) -> None:
    """The queue gets what the topic publishes as it was published (no SNS envelope)."""
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    sns.set_subscription_attributes(
        SubscriptionArn=subscription["SubscriptionArn"],
        AttributeName="RawMessageDelivery",
        AttributeValue="true",
    )


def receive(sqs: Any, url: str) -> list[dict[str, Any]]:
    return sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
    ).get("Messages", [])


def test_sqs_destination_gets_the_record_as_the_message_body(sender, aws):
    sqs = aws("sqs")
    url, arn = new_queue(sqs)
    assert arn.startswith(f"arn:aws:sqs:{REGION}:{ACCOUNT}:"), "moto must own the ARNs' account"
    sent = record()

    asyncio.run(sender.send_record(arn, body(sent)))

    (message,) = receive(sqs, url)
    assert json.loads(message["Body"]) == sent


def test_sqs_queue_url_is_looked_up_once_per_queue(endpoint, aws):
    sqs = aws("sqs")
    url, arn = new_queue(sqs)
    lookups = []
    real = aws("sqs")

    class Counting:
        def get_queue_url(self, **kwargs: Any) -> dict[str, str]:
            lookups.append(kwargs)
            return real.get_queue_url(**kwargs)

        def send_message_batch(self, **kwargs: Any) -> dict[str, Any]:
            return real.send_message_batch(**kwargs)

    sender = DestinationSender(clients={"sqs": Counting()})

    async def send_three() -> None:
        for _ in range(3):
            await sender.send_record(arn, body(record()))

    asyncio.run(send_three())

    assert lookups == [{"QueueName": arn.split(":")[-1], "QueueOwnerAWSAccountId": ACCOUNT}]
    assert len(receive(sqs, url)) == 3


def test_missing_queue_is_a_failure_to_retry_not_a_rejection(sender):
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:not-created-{uuid.uuid4().hex[:8]}"
    with pytest.raises(DeliveryFailed, match="queue does not exist"):
        asyncio.run(sender.send_record(arn, body(record())))


def test_sns_destination_publishes_the_record(sender, aws):
    sns, sqs = aws("sns"), aws("sqs")
    topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:12]}")["TopicArn"]
    url, queue_arn = new_queue(sqs)
    subscribe_raw(sns, topic, queue_arn)
    sent = record("RetriesExhausted")

    asyncio.run(sender.send_record(topic, body(sent)))

    (message,) = receive(sqs, url)
    assert json.loads(message["Body"]) == sent


def test_sns_record_over_256_kb_is_sent_without_its_payloads_as_aws_documents(sender, aws):
    sns, sqs = aws("sns"), aws("sqs")
    topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:12]}")["TopicArn"]
    url, queue_arn = new_queue(sqs)
    subscribe_raw(sns, topic, queue_arn)
    big = record(requestPayload={"blob": "x" * SNS_MAX_MESSAGE_BYTES})

    outcome = asyncio.run(sender.send_record(topic, body(big)))

    assert outcome.state == "sent"
    assert outcome.detail.startswith(PAYLOADS_DROPPED)
    (message,) = receive(sqs, url)
    sent = json.loads(message["Body"])
    assert sent == {k: v for k, v in big.items() if k not in ("requestPayload", "responsePayload")}


@pytest.mark.parametrize(
    ("condition", "detail_type"),
    [("Success", SUCCESS_DETAIL_TYPE), ("RetriesExhausted", FAILURE_DETAIL_TYPE)],
)
def test_eventbridge_destination_puts_a_lambda_event_a_rule_can_route(
    sender, aws, condition, detail_type
):
    events, sqs = aws("events"), aws("sqs")
    bus_name = f"bus-{uuid.uuid4().hex[:12]}"
    bus = events.create_event_bus(Name=bus_name)["EventBusArn"]
    url, queue_arn = new_queue(sqs)
    events.put_rule(
        Name="lambda-results",
        EventBusName=bus_name,
        EventPattern=json.dumps({"source": ["lambda"], "detail-type": [detail_type]}),
    )
    events.put_targets(
        Rule="lambda-results", EventBusName=bus_name, Targets=[{"Id": "q", "Arn": queue_arn}]
    )
    sent = record(condition)

    asyncio.run(sender.send_record(bus, body(sent)))

    (message,) = receive(sqs, url)
    event = json.loads(message["Body"])
    assert event["source"] == "lambda"
    assert event["detail-type"] == detail_type
    assert event["resources"] == [FUNCTION_ARN]
    assert event["detail"] == sent


def test_s3_failure_destination_writes_awss_key_shape(sender, aws):
    s3 = aws("s3")
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    sent = record("RetriesExhausted")

    asyncio.run(sender.send_record(f"arn:aws:s3:::{bucket}", body(sent)))

    (obj,) = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert re.fullmatch(
        rf"aws/lambda/async/squaring-worker/2025/03/04/2025-03-04T05\.06\.07-{UUID}", obj["Key"]
    )
    stored = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    assert json.loads(stored) == sent


def test_s3_key_is_built_from_the_failure_time():
    at = datetime(2024, 12, 31, 23, 59, 58, tzinfo=UTC)
    assert (
        s3_record_key("fn", at, "u-1") == "aws/lambda/async/fn/2024/12/31/2024-12-31T23.59.58-u-1"
    )


def test_s3_destination_refuses_success_records(sender):
    with pytest.raises(DeliveryRejected, match="on-failure"):
        asyncio.run(sender.send_record("arn:aws:s3:::any-bucket", body(record())))


def test_lambda_destination_invokes_the_function_asynchronously_with_the_record():
    invoked: list[tuple[str, bytes]] = []

    async def invoke_async(name: str, payload: bytes) -> str:
        invoked.append((name, payload))
        return "request-id"

    sender = DestinationSender(invoke_async=invoke_async)
    sent = record()

    asyncio.run(sender.send_record(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:audit", body(sent)))
    asyncio.run(
        sender.send_record(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:audit:live", body(sent))
    )

    assert [name for name, _ in invoked] == ["audit", "audit"]
    assert json.loads(invoked[0][1]) == sent


def test_lambda_destination_also_takes_a_plain_accept_function():
    invoked: list[str] = []
    sender = DestinationSender(invoke_async=lambda name, payload: invoked.append(name) or "id")

    asyncio.run(
        sender.send_record(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:audit", body(record()))
    )

    assert invoked == ["audit"]


def test_lambda_destination_for_an_unknown_function_is_rejected_not_retried():
    async def invoke_async(name: str, payload: bytes) -> str:
        raise KeyError(f"Function not found: {name}")

    sender = DestinationSender(invoke_async=invoke_async)
    with pytest.raises(DeliveryRejected, match="Function not found: ghost"):
        asyncio.run(
            sender.send_record(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ghost", body(record()))
        )


def test_sqs_dead_letter_gets_the_event_with_awss_attributes(sender, aws):
    sqs = aws("sqs")
    url, arn = new_queue(sqs)
    long_message = "é" * 700  # 1400 bytes of UTF-8: cut to the first 1 KB on a char boundary

    asyncio.run(
        sender.send_dead_letter(
            arn, b'{"n": 7}', request_id="req-1", error_code=200, error_message=long_message
        )
    )

    (message,) = receive(sqs, url)
    assert message["Body"] == '{"n": 7}'
    attributes = message["MessageAttributes"]
    assert attributes["RequestID"] == {"StringValue": "req-1", "DataType": "String"}
    assert attributes["ErrorCode"] == {"StringValue": "200", "DataType": "Number"}
    assert attributes["ErrorMessage"]["DataType"] == "String"
    assert attributes["ErrorMessage"]["StringValue"] == "é" * 512
    assert set(attributes) == {"RequestID", "ErrorCode", "ErrorMessage"}


def test_sns_dead_letter_publishes_the_event_with_awss_attributes(sender, aws):
    sns, sqs = aws("sns"), aws("sqs")
    topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:12]}")["TopicArn"]
    url, queue_arn = new_queue(sqs)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    asyncio.run(
        sender.send_dead_letter(
            topic, b'{"n": 7}', request_id="req-2", error_code=429, error_message="Rate Exceeded."
        )
    )

    (message,) = receive(sqs, url)
    envelope = json.loads(message["Body"])
    assert envelope["Message"] == '{"n": 7}'
    assert envelope["MessageAttributes"] == {
        "RequestID": {"Type": "String", "Value": "req-2"},
        "ErrorCode": {"Type": "Number", "Value": "429"},
        "ErrorMessage": {"Type": "String", "Value": "Rate Exceeded."},
    }

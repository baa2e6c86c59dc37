"""Sending asynchronous invocation records to their destinations, by the kind of ARN.

A record goes to SQS (``SendMessage``), SNS (``Publish``), EventBridge (``PutEvents``,
source ``lambda``), S3 (``PutObject``, failure records only) or another Lambda function
(invoked asynchronously through ``invoke_async``). A dead-letter message, the original event
with ``RequestID`` / ``ErrorCode`` / ``ErrorMessage`` attributes, goes to SQS or SNS.

The AWS clients talk to ``endpoint_url`` (the local moto server) with dummy credentials, or
are injected. boto3 blocks, so every call runs in a worker thread. A send that fails raises
and the caller retries it; :class:`DeliveryRejected` marks one that can never succeed.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config

__all__ = [
    "DEAD_LETTER_MESSAGE_BYTES",
    "EVENT_SOURCE",
    "FAILURE_DETAIL_TYPE",
    "SNS_MAX_MESSAGE_BYTES",
    "SUCCESS_DETAIL_TYPE",
    "Arn",
    "DeliveryRejected",
    "DestinationSender",
    "InvokeAsync",
    "s3_record_key",
]

SUCCESS_DETAIL_TYPE = "Lambda Function Invocation Result - Success"
FAILURE_DETAIL_TYPE = "Lambda Function Invocation Result - Failure"
EVENT_SOURCE = "lambda"
SUCCESS_CONDITION = "Success"
SNS_MAX_MESSAGE_BYTES = 262_144
"""SNS destinations drop records over 256 KB (AWS's behaviour, kept here)."""
DEAD_LETTER_MESSAGE_BYTES = 1024
"""A DLQ's ``ErrorMessage`` attribute holds the first 1 KB of the error message."""
S3_KEY_PREFIX = "aws/lambda/async"
LATEST_SUFFIX = ":$LATEST"

_DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# One attempt per call: the async engine keeps the record and retries it with its own backoff.
_CLIENT_CONFIG = Config(
    retries={"max_attempts": 1, "mode": "standard"},
    connect_timeout=5,
    read_timeout=30,
    s3={"addressing_style": "path"},
)

InvokeAsync = Callable[[str, bytes], Awaitable[object] | object]
"""``invoke_async(function_name, payload)``: queue an asynchronous invocation of a function
(a coroutine function, or a plain one such as the engine's ``accept``)."""


class DeliveryRejected(Exception):
    """The destination can never take this message (wrong kind, too large, no such function)."""


@dataclass(frozen=True)
class Arn:
    """The parts of an ARN: ``arn:partition:service:region:account:resource``."""

    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, arn: str) -> Arn:
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            raise DeliveryRejected(f"not an ARN: {arn!r}")
        return cls(service=parts[2], region=parts[3], account=parts[4], resource=parts[5])


def s3_record_key(function_name: str, at: datetime, unique: str | None = None) -> str:
    """AWS's key for a failure record: ``aws/lambda/async/<fn>/YYYY/MM/DD/<time>-<uuid>``."""
    unique = unique or str(uuid.uuid4())
    return f"{S3_KEY_PREFIX}/{function_name}/{at:%Y/%m/%d}/{at:%Y-%m-%dT%H.%M.%S}-{unique}"


class DestinationSender:
    """Delivers invocation records and dead-letter messages to the services their ARNs name.

    ``clients`` maps a boto3 service name (``sqs``, ``sns``, ``events``, ``s3``) to a client
    to use for it; other clients are made on first use against ``endpoint_url``, in the
    region of the target's ARN (``region`` when the ARN has none), with dummy credentials.
    ``invoke_async`` receives records for Lambda destinations; the async engine sets it to
    its own ``invoke_async`` when left unset, so a Lambda destination is itself an
    asynchronous invocation.
    """

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        clients: Mapping[str, Any] | None = None,
        invoke_async: InvokeAsync | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self.invoke_async = invoke_async
        self._injected = dict(clients or {})
        self._clients: dict[tuple[str, str], Any] = {}
        self._queue_urls: dict[str, str] = {}
        self._session = boto3.session.Session()
        self._lock = threading.Lock()

    async def send_record(self, arn: str, record: Mapping[str, Any]) -> None:
        """Send an invocation record (AWS's destination JSON) to ``arn``."""
        target = Arn.parse(arn)
        body = json.dumps(record, separators=(",", ":"))
        succeeded = record["requestContext"]["condition"] == SUCCESS_CONDITION
        function_arn = record["requestContext"]["functionArn"].removesuffix(LATEST_SUFFIX)
        match target.service:
            case "sqs":
                await self._send_sqs(arn, target, body)
            case "sns":
                if len(body.encode()) > SNS_MAX_MESSAGE_BYTES:
                    raise DeliveryRejected(
                        f"record of {len(body.encode())} bytes is over SNS's "
                        f"{SNS_MAX_MESSAGE_BYTES}-byte limit: AWS drops it too"
                    )
                client = self._client("sns", target)
                await asyncio.to_thread(client.publish, TopicArn=arn, Message=body)
            case "events":
                await self._put_event(arn, target, body, function_arn, succeeded)
            case "s3":
                if succeeded:
                    raise DeliveryRejected(f"S3 is an on-failure destination only: {arn}")
                await self._put_object(target, body, record)
            case "lambda":
                await self._invoke(arn, target, body.encode())
            case other:
                raise DeliveryRejected(f"{other} is not a Lambda destination kind: {arn}")

    async def send_dead_letter(
        self,
        arn: str,
        payload: bytes,
        *,
        request_id: str,
        error_code: int,
        error_message: str,
    ) -> None:
        """Send the original event to a dead-letter queue or topic, with AWS's attributes."""
        target = Arn.parse(arn)
        attributes = {
            "RequestID": {"DataType": "String", "StringValue": request_id},
            "ErrorCode": {"DataType": "Number", "StringValue": str(error_code)},
            # SQS and SNS refuse empty attribute values.
            "ErrorMessage": {
                "DataType": "String",
                "StringValue": _first_bytes(error_message, DEAD_LETTER_MESSAGE_BYTES) or "-",
            },
        }
        message = payload.decode("utf-8", errors="replace")
        match target.service:
            case "sqs":
                await self._send_sqs(arn, target, message, attributes)
            case "sns":
                client = self._client("sns", target)
                await asyncio.to_thread(
                    client.publish, TopicArn=arn, Message=message, MessageAttributes=attributes
                )
            case other:
                raise DeliveryRejected(f"a dead-letter target is SQS or SNS, not {other}: {arn}")

    async def _send_sqs(
        self, arn: str, target: Arn, body: str, attributes: dict[str, Any] | None = None
    ) -> None:
        client = self._client("sqs", target)
        url = self._queue_urls.get(arn)
        if url is None:
            answer = await asyncio.to_thread(
                client.get_queue_url,
                QueueName=target.resource,
                QueueOwnerAWSAccountId=target.account,
            )
            url = self._queue_urls[arn] = answer["QueueUrl"]
        extra = {"MessageAttributes": attributes} if attributes else {}
        try:
            await asyncio.to_thread(client.send_message, QueueUrl=url, MessageBody=body, **extra)
        except Exception:
            self._queue_urls.pop(arn, None)  # the queue may have been deleted and made again
            raise

    async def _put_event(
        self, arn: str, target: Arn, body: str, function_arn: str, succeeded: bool
    ) -> None:
        client = self._client("events", target)
        entry = {
            "Source": EVENT_SOURCE,
            "DetailType": SUCCESS_DETAIL_TYPE if succeeded else FAILURE_DETAIL_TYPE,
            "Detail": body,
            "EventBusName": arn,
            "Resources": [function_arn],
        }
        answer = await asyncio.to_thread(client.put_events, Entries=[entry])
        if answer.get("FailedEntryCount"):
            failed = answer["Entries"][0]
            code, message = failed.get("ErrorCode"), failed.get("ErrorMessage")
            raise RuntimeError(f"PutEvents to {arn} failed: {code}: {message}")

    async def _put_object(self, target: Arn, body: str, record: Mapping[str, Any]) -> None:
        client = self._client("s3", target)
        function_arn = record["requestContext"]["functionArn"].removesuffix(LATEST_SUFFIX)
        function_name = Arn.parse(function_arn).resource.split(":")[1]
        at = datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00")).astimezone(UTC)
        await asyncio.to_thread(
            client.put_object,
            Bucket=target.resource,
            Key=s3_record_key(function_name, at),
            Body=body.encode(),
            ContentType="application/json",
        )

    async def _invoke(self, arn: str, target: Arn, payload: bytes) -> None:
        if self.invoke_async is None:
            raise DeliveryRejected(f"no Lambda service to invoke the destination {arn}")
        # resource: "function:<name>" or "function:<name>:<qualifier>"
        function_name = target.resource.split(":")[1]
        try:
            accepted = self.invoke_async(function_name, payload)
            if inspect.isawaitable(accepted):
                await accepted
        except (KeyError, ValueError) as error:  # no such function, payload too large
            raise DeliveryRejected(f"Lambda destination {arn}: {error}") from error

    def _client(self, service: str, target: Arn) -> Any:
        if service in self._injected:
            return self._injected[service]
        region = target.region or self.region
        with self._lock:  # boto3 sessions are not thread-safe; clients are
            client = self._clients.get((service, region))
            if client is None:
                options: dict[str, Any] = {"region_name": region, "config": _CLIENT_CONFIG}
                if self.endpoint_url:
                    options |= {"endpoint_url": self.endpoint_url, **_DUMMY_CREDENTIALS}
                client = self._clients[(service, region)] = self._session.client(service, **options)
            return client


def _first_bytes(text: str, limit: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 encoding fits in ``limit`` bytes."""
    return text.encode()[:limit].decode("utf-8", errors="ignore")

"""The destination sender: routes messages to the kind of service their target ARN names.

The AWS clients talk to ``endpoint_url`` (the local moto server) with dummy credentials, or
are injected. Calls to the local endpoint are made from the event loop
(:class:`~local.async_invoke.destinations.calls.LoopCalls`), except S3's, whose protocol boto3
fits with handlers of its own: those, injected clients' and AWS's own go through boto3 in a
worker thread (:class:`~local.async_invoke.destinations.calls.ThreadedCalls`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.credentials import Credentials

from local.async_invoke.destinations.base import (
    Arn,
    DeliveryRejected,
    Message,
    Outcome,
    outcome_of_error,
)
from local.async_invoke.destinations.calls import (
    CONNECT_TIMEOUT_SECONDS,
    READ_TIMEOUT_SECONDS,
    AwsCalls,
    LoopCalls,
    ThreadedCalls,
)
from local.async_invoke.destinations.eventbridge import EventBridgeDestination
from local.async_invoke.destinations.lambda_ import InvokeAsync, LambdaDestination
from local.async_invoke.destinations.s3 import S3Destination
from local.async_invoke.destinations.sns import SnsDestination
from local.async_invoke.destinations.sqs import SqsDestination

__all__ = ["DeliveryFailed", "DestinationSender"]

_DUMMY_CREDENTIALS = Credentials("testing", "testing")
_LOOP_SERVICES = frozenset({"sqs", "sns", "events"})
"""The services whose calls to the local endpoint are made from the event loop."""
# One attempt per call: the async engine keeps the message and retries it with its own backoff.
_CLIENT_CONFIG = Config(
    retries={"max_attempts": 1, "mode": "standard"},
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
    max_pool_connections=32,
    s3={"addressing_style": "path"},
)


class DeliveryFailed(Exception):
    """A message could not be sent this time; sending it again may work."""


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
        self._calls: dict[tuple[str, str], AwsCalls] = {}
        self._session = boto3.session.Session()
        self._kinds: dict[str, _Kind] = {
            "sqs": SqsDestination(self._calls_for),
            "sns": SnsDestination(self._calls_for),
            "events": EventBridgeDestination(self._calls_for),
            "s3": S3Destination(self._calls_for),
        }
        self._lambda = LambdaDestination(lambda: self.invoke_async)

    async def send(self, arn: str, messages: Sequence[Message]) -> list[Outcome]:
        """Send ``messages`` to ``arn`` (in as few calls as its service allows); one outcome
        per message, in order. Never raises for a message's sake."""
        try:
            target = Arn.parse(arn)
            if target.service == "lambda":
                return await self._lambda.send(arn, target, messages)
            kind = self._kinds.get(target.service)
            if kind is None:
                raise DeliveryRejected(f"{target.service} is not a Lambda destination kind: {arn}")
            outcomes = await kind.send(arn, target, messages)
        except Exception as error:
            return [outcome_of_error(message.id, error) for message in messages]
        by_id = {outcome.id: outcome for outcome in outcomes}
        return [by_id[message.id] for message in messages]

    async def send_record(self, arn: str, record: bytes) -> Outcome:
        """Send one invocation record; raises :class:`DeliveryRejected` or
        :class:`DeliveryFailed` when it was not sent."""
        return _raise_unless_sent(await self.send(arn, [Message(0, record)]))

    async def send_dead_letter(
        self, arn: str, payload: bytes, *, request_id: str, error_code: int, error_message: str
    ) -> Outcome:
        """Send the original event to a dead-letter queue or topic, with AWS's attributes."""
        dead_letter = {
            "request_id": request_id,
            "error_code": error_code,
            "error_message": error_message,
        }
        return _raise_unless_sent(await self.send(arn, [Message(0, payload, dead_letter)]))

    def _calls_for(self, service: str, target: Arn) -> AwsCalls:
        """How to call ``service``: the local endpoint from the loop where it can be, else
        (an injected client, S3, or AWS itself: no endpoint) boto3 in a thread."""
        region = target.region or self.region
        calls = self._calls.get((service, region))
        if calls is None:
            if self.endpoint_url and service in _LOOP_SERVICES and service not in self._injected:
                calls = LoopCalls(
                    service,
                    endpoint_url=self.endpoint_url,
                    region=region,
                    credentials=_DUMMY_CREDENTIALS,
                )
            else:
                calls = ThreadedCalls(self._client(service, region))
            self._calls[(service, region)] = calls
        return calls

    def _client(self, service: str, region: str) -> Any:
        """The injected client for ``service``, else a new boto3 client (made on the loop's
        thread: boto3 sessions are not thread-safe)."""
        if service in self._injected:
            return self._injected[service]
        options: dict[str, Any] = {"region_name": region, "config": _CLIENT_CONFIG}
        if self.endpoint_url:
            options |= {
                "endpoint_url": self.endpoint_url,
                "aws_access_key_id": _DUMMY_CREDENTIALS.access_key,
                "aws_secret_access_key": _DUMMY_CREDENTIALS.secret_key,
            }
        return self._session.client(service, **options)


class _Kind(Protocol):
    async def send(self, arn: str, target: Arn, messages: Sequence[Message]) -> list[Outcome]: ...


def _raise_unless_sent(outcomes: list[Outcome]) -> Outcome:
    (outcome,) = outcomes
    if outcome.state == "rejected":
        raise DeliveryRejected(outcome.detail)
    if outcome.state == "retry":
        raise DeliveryFailed(outcome.detail)
    return outcome

"""Destinations for a worker's asynchronous invocation records, one class per kind."""

from __future__ import annotations

import re

from components.destinations.base import Destination, DestinationBinding, DestinationKind
from components.destinations.eventbridge import EventBridgeDestination
from components.destinations.lambda_ import LambdaDestination
from components.destinations.s3 import S3Destination
from components.destinations.sns import SnsDestination
from components.destinations.sqs import SqsDestination

__all__ = [
    "Destination",
    "DestinationBinding",
    "DestinationKind",
    "EventBridgeDestination",
    "LambdaDestination",
    "S3Destination",
    "SnsDestination",
    "SqsDestination",
    "destination_for_arn",
]

_ARN_KINDS: tuple[tuple[re.Pattern[str], type[Destination]], ...] = (
    (re.compile(r"^arn:aws[\w-]*:sqs:[\w-]+:\d{12}:[\w-]{1,80}$"), SqsDestination),
    (re.compile(r"^arn:aws[\w-]*:sns:[\w-]+:\d{12}:[\w-]{1,256}$"), SnsDestination),
    (
        re.compile(r"^arn:aws[\w-]*:events:[\w-]+:\d{12}:event-bus/[\w.\-/]+$"),
        EventBridgeDestination,
    ),
    (
        re.compile(r"^arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:[\w-]+(:[\w$-]+)?$"),
        LambdaDestination,
    ),
    (re.compile(r"^arn:aws[\w-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"), S3Destination),
)


def destination_for_arn(arn: str, kind: DestinationKind) -> Destination:
    """The destination an existing ARN names, checked against the slot it fills.

    Raises ``ValueError`` saying what is allowed when the ARN is of no supported kind, or of
    a kind the slot does not take (S3 on success, say).
    """
    for pattern, destination_class in _ARN_KINDS:
        if pattern.match(arn):
            if kind not in destination_class.supports:
                allowed = ", ".join(_names(kind))
                raise ValueError(f"{arn!r} is not allowed for {kind.value}: it takes {allowed}")
            return destination_class(arn)
    raise ValueError(f"{arn!r} is not an ARN of a supported kind ({', '.join(_names(kind))})")


def _names(kind: DestinationKind) -> list[str]:
    labels = {
        SqsDestination: "an SQS queue",
        SnsDestination: "an SNS topic",
        EventBridgeDestination: "an EventBridge bus",
        LambdaDestination: "a Lambda function",
        S3Destination: "an S3 bucket",
    }
    return [label for cls, label in labels.items() if kind in cls.supports]

"""Sending asynchronous invocation records to their destinations, by the kind of ARN.

A record goes to SQS (``SendMessageBatch``), SNS (``PublishBatch``), EventBridge
(``PutEvents``, source ``lambda``), S3 (``PutObject``, failure records only) or another
Lambda function (invoked asynchronously through ``invoke_async``), one message per record,
batched up to each API's limits. A dead-letter message, the original event with
``RequestID`` / ``ErrorCode`` / ``ErrorMessage`` attributes, goes to SQS or SNS.

Each message gets an outcome: sent, rejected for good (a permanent 4xx, a wrong kind of
target, over the target's size limit), or to be retried (no answer, a 5xx, a throttle, a
target that does not exist yet). In a batch, only the entries that failed are retried.

Records too large for their target, as AWS documents it: SNS gets the record without its
``requestPayload`` and ``responsePayload``; SQS (1 MiB), EventBridge (1 MB) and Lambda
(1 MB) do not get it, which AWS counts as a ``DestinationDeliveryFailures`` (here: rejected
and logged); S3 takes any size.
"""

from local.async_invoke.destinations.base import (
    DEAD_LETTER_MESSAGE_BYTES,
    MAX_BATCH_ENTRIES,
    Arn,
    DeliveryRejected,
    Message,
    Outcome,
)
from local.async_invoke.destinations.eventbridge import (
    EVENT_SOURCE,
    EVENTBRIDGE_MAX_BYTES,
    FAILURE_DETAIL_TYPE,
    SUCCESS_DETAIL_TYPE,
)
from local.async_invoke.destinations.lambda_ import InvokeAsync
from local.async_invoke.destinations.s3 import s3_record_key
from local.async_invoke.destinations.sender import DeliveryFailed, DestinationSender
from local.async_invoke.destinations.sns import PAYLOADS_DROPPED, SNS_MAX_MESSAGE_BYTES
from local.async_invoke.destinations.sqs import SQS_MAX_MESSAGE_BYTES

__all__ = [
    "DEAD_LETTER_MESSAGE_BYTES",
    "EVENTBRIDGE_MAX_BYTES",
    "EVENT_SOURCE",
    "FAILURE_DETAIL_TYPE",
    "MAX_BATCH_ENTRIES",
    "PAYLOADS_DROPPED",
    "SNS_MAX_MESSAGE_BYTES",
    "SQS_MAX_MESSAGE_BYTES",
    "SUCCESS_DETAIL_TYPE",
    "Arn",
    "DeliveryFailed",
    "DeliveryRejected",
    "DestinationSender",
    "InvokeAsync",
    "Message",
    "Outcome",
    "s3_record_key",
]

"""What every destination kind shares: the messages, their outcomes, and how AWS errors read.

A kind sends a list of :class:`Message` for one target ARN and answers one :class:`Outcome`
per message: ``sent``, ``rejected`` (the target can never take it, so it is not retried), or
``retry`` (unreachable, throttled, a server fault, or a target that does not exist yet).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TypeVar

from botocore.exceptions import ClientError

__all__ = [
    "DEAD_LETTER_MESSAGE_BYTES",
    "MAX_BATCH_ENTRIES",
    "Arn",
    "DeliveryRejected",
    "Message",
    "Outcome",
    "attributes_size",
    "batch_outcomes",
    "batches",
    "dead_letter_attributes",
    "entry_failure",
    "outcome_of_error",
    "record_fields",
]

MAX_BATCH_ENTRIES = 10
"""SendMessageBatch, PublishBatch and PutEvents take up to 10 entries."""
DEAD_LETTER_MESSAGE_BYTES = 1024
"""A DLQ's ``ErrorMessage`` attribute holds the first 1 KB of the error message."""
SUCCESS_CONDITION = "Success"
LATEST_SUFFIX = ":$LATEST"

# Codes retried even though their HTTP status is a 4xx. Throttles, as AWS's SDKs do; and a
# missing queue, topic, bus or bucket, which may yet be made (moto restarted, the stack being
# provisioned), so the record waits for it. Unconfirmed: AWS may count such a record in
# DestinationDeliveryFailures and drop it instead.
_RETRIED_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "AWS.SimpleQueueService.RequestThrottled",
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        "NotFound",
        "NotFoundException",
        "ResourceNotFoundException",
        "NoSuchBucket",
    }
)


class DeliveryRejected(Exception):
    """The destination can never take this message (wrong kind, too large, no such function)."""


@dataclass(frozen=True)
class Message:
    """One outbox message: an invocation record, or the original event for a DLQ."""

    id: int
    body: bytes
    """The record's JSON, or the event as it was received."""
    dead_letter: Mapping[str, Any] | None = None
    """A DLQ message's ``request_id``, ``error_code`` and ``error_message``; None: a record."""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class Outcome(NamedTuple):
    """What became of one message; ``detail`` says why (or, when sent, what was changed)."""

    id: int
    state: Literal["sent", "rejected", "retry"]
    detail: str | None = None


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


def outcome_of_error(message_id: int, error: BaseException) -> Outcome:
    """A failed call's outcome for one of its messages: a permanent 4xx is ``rejected``;
    anything else (no answer, a 5xx, a throttle, a missing target) is retried."""
    if isinstance(error, DeliveryRejected):
        return Outcome(message_id, "rejected", str(error))
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if 400 <= status < 500 and status != 429 and code not in _RETRIED_CODES:
            return Outcome(message_id, "rejected", text)
    return Outcome(message_id, "retry", text)


def entry_failure(message_id: int, code: str, text: str, *, sender_fault: bool) -> Outcome:
    """The outcome of one entry a batch call reported as failed."""
    state: Literal["rejected", "retry"] = (
        "rejected" if sender_fault and code not in _RETRIED_CODES else "retry"
    )
    return Outcome(message_id, state, f"{code}: {text}")


def batch_outcomes(
    answer: Mapping[str, Any], sent: Sequence[tuple[int, str | None]]
) -> list[Outcome]:
    """SendMessageBatch's or PublishBatch's answer (``Successful`` and ``Failed`` entries whose
    ``Id`` is the entry's position) as one outcome per entry. ``sent``: each entry's message
    id, and the detail its outcome carries if it was sent."""
    succeeded = {int(entry["Id"]) for entry in answer.get("Successful", [])}
    failed = {int(entry["Id"]): entry for entry in answer.get("Failed", [])}
    outcomes = []
    for number, (message_id, detail) in enumerate(sent):
        if number in succeeded:
            outcomes.append(Outcome(message_id, "sent", detail))
        elif number in failed:
            failure = failed[number]
            outcomes.append(
                entry_failure(
                    message_id,
                    failure.get("Code", ""),
                    failure.get("Message", ""),
                    sender_fault=bool(failure.get("SenderFault")),
                )
            )
        else:
            outcomes.append(Outcome(message_id, "retry", "missing from the answer"))
    return outcomes


T = TypeVar("T")


def batches(items: Sequence[T], size: Callable[[T], int], max_bytes: int) -> Iterator[list[T]]:
    """Consecutive runs of ``items`` of at most :data:`MAX_BATCH_ENTRIES`, each at most
    ``max_bytes`` in total by ``size`` (an item alone over it is a run of its own)."""
    run: list[T] = []
    total = 0
    for item in items:
        item_size = size(item)
        if run and (len(run) == MAX_BATCH_ENTRIES or total + item_size > max_bytes):
            yield run
            run, total = [], 0
        run.append(item)
        total += item_size
    if run:
        yield run


def record_fields(body: bytes) -> tuple[bool, str]:
    """Whether a record says ``Success``, and the function ARN it names (without $LATEST)."""
    context = json.loads(body)["requestContext"]
    return (
        context["condition"] == SUCCESS_CONDITION,
        context["functionArn"].removesuffix(LATEST_SUFFIX),
    )


def dead_letter_attributes(dead_letter: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """AWS's message attributes of a DLQ message (SQS and SNS spell them the same)."""
    message = _first_bytes(str(dead_letter["error_message"]), DEAD_LETTER_MESSAGE_BYTES)
    return {
        "RequestID": {"DataType": "String", "StringValue": str(dead_letter["request_id"])},
        "ErrorCode": {"DataType": "Number", "StringValue": str(dead_letter["error_code"])},
        # SQS and SNS refuse empty attribute values.
        "ErrorMessage": {"DataType": "String", "StringValue": message or "-"},
    }


def attributes_size(attributes: Mapping[str, Mapping[str, str]]) -> int:
    """Message attributes' share of a message's size: names, types and values, as SQS and
    SNS count them."""
    return sum(
        len(name.encode()) + len(value["DataType"].encode()) + len(value["StringValue"].encode())
        for name, value in attributes.items()
    )


def _first_bytes(text: str, limit: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 encoding fits in ``limit`` bytes."""
    return text.encode()[:limit].decode("utf-8", errors="ignore")

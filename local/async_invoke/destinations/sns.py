"""SNS destinations and dead-letter topics: ``PublishBatch``, up to 10 messages and
256 KiB a call, one message per record."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from local.async_invoke.destinations.base import (
    Arn,
    Message,
    Outcome,
    attributes_size,
    batch_outcomes,
    batches,
    dead_letter_attributes,
    outcome_of_error,
)
from local.async_invoke.destinations.calls import AwsCalls

__all__ = ["PAYLOADS_DROPPED", "SNS_MAX_MESSAGE_BYTES", "SnsDestination", "without_payloads"]

SNS_MAX_MESSAGE_BYTES = 262_144
"""SNS's limit on one message and on a PublishBatch in total (a topic's default; AWS's Lambda
documentation gives 256 KB for SNS destinations)."""
PAYLOADS_DROPPED = "requestPayload and responsePayload dropped"
"""AWS documents that Lambda drops the payload from a record too large for SNS, and sends
the rest. Unconfirmed: whether both keys go (as here) or become null."""


@dataclass(frozen=True)
class _Entry:
    message: Message
    text: str
    attributes: dict[str, dict[str, str]] | None
    size: int
    detail: str | None


class SnsDestination:
    """Publishes to topics by ARN."""

    def __init__(self, calls_for: Callable[[str, Arn], AwsCalls]) -> None:
        self._calls_for = calls_for

    async def send(self, arn: str, target: Arn, messages: Sequence[Message]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        entries: list[_Entry] = []
        for message in messages:
            entry = _entry(message)
            if entry.size > SNS_MAX_MESSAGE_BYTES:
                outcomes.append(
                    Outcome(
                        message.id,
                        "rejected",
                        f"a message of {entry.size} bytes is over SNS's {SNS_MAX_MESSAGE_BYTES}-"
                        "byte limit",
                    )
                )
            else:
                entries.append(entry)
        if not entries:
            return outcomes
        calls = self._calls_for("sns", target)
        for batch in batches(entries, lambda entry: entry.size, SNS_MAX_MESSAGE_BYTES):
            outcomes += await _publish_batch(calls, arn, batch)
        return outcomes


def without_payloads(record: bytes) -> bytes:
    """A record without its ``requestPayload`` and ``responsePayload``."""
    fields = json.loads(record)
    fields.pop("requestPayload", None)
    fields.pop("responsePayload", None)
    return json.dumps(fields, separators=(",", ":")).encode()


def _entry(message: Message) -> _Entry:
    if message.dead_letter is not None:
        attributes = dead_letter_attributes(message.dead_letter)
        size = len(message.body) + attributes_size(attributes)
        return _Entry(message, message.text, attributes, size, None)
    if len(message.body) <= SNS_MAX_MESSAGE_BYTES:
        return _Entry(message, message.text, None, len(message.body), None)
    trimmed = without_payloads(message.body)
    detail = f"{PAYLOADS_DROPPED}: the record of {len(message.body)} bytes is over SNS's limit"
    return _Entry(message, trimmed.decode(), None, len(trimmed), detail)


async def _publish_batch(calls: AwsCalls, arn: str, batch: list[_Entry]) -> list[Outcome]:
    request = [
        {
            "Id": str(number),
            "Message": entry.text,
            **({"MessageAttributes": entry.attributes} if entry.attributes else {}),
        }
        for number, entry in enumerate(batch)
    ]
    try:
        answer = await calls.call(
            "PublishBatch", {"TopicArn": arn, "PublishBatchRequestEntries": request}
        )
    except Exception as error:
        first = outcome_of_error(batch[0].message.id, error)
        if first.state == "rejected" and len(batch) > 1:
            return [o for e in batch for o in await _publish_batch(calls, arn, [e])]
        return [outcome_of_error(entry.message.id, error) for entry in batch]
    return batch_outcomes(answer, [(entry.message.id, entry.detail) for entry in batch])

"""SQS destinations and dead-letter queues: ``SendMessageBatch``, up to 10 messages and
1 MiB a call, one message per record."""

from __future__ import annotations

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

__all__ = ["SQS_MAX_MESSAGE_BYTES", "SqsDestination"]

SQS_MAX_MESSAGE_BYTES = 1_048_576
"""SQS's limit on one message (body and attributes) and on a whole SendMessageBatch: 1 MiB
(256 KiB until 2025). A record over it is not delivered: AWS documents only that size limits
cause delivery failures (DestinationDeliveryFailures), so it is rejected and logged here."""


@dataclass(frozen=True)
class _Entry:
    message: Message
    attributes: dict[str, dict[str, str]] | None
    size: int


class SqsDestination:
    """Sends to queues by ARN, looking each queue's URL up once."""

    def __init__(self, calls_for: Callable[[str, Arn], AwsCalls]) -> None:
        self._calls_for = calls_for
        self._queue_urls: dict[str, str] = {}

    async def send(self, arn: str, target: Arn, messages: Sequence[Message]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        entries: list[_Entry] = []
        for message in messages:
            attributes = message.dead_letter and dead_letter_attributes(message.dead_letter)
            size = len(message.body) + (attributes_size(attributes) if attributes else 0)
            if size > SQS_MAX_MESSAGE_BYTES:
                outcomes.append(
                    Outcome(
                        message.id,
                        "rejected",
                        f"a message of {size} bytes is over SQS's {SQS_MAX_MESSAGE_BYTES}-byte "
                        "limit",
                    )
                )
            else:
                entries.append(_Entry(message, attributes, size))
        if not entries:
            return outcomes
        calls = self._calls_for("sqs", target)
        try:
            url = await self._queue_url(calls, arn, target)
        except Exception as error:
            return outcomes + [outcome_of_error(e.message.id, error) for e in entries]
        for batch in batches(entries, lambda entry: entry.size, SQS_MAX_MESSAGE_BYTES):
            outcomes += await self._send_batch(calls, arn, url, batch)
        return outcomes

    async def _send_batch(
        self, calls: AwsCalls, arn: str, url: str, batch: list[_Entry]
    ) -> list[Outcome]:
        request = [
            {
                "Id": str(number),
                "MessageBody": entry.message.text,
                **({"MessageAttributes": entry.attributes} if entry.attributes else {}),
            }
            for number, entry in enumerate(batch)
        ]
        try:
            answer = await calls.call("SendMessageBatch", {"QueueUrl": url, "Entries": request})
        except Exception as error:
            self._queue_urls.pop(arn, None)  # the queue may have been deleted and made again
            first = outcome_of_error(batch[0].message.id, error)
            if first.state == "rejected" and len(batch) > 1:
                # Refused as a whole: send one by one to find the message it refuses.
                return [o for e in batch for o in await self._send_batch(calls, arn, url, [e])]
            return [outcome_of_error(entry.message.id, error) for entry in batch]
        return batch_outcomes(answer, [(entry.message.id, None) for entry in batch])

    async def _queue_url(self, calls: AwsCalls, arn: str, target: Arn) -> str:
        url = self._queue_urls.get(arn)
        if url is None:
            lookup = {"QueueName": target.resource, "QueueOwnerAWSAccountId": target.account}
            answer = await calls.call("GetQueueUrl", lookup)
            url = self._queue_urls[arn] = answer["QueueUrl"]
        return url

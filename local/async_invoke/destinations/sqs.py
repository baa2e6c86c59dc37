"""SQS destinations and dead-letter queues: ``SendMessageBatch``, up to 10 messages and
1 MiB a call, one message per record."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

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

    def __init__(self, client_for: Callable[[str, Arn], Any]) -> None:
        self._client_for = client_for
        self._queue_urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def send(self, arn: str, target: Arn, messages: Sequence[Message]) -> list[Outcome]:
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
        client = self._client_for("sqs", target)
        try:
            url = self._queue_url(client, arn, target)
        except Exception as error:
            return outcomes + [outcome_of_error(e.message.id, error) for e in entries]
        for batch in batches(entries, lambda entry: entry.size, SQS_MAX_MESSAGE_BYTES):
            outcomes += self._send_batch(client, arn, url, batch)
        return outcomes

    def _send_batch(self, client: Any, arn: str, url: str, batch: list[_Entry]) -> list[Outcome]:
        request = [
            {
                "Id": str(number),
                "MessageBody": entry.message.text,
                **({"MessageAttributes": entry.attributes} if entry.attributes else {}),
            }
            for number, entry in enumerate(batch)
        ]
        try:
            answer = client.send_message_batch(QueueUrl=url, Entries=request)
        except Exception as error:
            with self._lock:  # the queue may have been deleted and made again
                self._queue_urls.pop(arn, None)
            first = outcome_of_error(batch[0].message.id, error)
            if first.state == "rejected" and len(batch) > 1:
                # Refused as a whole: send one by one to find the message it refuses.
                return [o for entry in batch for o in self._send_batch(client, arn, url, [entry])]
            return [outcome_of_error(entry.message.id, error) for entry in batch]
        return batch_outcomes(answer, [(entry.message.id, None) for entry in batch])

    def _queue_url(self, client: Any, arn: str, target: Arn) -> str:
        with self._lock:
            url = self._queue_urls.get(arn)
        if url is None:
            answer = client.get_queue_url(
                QueueName=target.resource, QueueOwnerAWSAccountId=target.account
            )
            url = answer["QueueUrl"]
            with self._lock:
                self._queue_urls[arn] = url
        return url

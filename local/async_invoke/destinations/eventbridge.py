"""EventBridge destinations: ``PutEvents``, up to 10 records a call, each an event from
source ``lambda`` with the record as its ``detail``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from local.async_invoke.destinations.base import (
    Arn,
    Message,
    Outcome,
    batches,
    entry_failure,
    outcome_of_error,
    record_fields,
)
from local.async_invoke.destinations.calls import AwsCalls

__all__ = [
    "EVENTBRIDGE_MAX_BYTES",
    "EVENT_SOURCE",
    "FAILURE_DETAIL_TYPE",
    "SUCCESS_DETAIL_TYPE",
    "EventBridgeDestination",
]

SUCCESS_DETAIL_TYPE = "Lambda Function Invocation Result - Success"
FAILURE_DETAIL_TYPE = "Lambda Function Invocation Result - Failure"
EVENT_SOURCE = "lambda"
EVENTBRIDGE_MAX_BYTES = 1_048_576
"""PutEvents' limit on its entries in total ("less than 1MB", 256 KB until 2026), each entry
measured as AWS computes it (source, detail type, detail, resources). A record over it is not
delivered: AWS documents only that size limits cause delivery failures."""
_RETRIED_ENTRY_CODES = frozenset({"InternalFailure", "InternalException", "ThrottlingException"})


@dataclass(frozen=True)
class _Entry:
    message: Message
    request: dict[str, Any]
    size: int


class EventBridgeDestination:
    """Puts records on event buses by ARN."""

    def __init__(self, calls_for: Callable[[str, Arn], AwsCalls]) -> None:
        self._calls_for = calls_for

    async def send(self, arn: str, target: Arn, messages: Sequence[Message]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        entries: list[_Entry] = []
        for message in messages:
            if message.dead_letter is not None:
                outcomes.append(
                    Outcome(message.id, "rejected", f"a dead-letter target is SQS or SNS: {arn}")
                )
                continue
            succeeded, function_arn = record_fields(message.body)
            request = {
                "Source": EVENT_SOURCE,
                "DetailType": SUCCESS_DETAIL_TYPE if succeeded else FAILURE_DETAIL_TYPE,
                "Detail": message.text,
                "EventBusName": arn,
                "Resources": [function_arn],
            }
            size = sum(
                len(part.encode())
                for part in (EVENT_SOURCE, request["DetailType"], message.text, function_arn)
            )
            if size >= EVENTBRIDGE_MAX_BYTES:
                outcomes.append(
                    Outcome(
                        message.id,
                        "rejected",
                        f"an entry of {size} bytes is over PutEvents' {EVENTBRIDGE_MAX_BYTES}-"
                        "byte limit",
                    )
                )
            else:
                entries.append(_Entry(message, request, size))
        if not entries:
            return outcomes
        calls = self._calls_for("events", target)
        for batch in batches(entries, lambda entry: entry.size, EVENTBRIDGE_MAX_BYTES - 1):
            outcomes += await _put_events(calls, batch)
        return outcomes


async def _put_events(calls: AwsCalls, batch: list[_Entry]) -> list[Outcome]:
    try:
        answer = await calls.call("PutEvents", {"Entries": [entry.request for entry in batch]})
    except Exception as error:
        return [outcome_of_error(entry.message.id, error) for entry in batch]
    results = answer.get("Entries", [])
    outcomes = []
    for number, entry in enumerate(batch):
        result = results[number] if number < len(results) else {"ErrorCode": "Missing"}
        code = result.get("ErrorCode")
        if not code:
            outcomes.append(Outcome(entry.message.id, "sent"))
        else:
            outcomes.append(
                entry_failure(
                    entry.message.id,
                    code,
                    result.get("ErrorMessage", ""),
                    sender_fault=code not in _RETRIED_ENTRY_CODES,
                )
            )
    return outcomes

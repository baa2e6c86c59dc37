"""S3 failure destinations: one object per record, under AWS's key."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from local.async_invoke.destinations.base import (
    LATEST_SUFFIX,
    SUCCESS_CONDITION,
    Arn,
    Message,
    Outcome,
    outcome_of_error,
)
from local.async_invoke.destinations.calls import AwsCalls

__all__ = ["S3Destination", "s3_record_key"]

S3_KEY_PREFIX = "aws/lambda/async"


def s3_record_key(function_name: str, at: datetime, unique: str | None = None) -> str:
    """AWS's key for a failure record: ``aws/lambda/async/<fn>/YYYY/MM/DD/<time>-<uuid>``."""
    unique = unique or str(uuid.uuid4())
    return f"{S3_KEY_PREFIX}/{function_name}/{at:%Y/%m/%d}/{at:%Y-%m-%dT%H.%M.%S}-{unique}"


class S3Destination:
    """Writes failure records to buckets by ARN (S3 has no batch put: one call a record)."""

    def __init__(self, calls_for: Callable[[str, Arn], AwsCalls]) -> None:
        self._calls_for = calls_for

    async def send(self, arn: str, target: Arn, messages: Sequence[Message]) -> list[Outcome]:
        return [await self._put(arn, target, message) for message in messages]

    async def _put(self, arn: str, target: Arn, message: Message) -> Outcome:
        if message.dead_letter is not None:
            return Outcome(message.id, "rejected", f"a dead-letter target is SQS or SNS: {arn}")
        record = json.loads(message.body)
        context = record["requestContext"]
        if context["condition"] == SUCCESS_CONDITION:
            return Outcome(message.id, "rejected", f"S3 is an on-failure destination only: {arn}")
        function_arn = context["functionArn"].removesuffix(LATEST_SUFFIX)
        function_name = Arn.parse(function_arn).resource.split(":")[1]
        at = datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00")).astimezone(UTC)
        try:
            put = {
                "Bucket": target.resource,
                "Key": s3_record_key(function_name, at),
                "Body": message.body,
                "ContentType": "application/json",
            }
            await self._calls_for("s3", target).call("PutObject", put)
        except Exception as error:
            return outcome_of_error(message.id, error)
        return Outcome(message.id, "sent")

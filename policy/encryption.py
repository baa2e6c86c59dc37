"""Every SQS queue and SNS topic is encrypted at rest (server-side encryption).

A queue passes with SQS-managed keys (``sqsManagedSseEnabled: true``) or a KMS key
(``kmsMasterKeyId``); a topic with a KMS key (``kmsMasterKeyId``; SNS has no service-managed
option). The setting must be explicit: relying on a service default would pass here while an
older queue or another account's default is plain text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from policy.props import resource_label

__all__ = ["QUEUE", "TOPIC", "unencrypted", "validate"]

QUEUE = "aws:sqs/queue:Queue"
TOPIC = "aws:sns/topic:Topic"


def unencrypted(resource_type: str, props: Mapping[str, Any]) -> str | None:
    """Why a queue or topic is not encrypted, or None."""
    if resource_type == QUEUE and not (props.get("sqsManagedSseEnabled") or _kms(props)):
        return "is not encrypted: set sqsManagedSseEnabled: true or a kmsMasterKeyId"
    if resource_type == TOPIC and not _kms(props):
        return "is not encrypted: set a kmsMasterKeyId (alias/aws/sns for the AWS managed key)"
    return None


def _kms(props: Mapping[str, Any]) -> bool:
    return bool(props.get("kmsMasterKeyId"))


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    problem = unencrypted(args.resource_type, args.props)
    if problem:
        report_violation(f"{resource_label(args.resource_type, args.name)} {problem}")

"""An SQS queue as destination or dead-letter queue."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.destinations.base import Destination, DestinationBinding, DestinationKind
from components.limits import DESTINATION_RETENTION_SECONDS


class SqsDestination(Destination):
    """Send records to a standard SQS queue; with no ARN, a new encrypted queue is made.

    Parameters
    ----------
    queue_arn:
        An existing queue. Without it, ``bind`` creates one (SQS-managed encryption,
        records kept 14 days) as a child of the worker.
    """

    supports = frozenset(DestinationKind)

    def __init__(self, queue_arn: pulumi.Input[str] | None = None) -> None:
        self.queue_arn = queue_arn

    def _bind(self, scope: pulumi.Resource, name: str, kind: DestinationKind) -> DestinationBinding:
        if self.queue_arn is not None:
            arn = pulumi.Output.from_input(self.queue_arn)
            url = None
        else:
            queue = aws.sqs.Queue(
                f"{name}-{kind.value}",
                sqs_managed_sse_enabled=True,
                message_retention_seconds=DESTINATION_RETENTION_SECONDS,
                opts=pulumi.ResourceOptions(parent=scope),
            )
            arn, url = queue.arn, queue.url
        statement = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": arn}
        return DestinationBinding(arn=arn, statement=statement, queue_url=url)

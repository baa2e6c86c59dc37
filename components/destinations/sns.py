"""An SNS topic as destination or dead-letter target."""

from __future__ import annotations

import pulumi

from components.destinations.base import Destination, DestinationBinding, DestinationKind


class SnsDestination(Destination):
    """Publish records to a standard SNS topic (records over 256 KB are dropped by AWS)."""

    supports = frozenset(DestinationKind)

    def __init__(self, topic_arn: pulumi.Input[str]) -> None:
        self.topic_arn = topic_arn

    def _bind(self, scope: pulumi.Resource, name: str, kind: DestinationKind) -> DestinationBinding:
        arn = pulumi.Output.from_input(self.topic_arn)
        return DestinationBinding(
            arn=arn, statement={"Effect": "Allow", "Action": "sns:Publish", "Resource": arn}
        )

"""An EventBridge bus as destination."""

from __future__ import annotations

import pulumi

from components.destinations.base import Destination, DestinationBinding, DestinationKind


class EventBridgeDestination(Destination):
    """Put records on an event bus, as ``Lambda Function Invocation Result - Success/Failure``."""

    def __init__(self, bus_arn: pulumi.Input[str]) -> None:
        self.bus_arn = bus_arn

    def _bind(self, scope: pulumi.Resource, name: str, kind: DestinationKind) -> DestinationBinding:
        arn = pulumi.Output.from_input(self.bus_arn)
        return DestinationBinding(
            arn=arn, statement={"Effect": "Allow", "Action": "events:PutEvents", "Resource": arn}
        )

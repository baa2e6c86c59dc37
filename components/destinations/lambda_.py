"""Another Lambda function as destination."""

from __future__ import annotations

import pulumi

from components.destinations.base import Destination, DestinationBinding, DestinationKind


class LambdaDestination(Destination):
    """Invoke a function (asynchronously) with the record as its event."""

    def __init__(self, function_arn: pulumi.Input[str]) -> None:
        self.function_arn = function_arn

    def _bind(self, scope: pulumi.Resource, name: str, kind: DestinationKind) -> DestinationBinding:
        arn = pulumi.Output.from_input(self.function_arn)
        return DestinationBinding(
            arn=arn,
            statement={"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": arn},
        )

"""FrontFunction: a fast synchronous function in front of a worker (Slack's 3-second ack)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.function import FunctionArgs, lambda_function

__all__ = ["FrontFunction", "FrontFunctionArgs"]


@dataclass(frozen=True, kw_only=True)
class FrontFunctionArgs(FunctionArgs):
    invokes: Sequence[pulumi.Input[str]] = ()
    """ARNs of the functions it may invoke (its own workload's worker), and nothing else."""


class FrontFunction(pulumi.ComponentResource):
    """A function that answers its caller itself and hands the work on asynchronously."""

    function: aws.lambda_.Function
    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: FrontFunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ackflow:index:FrontFunction", name, None, opts)
        parts = lambda_function(
            self,
            name,
            args,
            statements=[
                {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": arn}
                for arn in args.invokes
            ],
        )
        self.function = parts.function
        self.function_name = parts.function.name
        self.function_arn = parts.function.arn
        self.register_outputs(
            {
                "functionName": self.function_name,
                "functionArn": self.function_arn,
                "roleArn": parts.role.arn,
                "logGroupName": parts.log_group.name,
            }
        )

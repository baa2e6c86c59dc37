"""AsyncWorker: a Lambda function made to be invoked with ``InvocationType: Event``."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import limits
from components.destinations import Destination, DestinationBinding, DestinationKind, SqsDestination
from components.function import FunctionArgs, check_range, lambda_function

__all__ = ["AsyncWorker", "AsyncWorkerArgs"]


@dataclass(frozen=True, kw_only=True)
class AsyncWorkerArgs(FunctionArgs):
    """A worker's function settings plus how it is invoked asynchronously."""

    retries: int = limits.DEFAULT_RETRIES
    max_event_age_seconds: int = limits.DEFAULT_MAX_EVENT_AGE_SECONDS
    on_success: Destination | None = field(default_factory=SqsDestination)
    on_failure: Destination | None = field(default_factory=SqsDestination)
    dlq: Destination | None = None
    failure_alarm: bool = False
    """A CloudWatch alarm raised as soon as one record reaches the failure destination."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range("retries", self.retries, limits.RETRIES)
        check_range(
            "max_event_age_seconds", self.max_event_age_seconds, limits.MAX_EVENT_AGE_SECONDS
        )


class AsyncWorker(pulumi.ComponentResource):
    """The worker Lambda with its role, log group, invoke config and destinations.

    Children: the function, its role and inline policy (logs to its own log group, each
    destination on its own ARN, the workload's statements), a log group with retention, a
    ``FunctionEventInvokeConfig``, default destination queues, and optionally a failure alarm.
    """

    function: aws.lambda_.Function
    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]
    success: DestinationBinding | None
    failure: DestinationBinding | None
    dead_letter: DestinationBinding | None

    def __init__(
        self, name: str, args: AsyncWorkerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ackflow:index:AsyncWorker", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.success = _bind(args.on_success, self, name, DestinationKind.SUCCESS)
        self.failure = _bind(args.on_failure, self, name, DestinationKind.FAILURE)
        self.dead_letter = _bind(args.dlq, self, name, DestinationKind.DEAD_LETTER)
        parts = lambda_function(
            self,
            name,
            args,
            statements=[b.statement for b in (self.success, self.failure, self.dead_letter) if b],
            dead_letter_arn=self.dead_letter.arn if self.dead_letter else None,
        )
        self.function = parts.function

        destination_config = {
            f"on_{binding_kind}": {"destination": binding.arn}
            for binding_kind, binding in (("success", self.success), ("failure", self.failure))
            if binding
        }
        aws.lambda_.FunctionEventInvokeConfig(
            name,
            function_name=self.function.name,
            maximum_retry_attempts=args.retries,
            maximum_event_age_in_seconds=args.max_event_age_seconds,
            destination_config=destination_config or None,
            opts=child,
        )
        if args.failure_alarm:
            _failure_alarm(name, self.function, self.failure, child)

        self.function_name = self.function.name
        self.function_arn = self.function.arn
        self.role_arn = parts.role.arn
        self.role_name = parts.role.name
        self.register_outputs(
            {
                "functionName": self.function_name,
                "functionArn": self.function_arn,
                "roleArn": self.role_arn,
                "logGroupName": parts.log_group.name,
                "successDestinationArn": self.success.arn if self.success else None,
                "failureDestinationArn": self.failure.arn if self.failure else None,
                "successQueueUrl": self.success.queue_url if self.success else None,
                "failureQueueUrl": self.failure.queue_url if self.failure else None,
                "deadLetterArn": self.dead_letter.arn if self.dead_letter else None,
            }
        )


def _bind(
    destination: Destination | None, scope: pulumi.Resource, name: str, kind: DestinationKind
) -> DestinationBinding | None:
    return destination.bind(scope, name, kind) if destination else None


def _failure_alarm(
    name: str,
    function: aws.lambda_.Function,
    failure: DestinationBinding | None,
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.MetricAlarm:
    """Alarm on records in the failure queue, or on function errors when there is no queue."""
    if failure is not None and failure.queue_url is not None:
        namespace, metric = "AWS/SQS", "ApproximateNumberOfMessagesVisible"
        dimensions = {"QueueName": failure.arn.apply(_queue_name)}
    else:
        namespace, metric = "AWS/Lambda", "Errors"
        dimensions = {"FunctionName": function.name}
    return aws.cloudwatch.MetricAlarm(
        f"{name}-failures",
        namespace=namespace,
        metric_name=metric,
        dimensions=dimensions,
        statistic="Maximum",
        period=60,
        evaluation_periods=1,
        threshold=1,
        comparison_operator="GreaterThanOrEqualToThreshold",
        treat_missing_data="notBreaching",
        alarm_description=f"Asynchronous invocations of {name} are failing.",
        opts=opts,
    )


def _queue_name(queue_arn: str | None) -> str | None:
    return queue_arn.rsplit(":", 1)[-1] if queue_arn else None

"""AsyncWorker: a Lambda function made to be invoked with ``InvocationType: Event``."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components import limits
from components.bundle import CodeBundle
from components.destinations import Destination, DestinationBinding, DestinationKind, SqsDestination
from components.iam import LAMBDA_ASSUME_ROLE_POLICY, logs_statement, policy_document

__all__ = ["AsyncWorker", "AsyncWorkerArgs"]

_MAX_FUNCTION_NAME = 64


@dataclass(frozen=True, kw_only=True)
class AsyncWorkerArgs:
    """Everything an AsyncWorker is made from; AWS's limits are checked on construction."""

    code: CodeBundle
    handler: str
    runtime: str = "python3.13"
    architecture: Literal["arm64", "x86_64"] = "arm64"
    memory_mb: int = limits.DEFAULT_MEMORY_MB
    timeout_seconds: int = limits.DEFAULT_TIMEOUT_SECONDS
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    retries: int = limits.DEFAULT_RETRIES
    max_event_age_seconds: int = limits.DEFAULT_MAX_EVENT_AGE_SECONDS
    on_success: Destination | None = field(default_factory=SqsDestination)
    on_failure: Destination | None = field(default_factory=SqsDestination)
    dlq: Destination | None = None
    reserved_concurrency: int | None = None
    log_retention_days: int = 14
    tracing: bool = False
    """Active X-Ray tracing."""
    failure_alarm: bool = False
    """A CloudWatch alarm raised as soon as one record reaches the failure destination."""
    policy_statements: Sequence[Mapping[str, Any]] = ()
    """Extra IAM statements the workload declares."""
    function_name: str | None = None
    """The physical name; by default ``<project>-<stack>-<resource name>``."""

    def __post_init__(self) -> None:
        _check_range("retries", self.retries, limits.RETRIES)
        _check_range(
            "max_event_age_seconds", self.max_event_age_seconds, limits.MAX_EVENT_AGE_SECONDS
        )
        _check_range("memory_mb", self.memory_mb, limits.MEMORY_MB)
        _check_range("timeout_seconds", self.timeout_seconds, limits.TIMEOUT_SECONDS)
        if self.reserved_concurrency is not None and self.reserved_concurrency < 0:
            raise ValueError(
                f"reserved_concurrency must be 0 or more, got {self.reserved_concurrency}"
            )
        if self.log_retention_days not in limits.LOG_RETENTION_DAYS:
            raise ValueError(
                f"log_retention_days must be one of {limits.LOG_RETENTION_DAYS}, "
                f"got {self.log_retention_days}"
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
        physical_name = args.function_name or _function_name(name)

        log_group = aws.cloudwatch.LogGroup(
            name,
            name=f"/aws/lambda/{physical_name}",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        self.success = _bind(args.on_success, self, name, DestinationKind.SUCCESS)
        self.failure = _bind(args.on_failure, self, name, DestinationKind.FAILURE)
        self.dead_letter = _bind(args.dlq, self, name, DestinationKind.DEAD_LETTER)

        role = aws.iam.Role(name, assume_role_policy=LAMBDA_ASSUME_ROLE_POLICY, opts=child)
        statements = [
            logs_statement(log_group.arn),
            *(b.statement for b in (self.success, self.failure, self.dead_letter) if b),
            *args.policy_statements,
        ]
        if args.tracing:
            # X-Ray's PutTraceSegments/PutTelemetryRecords have no resource-level permissions.
            statements.append(
                {
                    "Effect": "Allow",
                    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                    "Resource": "*",
                }
            )
        policy = aws.iam.RolePolicy(
            name, role=role.id, policy=policy_document(statements), opts=child
        )

        self.function = aws.lambda_.Function(
            name,
            name=physical_name,
            role=role.arn,
            runtime=args.runtime,
            handler=args.handler,
            architectures=[args.architecture],
            memory_size=args.memory_mb,
            timeout=args.timeout_seconds,
            code=args.code.archive,
            source_code_hash=args.code.source_hash,
            environment={"variables": dict(args.environment)} if args.environment else None,
            reserved_concurrent_executions=args.reserved_concurrency,
            dead_letter_config=({"target_arn": self.dead_letter.arn} if self.dead_letter else None),
            tracing_config={"mode": "Active"} if args.tracing else None,
            logging_config={"log_format": "Text", "log_group": log_group.name},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, log_group]),
        )

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
        self.role_arn = role.arn
        self.role_name = role.name
        self.register_outputs(
            {
                "functionName": self.function_name,
                "functionArn": self.function_arn,
                "roleArn": self.role_arn,
                "logGroupName": log_group.name,
                "successDestinationArn": self.success.arn if self.success else None,
                "failureDestinationArn": self.failure.arn if self.failure else None,
                "successQueueUrl": self.success.queue_url if self.success else None,
                "failureQueueUrl": self.failure.queue_url if self.failure else None,
                "deadLetterArn": self.dead_letter.arn if self.dead_letter else None,
            }
        )


def _check_range(setting: str, value: int, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{setting} must be between {low} and {high}, got {value!r}")


def _bind(
    destination: Destination | None, scope: pulumi.Resource, name: str, kind: DestinationKind
) -> DestinationBinding | None:
    return destination.bind(scope, name, kind) if destination else None


def _function_name(resource_name: str) -> str:
    """``<project>-<stack>-<name>``, shortened with a hash suffix past Lambda's 64 characters."""
    full = f"{pulumi.get_project()}-{pulumi.get_stack()}-{resource_name}"
    if len(full) <= _MAX_FUNCTION_NAME:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{full[: _MAX_FUNCTION_NAME - 9]}-{digest}"


def _failure_alarm(
    name: str,
    function: aws.lambda_.Function,
    failure: DestinationBinding | None,
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.MetricAlarm:
    """Alarm on records in the failure queue, or on function errors when there is no queue."""
    if failure is not None and failure.queue_url is not None:
        namespace, metric = "AWS/SQS", "ApproximateNumberOfMessagesVisible"
        dimensions = {"QueueName": failure.arn.apply(lambda arn: arn.split(":")[-1])}
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

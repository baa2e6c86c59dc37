"""What every ackflow Lambda function is made of: code, role, log group, tables, secrets.

Workers (AsyncWorker) and fronts (FrontFunction) both build on :func:`lambda_function`, so
their roles are scoped the same way: logs only to the function's own log group, each table
and secret parameter only on its own ARN, plus the statements the caller adds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components import limits
from components.bundle import CodeBundle
from components.iam import LAMBDA_ASSUME_ROLE_POLICY, logs_statement, policy_document

__all__ = ["FunctionArgs", "LambdaParts", "TableArgs", "check_range", "lambda_function"]

_MAX_FUNCTION_NAME = 64
_TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
]


@dataclass(frozen=True, kw_only=True)
class TableArgs:
    """A DynamoDB table the function owns (on-demand, encrypted, with TTL)."""

    name: str
    env: str
    """The environment variable that gives the function the table's name."""
    hash_key: str = "id"
    ttl_attribute: str | None = "expiration"


@dataclass(frozen=True, kw_only=True)
class FunctionArgs:
    """A Lambda function's code and settings; AWS's limits are checked on construction."""

    code: CodeBundle
    handler: str
    runtime: str = "python3.13"
    architecture: Literal["arm64", "x86_64"] = "arm64"
    memory_mb: int = limits.DEFAULT_MEMORY_MB
    timeout_seconds: int = limits.DEFAULT_TIMEOUT_SECONDS
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    reserved_concurrency: int | None = None
    log_retention_days: int = 14
    tracing: bool = False
    """Active X-Ray tracing."""
    policy_statements: Sequence[Mapping[str, Any]] = ()
    """Extra IAM statements the workload declares."""
    tables: Sequence[TableArgs] = ()
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Environment variable → secret value: each is kept in an SSM SecureString parameter,
    and the variable holds the parameter's name (never the value)."""
    function_name: str | None = None
    """The physical name; by default ``<project>-<stack>-<resource name>``."""

    def __post_init__(self) -> None:
        check_range("memory_mb", self.memory_mb, limits.MEMORY_MB)
        check_range("timeout_seconds", self.timeout_seconds, limits.TIMEOUT_SECONDS)
        if self.reserved_concurrency is not None and self.reserved_concurrency < 0:
            raise ValueError(
                f"reserved_concurrency must be 0 or more, got {self.reserved_concurrency}"
            )
        if self.log_retention_days not in limits.LOG_RETENTION_DAYS:
            raise ValueError(
                f"log_retention_days must be one of {limits.LOG_RETENTION_DAYS}, "
                f"got {self.log_retention_days}"
            )


@dataclass(frozen=True)
class LambdaParts:
    function: aws.lambda_.Function
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup


def lambda_function(
    scope: pulumi.Resource,
    name: str,
    args: FunctionArgs,
    *,
    statements: Sequence[Mapping[str, Any]] = (),
    dead_letter_arn: pulumi.Input[str] | None = None,
) -> LambdaParts:
    """Make the function and what it needs, as children of ``scope``."""
    child = pulumi.ResourceOptions(parent=scope)
    physical_name = args.function_name or _function_name(name)
    log_group = aws.cloudwatch.LogGroup(
        name,
        name=f"/aws/lambda/{physical_name}",
        retention_in_days=args.log_retention_days,
        opts=child,
    )
    environment = dict(args.environment)
    granted = [logs_statement(log_group.arn), *statements, *args.policy_statements]
    for table_args in args.tables:
        table = _table(name, table_args, child)
        environment[table_args.env] = table.name
        granted.append({"Effect": "Allow", "Action": _TABLE_ACTIONS, "Resource": table.arn})
    for env, value in args.secrets.items():
        parameter = _secret_parameter(name, env, value, child)
        environment[env] = parameter.name
        # SecureStrings under the AWS-managed aws/ssm key need no kms:Decrypt grant: that
        # key's policy lets account principals use it through SSM.
        granted.append({"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": parameter.arn})
    if args.tracing:
        # X-Ray's PutTraceSegments/PutTelemetryRecords have no resource-level permissions.
        granted.append(
            {
                "Effect": "Allow",
                "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                "Resource": "*",
            }
        )
    role = aws.iam.Role(name, assume_role_policy=LAMBDA_ASSUME_ROLE_POLICY, opts=child)
    policy = aws.iam.RolePolicy(name, role=role.id, policy=policy_document(granted), opts=child)
    function = aws.lambda_.Function(
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
        environment={"variables": environment} if environment else None,
        reserved_concurrent_executions=args.reserved_concurrency,
        dead_letter_config={"target_arn": dead_letter_arn} if dead_letter_arn else None,
        tracing_config={"mode": "Active"} if args.tracing else None,
        logging_config={"log_format": "Text", "log_group": log_group.name},
        opts=pulumi.ResourceOptions(parent=scope, depends_on=[policy, log_group]),
    )
    return LambdaParts(function=function, role=role, log_group=log_group)


def _table(name: str, table: TableArgs, opts: pulumi.ResourceOptions) -> aws.dynamodb.Table:
    return aws.dynamodb.Table(
        f"{name}-{table.name}",
        billing_mode="PAY_PER_REQUEST",
        hash_key=table.hash_key,
        attributes=[{"name": table.hash_key, "type": "S"}],
        ttl=(
            {"attribute_name": table.ttl_attribute, "enabled": True}
            if table.ttl_attribute
            else None
        ),
        server_side_encryption={"enabled": True},
        point_in_time_recovery={"enabled": True},
        opts=opts,
    )


def _secret_parameter(
    name: str, env: str, value: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> aws.ssm.Parameter:
    slug = env.lower().removesuffix("_parameter").replace("_", "-")
    return aws.ssm.Parameter(
        f"{name}-{slug}",
        name=f"/{pulumi.get_project()}/{pulumi.get_stack()}/{name}/{slug}",
        type="SecureString",
        value=pulumi.Output.secret(value),
        opts=opts,
    )


def check_range(setting: str, value: int, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{setting} must be between {low} and {high}, got {value!r}")


def _function_name(resource_name: str) -> str:
    """``<project>-<stack>-<name>``, shortened with a hash suffix past Lambda's 64 characters."""
    full = f"{pulumi.get_project()}-{pulumi.get_stack()}-{resource_name}"
    if len(full) <= _MAX_FUNCTION_NAME:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{full[: _MAX_FUNCTION_NAME - 9]}-{digest}"

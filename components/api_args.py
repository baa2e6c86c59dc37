"""What AsyncResolverApi is made from: operations, targets and API settings, as frozen data.

The stack program translates workloads into these values; the components never see a
workload.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi

__all__ = [
    "ApiTarget",
    "AsyncResolverApiArgs",
    "GraphQLOperation",
    "RestRoute",
    "Throttling",
]

LambdaInvocation = Literal["Event", "RequestResponse"]


@dataclass(frozen=True, kw_only=True)
class ApiTarget:
    """A Lambda function the API may invoke, owned by one workload."""

    key: str
    """Unique and stable, e.g. ``squaring-worker``; used in child resource names."""
    workload: str
    function_name: pulumi.Input[str]
    function_arn: pulumi.Input[str]
    invoke_arn: pulumi.Input[str]
    role_name: pulumi.Input[str] | None = None
    """The function's execution role, for grants the API gives it (streaming)."""


@dataclass(frozen=True, kw_only=True)
class GraphQLOperation:
    """A Query or Mutation field resolved by invoking a target."""

    workload: str
    type_name: Literal["Query", "Mutation"]
    field_name: str
    target: str
    """An ``ApiTarget.key``."""
    invocation: LambdaInvocation
    argument_rules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """What the resolver checks before an ``Event`` invocation, per argument:
    ``minLength``, ``maxLength``, ``pattern`` (a whole-value regex), ``minimum``, ``maximum``."""


@dataclass(frozen=True, kw_only=True)
class RestRoute:
    """An HTTP route of the REST API.

    ``invocation``: ``Event`` (always async, 202), ``RequestResponse`` (sync, 200),
    ``client`` (the caller's ``InvocationType`` header decides) or ``proxy`` (an
    ``AWS_PROXY`` integration for a front function that answers itself).
    """

    workload: str
    method: Literal["GET", "POST", "PUT", "DELETE"]
    path: str
    target: str
    invocation: Literal["Event", "RequestResponse", "client", "proxy"]
    body_schema: Mapping[str, Any] | None = None
    request_template: str | None = None
    response_template: str | None = None
    accepted_template: str | None = None


@dataclass(frozen=True, kw_only=True)
class Throttling:
    burst_limit: int = 100
    rate_limit: float = 50.0


@dataclass(frozen=True, kw_only=True)
class AsyncResolverApiArgs:
    targets: Sequence[ApiTarget]
    schema_fragments: Mapping[str, str] = field(default_factory=dict)
    """Workload name → its SDL fragment (``extend type Query { ... }``)."""
    graphql: Sequence[GraphQLOperation] = ()
    routes: Sequence[RestRoute] = ()
    streaming_targets: Sequence[str] = ()
    """Targets that publish chunks: their roles get ``appsync:GraphQL`` on publishChunk."""
    auth: Literal["apiKey", "iam", "cognito"] = "apiKey"
    api_key_days: int = 30
    cognito_user_pool_id: str | None = None
    stage_name: str = "api"
    throttling: Throttling = Throttling()
    field_log_level: Literal["NONE", "ERROR", "INFO", "DEBUG", "ALL"] = "ERROR"
    xray: bool = False
    log_retention_days: int = 14

    def target(self, key: str) -> ApiTarget:
        for target in self.targets:
            if target.key == key:
                return target
        raise KeyError(f"no API target {key!r}; targets: {', '.join(t.key for t in self.targets)}")

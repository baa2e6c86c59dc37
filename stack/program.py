"""The Pulumi program: config in, one AsyncWorker per enabled workload, outputs out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components import AsyncResolverApi, AsyncWorker, AsyncWorkerArgs
from components.api_args import (
    ApiTarget,
    AsyncResolverApiArgs,
    GraphQLOperation,
    RestRoute,
    Throttling,
)
from components.bundle import Bundler, LambdaBundler, SourceBundler
from components.destinations import (
    Destination,
    DestinationKind,
    SqsDestination,
    destination_for_arn,
)
from stack.config import ConfigError, StackConfig, parse_stack_config, read_pulumi_config
from workloads import (
    WORKLOADS_ROOT,
    HttpRoute,
    Invocation,
    StackContext,
    Workload,
    WorkloadSettings,
    discover,
)

__all__ = ["BUNDLER_ENV", "WORKLOADS_PATH_ENV", "build_api", "build_workers", "main"]

BUNDLER_ENV = "ACKFLOW_BUNDLER"
"""``source`` ships each workload folder as it is (offline preview, local runtime, tests);
anything else vendors requirements for Lambda, as ``pulumi up`` needs."""

WORKLOADS_PATH_ENV = "ACKFLOW_WORKLOADS_PATH"

_PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Stack settings that map one to one onto AsyncWorkerArgs fields.
_WORKER_FIELDS = (
    "retries",
    "max_event_age_seconds",
    "memory_mb",
    "timeout_seconds",
    "architecture",
    "log_retention_days",
    "reserved_concurrency",
    "tracing",
    "failure_alarm",
)


def main(workloads_root: Path = WORKLOADS_ROOT) -> None:
    """Entry point of ``__main__.py``.

    Workloads are discovered in ``workloads_root`` and in the folders listed in
    ``ACKFLOW_WORKLOADS_PATH`` (separated like ``PATH``), for workloads kept elsewhere.
    """
    extra = os.environ.get(WORKLOADS_PATH_ENV, "")
    available = discover(workloads_root, *(Path(p) for p in extra.split(os.pathsep) if p))
    try:
        config = parse_stack_config(read_pulumi_config(), available)
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None
    workers = build_workers(config, available, _bundler(), _stack_context())
    api = build_api(config, available, workers)
    if api.graphql:
        pulumi.export("graphqlUrl", api.graphql.graphql_url)
        pulumi.export("realtimeUrl", api.graphql.realtime_url)
        if api.graphql.api_key is not None:
            pulumi.export("apiKey", api.graphql.api_key)
    if api.rest:
        pulumi.export("restUrl", api.rest.url)
    for name, worker in workers.items():
        pulumi.export(f"{name}FunctionName", worker.function_name)
        for slot, binding in (("Success", worker.success), ("Failure", worker.failure)):
            if binding and binding.queue_url is not None:
                pulumi.export(f"{name}{slot}QueueUrl", binding.queue_url)


def build_workers(
    config: StackConfig,
    workloads: dict[str, Workload],
    bundler: Bundler,
    context: StackContext,
) -> dict[str, AsyncWorker]:
    """One AsyncWorker per workload the stack enables, in config order."""
    return {
        name: AsyncWorker(
            f"{name}-worker",
            worker_args(workloads[name], settings, bundler, context),
        )
        for name, settings in config.workloads.items()
    }


def build_api(
    config: StackConfig, workloads: dict[str, Workload], workers: dict[str, AsyncWorker]
) -> AsyncResolverApi:
    """The stack's one AsyncResolverApi, taking every enabled workload's operations."""
    api = config.api
    enabled = {name: workloads[name] for name in config.workloads}
    return AsyncResolverApi(
        "api",
        AsyncResolverApiArgs(
            targets=[_target(name, worker) for name, worker in workers.items()],
            schema_fragments={
                name: w.schema_fragment for name, w in enabled.items() if w.schema_fragment
            },
            graphql=[
                GraphQLOperation(
                    workload=name,
                    type_name=field.type_name,
                    field_name=field.field_name,
                    target=f"{name}-{field.function}",
                    invocation=_LAMBDA_INVOCATION[field.invocation],
                )
                for name, workload in enabled.items()
                for field in workload.graphql
            ],
            routes=[
                _rest_route(name, route, config.workloads[name])
                for name, workload in enabled.items()
                for route in workload.routes
            ],
            streaming_targets=[f"{name}-worker" for name, w in enabled.items() if w.streams],
            auth=api.auth,
            api_key_days=api.api_key_days,
            cognito_user_pool_id=api.cognito_user_pool_id,
            stage_name=api.stage_name,
            throttling=Throttling(
                burst_limit=api.throttling.burst_limit, rate_limit=api.throttling.rate_limit
            ),
            field_log_level=api.field_log_level,
            xray=api.xray,
            log_retention_days=api.log_retention_days,
        ),
    )


_LAMBDA_INVOCATION = {
    Invocation.EVENT: "Event",
    Invocation.REQUEST_RESPONSE: "RequestResponse",
    Invocation.CLIENT: "client",
}


def _target(workload: str, worker: AsyncWorker) -> ApiTarget:
    return ApiTarget(
        key=f"{workload}-worker",
        workload=workload,
        function_name=worker.function_name,
        function_arn=worker.function_arn,
        invoke_arn=worker.function.invoke_arn,
        role_name=worker.role_name,
    )


def _rest_route(workload: str, route: HttpRoute, settings: WorkloadSettings) -> RestRoute:
    return RestRoute(
        workload=workload,
        method=route.method,
        path=route.path,
        target=f"{workload}-{route.function}",
        invocation=(
            "proxy"
            if route.function == "front"
            else _LAMBDA_INVOCATION[route.invocation_for(settings)]
        ),
        body_schema=route.body_schema,
        request_template=route.request_template,
        response_template=route.response_template,
        accepted_template=route.accepted_template,
    )


def worker_args(
    workload: Workload, settings: WorkloadSettings, bundler: Bundler, context: StackContext
) -> AsyncWorkerArgs:
    """Merge AsyncWorker defaults, the workload's defaults and the stack's settings."""
    stack_settings = {
        name: getattr(settings, name)
        for name in (*_WORKER_FIELDS, "on_success", "on_failure", "dlq")
    }
    chosen: dict[str, Any] = {
        **workload.worker.defaults,
        **{name: value for name, value in stack_settings.items() if value is not None},
    }
    slots = {
        "on_success": DestinationKind.SUCCESS,
        "on_failure": DestinationKind.FAILURE,
        "dlq": DestinationKind.DEAD_LETTER,
    }
    overrides = {
        name: _destination(value, slots[name]) if name in slots else value
        for name, value in chosen.items()
    }
    architecture = overrides.get("architecture", "arm64")
    return AsyncWorkerArgs(
        code=bundler.bundle(workload.directory, architecture),
        handler=workload.worker.handler,
        environment=dict(workload.worker.environment(settings)),
        policy_statements=workload.iam_statements(settings, context),
        **overrides,
    )


def _destination(setting: str | bool, kind: DestinationKind) -> Destination | None:
    """``queue``/``true`` is a new queue, ``none``/``false`` none, else an existing ARN."""
    if setting in ("queue", True):
        return SqsDestination()
    if setting in ("none", False):
        return None
    assert isinstance(setting, str)
    return destination_for_arn(setting, kind)


def _bundler() -> Bundler:
    if os.environ.get(BUNDLER_ENV) == "source":
        return SourceBundler()
    return LambdaBundler(_PROJECT_ROOT / ".ackflow" / "bundles")


def _stack_context() -> StackContext:
    identity = aws.get_caller_identity()
    region = aws.get_region()
    return StackContext(
        project=pulumi.get_project(),
        stack=pulumi.get_stack(),
        region=region.region,
        account_id=identity.account_id,
    )

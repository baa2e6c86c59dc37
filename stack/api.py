"""The stack's AsyncResolverApi, from every enabled workload's operations."""

from __future__ import annotations

from components import AsyncResolverApi, AsyncWorker, FrontFunction
from components.api_args import (
    ApiTarget,
    AsyncResolverApiArgs,
    GraphQLOperation,
    RestRoute,
    Throttling,
)
from stack.config import StackConfig
from workloads import HttpRoute, Invocation, Workload, WorkloadSettings

__all__ = ["build_api"]


def build_api(
    config: StackConfig,
    workloads: dict[str, Workload],
    workers: dict[str, AsyncWorker],
    fronts: dict[str, FrontFunction],
) -> AsyncResolverApi:
    """The stack's one AsyncResolverApi, taking every enabled workload's operations."""
    api = config.api
    enabled = {name: workloads[name] for name in config.workloads}
    return AsyncResolverApi(
        "api",
        AsyncResolverApiArgs(
            targets=[
                *(_target(name, "worker", worker) for name, worker in workers.items()),
                *(_target(name, "front", front) for name, front in fronts.items()),
            ],
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
                    argument_rules={
                        argument: rule.as_resolver_rule()
                        for argument, rule in field.arguments(config.workloads[name]).items()
                    },
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


def _target(workload: str, role: str, function: AsyncWorker | FrontFunction) -> ApiTarget:
    return ApiTarget(
        key=f"{workload}-{role}",
        workload=workload,
        function_name=function.function_name,
        function_arn=function.function_arn,
        invoke_arn=function.function.invoke_arn,
        role_name=getattr(function, "role_name", None),
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

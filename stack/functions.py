"""Each enabled workload's functions: an AsyncWorker, and a FrontFunction where declared."""

from __future__ import annotations

from typing import Any

from components import AsyncWorker, AsyncWorkerArgs, FrontFunction, FrontFunctionArgs
from components.bundle import Bundler, CodeBundle
from components.destinations import (
    Destination,
    DestinationKind,
    SqsDestination,
    destination_for_arn,
)
from components.function import TableArgs
from components.graphql_front import GRAPHQL_URL_PARAMETER_ENV, graphql_url_parameter
from stack.config import StackConfig
from workloads import Function, StackContext, Workload, WorkloadSettings

__all__ = ["build_fronts", "build_workers", "front_args", "worker_args"]

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
# The ones that apply to a front too (its size and timeout are the workload's to choose).
_FRONT_FIELDS = ("architecture", "log_retention_days", "tracing")
_SLOTS = {
    "on_success": DestinationKind.SUCCESS,
    "on_failure": DestinationKind.FAILURE,
    "dlq": DestinationKind.DEAD_LETTER,
}


def build_workers(
    config: StackConfig, workloads: dict[str, Workload], bundler: Bundler, context: StackContext
) -> dict[str, AsyncWorker]:
    """One AsyncWorker per workload the stack enables, in config order."""
    return {
        name: AsyncWorker(
            f"{name}-worker", worker_args(workloads[name], settings, bundler, context)
        )
        for name, settings in config.workloads.items()
    }


def build_fronts(
    config: StackConfig,
    workloads: dict[str, Workload],
    workers: dict[str, AsyncWorker],
    bundler: Bundler,
) -> dict[str, FrontFunction]:
    """A FrontFunction for each enabled workload that declares one, in front of its worker."""
    return {
        name: FrontFunction(
            f"{name}-front", front_args(workloads[name], settings, workers[name], config, bundler)
        )
        for name, settings in config.workloads.items()
        if workloads[name].front is not None
    }


def worker_args(
    workload: Workload, settings: WorkloadSettings, bundler: Bundler, context: StackContext
) -> AsyncWorkerArgs:
    """Merge AsyncWorker defaults, the workload's defaults and the stack's settings."""
    chosen = _merged(workload.worker, settings, (*_WORKER_FIELDS, *_SLOTS))
    overrides = {
        name: _destination(value, _SLOTS[name]) if name in _SLOTS else value
        for name, value in chosen.items()
    }
    environment = dict(workload.worker.environment(settings))
    if workload.streams:
        parameter = graphql_url_parameter(context.project, context.stack)
        environment[GRAPHQL_URL_PARAMETER_ENV] = parameter
    return AsyncWorkerArgs(
        code=_code(workload, workload.worker, bundler, overrides.get("architecture", "arm64")),
        handler=workload.worker.handler,
        environment=environment,
        policy_statements=workload.iam_statements(settings, context),
        tables=[
            TableArgs(name=t.name, env=t.env, hash_key=t.hash_key, ttl_attribute=t.ttl_attribute)
            for t in workload.tables
        ],
        **overrides,
    )


def front_args(
    workload: Workload,
    settings: WorkloadSettings,
    worker: AsyncWorker,
    config: StackConfig,
    bundler: Bundler,
) -> FrontFunctionArgs:
    """The front's settings, its worker to invoke, and the secrets it reads."""
    front = workload.front
    assert front is not None
    chosen = _merged(front, settings, _FRONT_FIELDS)
    return FrontFunctionArgs(
        code=_code(workload, front, bundler, chosen.get("architecture", "arm64")),
        handler=front.handler,
        environment={**front.environment(settings), "WORKER_FUNCTION_NAME": worker.function_name},
        invokes=[worker.function_arn],
        secrets={secret.env: config.secrets[secret.key] for secret in workload.secrets},
        **chosen,
    )


def _merged(function: Function, settings: WorkloadSettings, fields: tuple[str, ...]) -> dict:
    """The function's own defaults, overridden by whatever the stack sets."""
    stack_values = {name: getattr(settings, name) for name in fields}
    return {
        **function.defaults,
        **{name: value for name, value in stack_values.items() if value is not None},
    }


def _code(
    workload: Workload, function: Function, bundler: Bundler, architecture: str
) -> CodeBundle:
    includes = [workload.directory.parent / name for name in function.includes]
    return bundler.bundle(workload.directory, architecture, includes)


def _destination(setting: Any, kind: DestinationKind) -> Destination | None:
    """``queue``/``true`` is a new queue, ``none``/``false`` none, else an existing ARN."""
    if setting in ("queue", True):
        return SqsDestination()
    if setting in ("none", False):
        return None
    return destination_for_arn(setting, kind)

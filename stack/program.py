"""The Pulumi program: config in, one AsyncWorker per enabled workload, outputs out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components import AsyncWorker, AsyncWorkerArgs
from components.bundle import Bundler, LambdaBundler, SourceBundler
from components.destinations import (
    Destination,
    DestinationKind,
    SqsDestination,
    destination_for_arn,
)
from stack.config import ConfigError, StackConfig, parse_stack_config, read_pulumi_config
from workloads import StackContext, Workload, WorkloadSettings, discover

__all__ = ["BUNDLER_ENV", "build_workers", "main"]

BUNDLER_ENV = "ACKFLOW_BUNDLER"
"""``source`` ships each workload folder as it is (offline preview, local runtime, tests);
anything else vendors requirements for Lambda, as ``pulumi up`` needs."""

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


def main() -> None:
    """Entry point of ``__main__.py``."""
    available = discover()
    try:
        config = parse_stack_config(read_pulumi_config(), available)
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None
    workers = build_workers(config, available, _bundler(), _stack_context())
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


def worker_args(
    workload: Workload, settings: WorkloadSettings, bundler: Bundler, context: StackContext
) -> AsyncWorkerArgs:
    """Merge AsyncWorker defaults, the workload's defaults and the stack's settings."""
    chosen: dict[str, Any] = dict(workload.worker.defaults)
    chosen.update(
        {field: getattr(settings, field) for field in _WORKER_FIELDS}
        | {"on_success": settings.on_success, "on_failure": settings.on_failure}
    )
    overrides = {key: value for key, value in chosen.items() if value is not None}
    for slot, kind in (
        ("on_success", DestinationKind.SUCCESS),
        ("on_failure", DestinationKind.FAILURE),
    ):
        if slot in overrides:
            overrides[slot] = _destination(overrides[slot], kind)
    if settings.dlq:
        overrides["dlq"] = _destination(settings.dlq, DestinationKind.DEAD_LETTER)
    architecture = overrides.get("architecture", "arm64")
    return AsyncWorkerArgs(
        code=bundler.bundle(workload.directory, architecture),
        handler=workload.worker.handler,
        environment=dict(workload.worker.environment(settings)),
        policy_statements=workload.iam_statements(settings, context),
        **overrides,
    )


def _destination(setting: str | bool, kind: DestinationKind) -> Destination | None:
    """``queue``/``true`` is a new queue, ``none`` is no destination, else an existing ARN."""
    if setting in ("queue", True):
        return SqsDestination()
    if setting == "none":
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

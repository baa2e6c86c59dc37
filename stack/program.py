"""The Pulumi program: config in; workers, fronts and the API built; outputs exported."""

from __future__ import annotations

import os
from pathlib import Path

import pulumi
import pulumi_aws as aws
from pulumi.runtime.config import is_config_secret

from components.bundle import Bundler, LambdaBundler, SourceBundler
from stack.api import build_api
from stack.config import ConfigError, parse_stack_config, read_pulumi_config
from stack.functions import build_fronts, build_workers
from workloads import WORKLOADS_ROOT, StackContext, Workload, WorkloadError, discover

__all__ = ["BUNDLER_ENV", "WORKLOADS_PATH_ENV", "available_workloads", "main"]

BUNDLER_ENV = "ACKFLOW_BUNDLER"
"""``source`` ships each workload folder as it is (offline preview, local runtime, tests);
anything else vendors requirements for Lambda, as ``pulumi up`` needs."""

WORKLOADS_PATH_ENV = "ACKFLOW_WORKLOADS_PATH"
"""Extra folders of workloads, separated like ``PATH``, for workloads kept elsewhere."""

_PROJECT_ROOT = Path(__file__).resolve().parent.parent


def available_workloads(workloads_root: Path = WORKLOADS_ROOT) -> dict[str, Workload]:
    """The workloads in ``workloads_root`` and in the folders of ``ACKFLOW_WORKLOADS_PATH``.

    Raises :class:`WorkloadError` for a folder that breaks the contract, or one that the
    variable names but does not exist.
    """
    extra = [Path(p) for p in os.environ.get(WORKLOADS_PATH_ENV, "").split(os.pathsep) if p]
    for folder in extra:
        if not folder.is_dir():
            raise WorkloadError(f"{WORKLOADS_PATH_ENV} names {folder}, which is not a folder")
    return discover(workloads_root, *extra)


def main(workloads_root: Path = WORKLOADS_ROOT) -> None:
    """Entry point of ``__main__.py``."""
    try:
        available = available_workloads(workloads_root)
        config = parse_stack_config(read_pulumi_config(), available)
    except (WorkloadError, ConfigError) as error:
        raise pulumi.RunError(str(error)) from None
    for key in config.secrets:
        if not is_config_secret(f"ackflow:{key}"):
            pulumi.log.warn(
                f"ackflow:{key} is stored in plain text in the stack file; encrypt it with: "
                f"pulumi config set --secret ackflow:{key} <value>"
            )
    bundler = _bundler()
    workers = build_workers(config, available, bundler, _stack_context())
    fronts = build_fronts(config, available, workers, bundler)
    api = build_api(config, available, workers, fronts)
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

"""``ackflow up``: serve a captured stack on this machine until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from rich.console import Console
from rich.table import Table

from local.apigateway.model import RestModel, rest_model
from local.appsync.auth import CognitoPools
from local.appsync.model import GraphQLApi, appsync_model
from local.appsync.service import AppSyncService
from local.async_invoke.aging import timeout_notes
from local.async_invoke.destinations import DestinationSender
from local.async_invoke.engine import DEFAULT_TIME_SCALE, AsyncEngine
from local.async_invoke.inbox import INBOX_FILE
from local.aws_services.cognito import StandInPool, stand_in_pools
from local.aws_services.moto_server import AwsServices, PortBusy, local_credentials, port_is_free
from local.aws_services.watchdog import keep_services_up
from local.cloud.capture import Capture, capture, read_stack_file, stack_file
from local.cloud.fake_cloud import ACCOUNT_ID
from local.cloud.functions import LocalFunction, functions_from_capture
from local.cloud.secrets import local_secrets, snake_case
from local.cloud.state import write_private
from local.front.process import FrontProcess
from local.iam.credentials import LocalCredentials, Principal, load_seed
from local.iam.policies import RolePolicies
from local.lambda_.concurrency import DEFAULT_ACCOUNT_CONCURRENCY
from local.lambda_.service import LambdaService
from local.standins.bedrock import Pacing, create_bedrock_app
from local.standins.slack_response_sink import create_sink_app
from local.standins.web_host import create_web_app
from stack.program import available_workloads
from workloads import Workload

__all__ = ["DEFAULT_PORT_BASE", "Ports", "UpOptions", "serve"]

DEFAULT_PORT_BASE = 4750


@dataclass(frozen=True)
class Ports:
    """The loopback ports of one running stack, consecutive from a base; the GraphQL APIs
    take the last ones, one each."""

    rest: int
    lambda_: int
    aws: int
    sink: int
    bedrock: int
    web: int
    graphql: int
    """The first GraphQL API's port (HTTP and real-time); the next API takes the next port."""

    @classmethod
    def from_base(cls, base: int) -> Ports:
        return cls(
            rest=base,
            lambda_=base + 1,
            aws=base + 2,
            sink=base + 3,
            bedrock=base + 4,
            web=base + 5,
            graphql=base + 6,
        )


@dataclass(frozen=True)
class UpOptions:
    stack: str = "dev"
    config: Mapping[str, Any] | None = None
    """The stack's config; None reads ``Pulumi.<stack>.yaml``."""
    state_root: Path = Path(".ackflow")
    port_base: int = DEFAULT_PORT_BASE
    time_scale: float = DEFAULT_TIME_SCALE
    model_pacing: Pacing = field(default_factory=Pacing)
    """How fast the Bedrock stand-in's model writes."""
    account_concurrency: int = DEFAULT_ACCOUNT_CONCURRENCY
    """The Lambda account's concurrent executions (AWS's default quota)."""
    max_environments: int | None = None
    """Execution environments (processes) at most; None: derived from cores and memory."""
    pid: int = field(default_factory=os.getpid)
    """The `ackflow up` a user stops (its runtime may be a child: ``run_in_niced_session``)."""

    @property
    def state_dir(self) -> Path:
        return self.state_root / self.stack


async def serve(options: UpOptions, console: Console, stop: asyncio.Event | None = None) -> None:
    """Capture the stack, start every local service, and run until ``stop`` (or a signal)."""
    stop = stop or _stop_on_signals()
    ports = Ports.from_base(options.port_base)
    for name, port in (
        ("REST gateway", ports.rest),
        ("Lambda service", ports.lambda_),
        ("response URL sink", ports.sink),
        ("Bedrock runtime stand-in", ports.bedrock),
        ("demo page", ports.web),
        ("GraphQL API", ports.graphql),
    ):
        if not port_is_free(port):
            raise PortBusy(
                f"port {port} ({name}) is in use by another program; "
                "pick other ports with --port-base"
            )
    config = (
        read_stack_file(stack_file(options.stack)) if options.config is None else options.config
    )
    available = available_workloads()
    secrets = local_secrets(config, available, options.state_dir / "secrets.json")
    # Pulumi's mock runtime drives its own event loop: evaluate the program in a thread.
    stack = await asyncio.to_thread(capture, options.stack, config, secrets=secrets)
    functions = functions_from_capture(stack)
    credentials = LocalCredentials(ACCOUNT_ID, load_seed(options.state_dir / "credentials.seed"))
    credentials.add_functions((f.name, f.role_arn) for f in functions.values())
    services = AwsServices(options.state_dir, ports.aws, stack.region)
    async with contextlib.AsyncExitStack() as running:  # stops what started, in reverse
        adopted = services.start()
        running.callback(services.stop)
        graphql_apis = appsync_model(stack)
        local_graphql = _local_graphql_urls(graphql_apis, ports)
        services.provision(stack, local_graphql)
        urls = _LocalUrls(
            aws=services.url,
            lambda_=f"http://127.0.0.1:{ports.lambda_}",
            bedrock=f"http://127.0.0.1:{ports.bedrock}",
        )
        function_keys = [credentials.for_function(f).access_key for f in functions]
        lambda_service = LambdaService(
            functions,
            lambda f: _function_environment(
                f, stack.region, urls, credentials.for_function(f.name)
            ),
            options.state_dir / "logs",
            account_concurrency=options.account_concurrency,
            max_environments=options.max_environments,
            function_keys=function_keys,
        )
        running.push_async_callback(lambda_service.close)
        engine = AsyncEngine(
            options.state_dir / "events.sqlite3",
            functions,
            lambda_service,
            DestinationSender(endpoint_url=services.url, region=stack.region),
            time_scale=options.time_scale,
            inbox_path=options.state_dir / INBOX_FILE,
        )
        running.callback(engine.close)
        lambda_service.events = engine
        pools = stand_in_pools(services.client("cognito-idp"), _trusted_pool_ids(graphql_apis))
        appsync = AppSyncService(
            graphql_apis,
            lambda_service,
            credentials,
            RolePolicies.from_capture(stack),
            cognito=CognitoPools(services.url, {p.configured_id: p.local_id for p in pools}),
        )
        running.callback(appsync.close)
        front = await _serve_front(
            lambda_service, engine, rest_model(stack), ports, function_keys, options, running
        )
        apps = [
            (create_sink_app(), ports.sink),
            (create_bedrock_app(options.model_pacing), ports.bedrock),
            *((served.app, ports.graphql + i) for i, served in enumerate(appsync.apis)),
        ]
        for app, port in apps:
            running.push_async_callback((await _serve_app(app, port)).cleanup)
        endpoints = _endpoints(options, stack, services, ports, lambda_service, functions)
        endpoints |= _graphql_endpoints(appsync, ports, credentials.user, pools)
        endpoints["bedrock_runtime_url"] = urls.bedrock
        if appsync.apis:
            page = create_web_app(
                {
                    "graphqlUrl": endpoints["graphql_url"],
                    "realtimeUrl": endpoints["realtime_url"],
                    "apiKey": endpoints["api_key"],
                }
            )
            running.push_async_callback((await _serve_app(page, ports.web)).cleanup)
            endpoints["web_url"] = f"http://127.0.0.1:{ports.web}/"
        endpoints |= _named_routes(endpoints["rest_url"], endpoints["workloads"], available)
        endpoints |= {snake_case(key.partition(":")[2]): value for key, value in secrets.items()}
        _leave_startup_out_of_garbage_collection()
        _write_endpoints(options.state_dir / "endpoints.json", endpoints)
        _print_endpoints(console, endpoints, adopted, options, functions)
        _print_capacity(console, lambda_service, options)

        engine_task = asyncio.create_task(engine.run())
        engine_task.add_done_callback(lambda task: _report_engine_exit(console, task))
        running.push_async_callback(_stop_engine, engine, engine_task)
        # Closed again (it is idempotent), now first on the way out: no acks for an engine
        # that has stopped running them.
        running.push_async_callback(front.close)
        watchdog = asyncio.create_task(
            keep_services_up(services, lambda: services.provision(stack, local_graphql))
        )
        running.push_async_callback(_cancel, watchdog)
        await stop.wait()
        console.print("[dim]shutting down…[/]")


def _leave_startup_out_of_garbage_collection() -> None:
    """Move what startup built (the captured stack, botocore's service models, the GraphQL
    schemas and resolvers) to the collector's permanent generation. Each full collection walked
    all of it on the event loop, 73 to 220 ms a time (``gc.callbacks``, runs of 8,000 acks):
    the acks' p99. Frozen, the full collections of the same runs took 6 to 17 ms."""
    gc.collect()
    gc.freeze()


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _stop_engine(engine: AsyncEngine, task: asyncio.Task[None]) -> None:
    engine.stop()
    with contextlib.suppress(Exception):  # already reported by _report_engine_exit
        await task


def _report_engine_exit(console: Console, task: asyncio.Task[None]) -> None:
    """The engine's task is watched: if it ends on its own, say so where the user looks."""
    if task.cancelled() or task.exception() is None:
        return
    console.print(
        f"[bold red]the async engine stopped: {task.exception()!r}. Event invocations are "
        "refused (503) from now on; restart ackflow up.[/]"
    )


@dataclass(frozen=True)
class _LocalUrls:
    """Where the functions' AWS SDKs reach the local services."""

    aws: str
    lambda_: str
    bedrock: str


def _function_environment(
    function: LocalFunction, region: str, urls: _LocalUrls, principal: Principal
) -> dict[str, str]:
    """The function's own variables plus what Lambda sets and the local endpoints. Like
    Lambda, it gets its role's credentials (its own pair here)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **function.environment,
        **local_credentials(region),
        "AWS_ACCESS_KEY_ID": principal.access_key,
        "AWS_SECRET_ACCESS_KEY": principal.secret_key,
        "AWS_ENDPOINT_URL": urls.aws,
        "AWS_ENDPOINT_URL_LAMBDA": urls.lambda_,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": urls.bedrock,
        "ACKFLOW_LOCAL": "1",
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": function.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": "local",
        "LAMBDA_TASK_ROOT": str(function.code_dir),
        "_HANDLER": function.handler,
    }


async def _serve_front(
    lambda_service: LambdaService,
    engine: AsyncEngine,
    rest: RestModel,
    ports: Ports,
    function_keys: list[str],
    options: UpOptions,
    running: contextlib.AsyncExitStack,
) -> FrontProcess:
    """The Lambda service on an internal port, behind the front process, which serves the
    public Invoke API and the REST gateway and acknowledges their Event calls
    (:mod:`local.front.server`)."""
    internal = await _serve_app(lambda_service.app(), 0)
    running.push_async_callback(internal.cleanup)
    front = FrontProcess(
        engine,
        inbox=options.state_dir / INBOX_FILE,
        service_url=f"http://127.0.0.1:{internal.addresses[0][1]}",
        arns={f.name: f.arn for f in lambda_service.functions.values()},
        function_keys=function_keys,
        state_dir=options.state_dir,
        rest_model=rest,
    )
    running.push_async_callback(front.close)  # a start that fails half-way is undone too
    await front.start(ports.lambda_, ports.rest)
    return front


async def _serve_app(app: web.Application, port: int) -> web.AppRunner:
    # Bodies are read as sent, whatever their Content-Encoding: API Gateway decompresses only
    # for an API with compression enabled (none here), and aiohttp's decoder answered a body
    # that was not what its header said with a 500, or waited forever for a deflate stream.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2, auto_decompress=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
    except OSError as error:
        await runner.cleanup()
        raise PortBusy(
            f"cannot listen on port {port}: {error.strerror}; pick other ports with --port-base"
        ) from error
    return runner


def _endpoints(
    options: UpOptions,
    stack: Capture,
    services: AwsServices,
    ports: Ports,
    lambda_service: LambdaService,
    functions: Mapping[str, LocalFunction],
) -> dict[str, Any]:
    stage = next((r.inputs["stageName"] for r in stack.of_type("aws:apigateway/stage:Stage")), None)
    rest_url = f"http://127.0.0.1:{ports.rest}/{stage}" if stage else None
    workloads: dict[str, Any] = {}
    for front in stack.of_type("ackflow:index:FrontFunction"):
        workloads.setdefault(front.name.removesuffix("-front"), {})["front_function_name"] = (
            front.component_outputs["functionName"]
        )
    for worker in stack.of_type("ackflow:index:AsyncWorker"):
        outputs = worker.component_outputs
        name = worker.name.removesuffix("-worker")
        function_name = outputs["functionName"]
        workloads.setdefault(name, {}).update(
            {
                "function_name": function_name,
                "success_queue_url": services.queue_urls.get(outputs.get("successDestinationArn")),
                "failure_queue_url": services.queue_urls.get(outputs.get("failureDestinationArn")),
                "log_file": str(lambda_service.log_path(function_name).resolve()),
            }
        )
    return {
        "stack": options.stack,
        "pid": options.pid,
        "region": stack.region,
        "rest_url": rest_url,
        "aws_endpoint_url": services.url,
        "lambda_endpoint_url": f"http://127.0.0.1:{ports.lambda_}",
        "response_sink_url": f"http://127.0.0.1:{ports.sink}/hooks",
        "time_scale": options.time_scale,
        "state_dir": str(options.state_dir.resolve()),
        "functions": sorted(functions),
        "workloads": workloads,
    }


def _trusted_pool_ids(apis: list[GraphQLApi]) -> list[str]:
    """The Cognito user pools the stack's GraphQL APIs trust."""
    return [
        provider.user_pool_id
        for api in apis
        for provider in (api.default_auth, *api.additional_auth)
        if provider.user_pool_id
    ]


def _local_graphql_urls(apis: list[GraphQLApi], ports: Ports) -> dict[str, str]:
    """Each API's cloud GraphQL URL → where it is served here (the i-th API on the i-th port)."""
    return {
        api.aws_graphql_url: f"http://127.0.0.1:{ports.graphql + i}/graphql"
        for i, api in enumerate(apis)
        if api.aws_graphql_url
    }


def _graphql_endpoints(
    appsync: AppSyncService, ports: Ports, user: Principal, pools: list[StandInPool]
) -> dict[str, Any]:
    """The first API's URLs and key (a stack has one), the credentials IAM accepts, and the
    stand-in user pool when the API trusts one."""
    found: dict[str, Any] = {
        "aws_access_key_id": user.access_key,
        "aws_secret_access_key": user.secret_key,
    }
    if pools:
        found |= {
            "cognito_user_pool_id": pools[0].local_id,
            "cognito_client_id": pools[0].client_id,
        }
    if appsync.apis:
        api = appsync.apis[0].api
        found |= {
            "graphql_url": f"http://127.0.0.1:{ports.graphql}/graphql",
            "realtime_url": f"ws://127.0.0.1:{ports.graphql}/graphql/realtime",
            "api_key": api.api_keys[0].key if api.api_keys else None,
        }
    return found


def _named_routes(
    rest_url: str | None, enabled: Mapping[str, Any], available: Mapping[str, Workload]
) -> dict[str, str]:
    """The URLs of routes that workloads name (``slack_command_url``)."""
    return {
        route.endpoint: f"{rest_url}{route.path}"
        for name in enabled
        for route in available[name].routes
        if route.endpoint and rest_url
    }


def _write_endpoints(path: Path, endpoints: Mapping[str, Any]) -> None:
    write_private(path, json.dumps(endpoints, indent=2) + "\n")  # it holds the local secrets


_LISTED = {
    "rest_url",
    "graphql_url",
    "realtime_url",
    "aws_endpoint_url",
    "lambda_endpoint_url",
    "response_sink_url",
    "bedrock_runtime_url",
    "web_url",
}


def _print_endpoints(
    console: Console,
    endpoints: Mapping[str, Any],
    adopted: bool,
    options: UpOptions,
    functions: Mapping[str, LocalFunction],
) -> None:
    table = Table(title=f"ackflow · stack {endpoints['stack']} · local", title_justify="left")
    table.add_column("what")
    table.add_column("where", overflow="fold")
    table.add_row("REST API", endpoints["rest_url"] or "—")
    table.add_row("GraphQL API", endpoints.get("graphql_url") or "—")
    table.add_row("GraphQL real-time", endpoints.get("realtime_url") or "—")
    if endpoints.get("api_key"):
        table.add_row("GraphQL API key", endpoints["api_key"])
    table.add_row("AWS services (moto)", endpoints["aws_endpoint_url"])
    table.add_row("Lambda", endpoints["lambda_endpoint_url"])
    table.add_row("response URL sink (stand-in for Slack)", endpoints["response_sink_url"])
    table.add_row("Bedrock runtime (stand-in)", endpoints["bedrock_runtime_url"])
    if endpoints.get("web_url"):
        table.add_row("streaming demo page", endpoints["web_url"])
    for key, url in endpoints.items():
        if key.endswith("_url") and key not in _LISTED:
            table.add_row(key, url)
    for name, workload in endpoints["workloads"].items():
        table.add_row(f"{name}: function", workload["function_name"])
        table.add_row(f"{name}: success queue", workload["success_queue_url"] or "—")
        table.add_row(f"{name}: failure queue", workload["failure_queue_url"] or "—")
        table.add_row(f"{name}: log", workload["log_file"])
    console.print(table)
    console.print(f"endpoints written to {options.state_dir / 'endpoints.json'}")
    if adopted:
        console.print("[yellow]adopted the AWS services a previous run left running[/]")
    console.print(
        f"time scale {options.time_scale}: AWS's 1 + 2 minute retries take "
        f"{60 * options.time_scale:g} + {120 * options.time_scale:g} s. Ctrl-C stops."
    )
    for note in timeout_notes(functions, options.time_scale):
        console.print(f"[yellow]{note}[/]")


def _print_capacity(console: Console, service: LambdaService, options: UpOptions) -> None:
    pool = service.pool
    console.print(
        f"Lambda concurrency {options.account_concurrency} (unreserved "
        f"{service.limits.unreserved_limit}); up to {pool.max_environments} local execution "
        f"environments, {pool.event_share} of them for async events "
        "(--account-concurrency, --max-environments)"
    )


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop

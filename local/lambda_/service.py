"""The local Lambda service: the Invoke API over HTTP, backed by warm execution environments.

Speaks the Invoke API as AWS does (``POST /2015-03-31/functions/<name>/invocations``):
RequestResponse answers 200 (``X-Amz-Function-Error`` on a function error), Event answers
202 with an empty body once the event is durably queued, DryRun answers 204. boto3 and the
AWS CLI reach it through ``AWS_ENDPOINT_URL_LAMBDA`` / ``--endpoint-url``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Protocol

from aiohttp import web

from local.cloud.functions import LocalFunction
from local.lambda_.concurrency import DEFAULT_ACCOUNT_CONCURRENCY, ConcurrencyLimits
from local.lambda_.environment import ExecutionEnvironment
from local.lambda_.invocation import (
    MAX_SYNC_PAYLOAD_BYTES,
    EnvironmentUnavailable,
    EventQueueUnavailable,
    InvocationResult,
    InvocationType,
    InvokeResponse,
    Throttled,
)
from local.lambda_.invoke_api import (
    INVOKE_PATH,
    FunctionDirectory,
    UnknownFunction,
    aws_error,
    invoke_response,
    queue_unavailable,
    read_invoke_request,
    signed_with,
)
from local.lambda_.pool import EnvironmentPool, Lane
from local.request_ids import new_request_id

__all__ = ["EventQueue", "LambdaService", "UnknownFunction"]

RATE_EXCEEDED = "Rate Exceeded."
"""The message of every concurrency throttle (429 TooManyRequestsException)."""


class EventQueue(Protocol):
    """Where Event invocations go: the durable async engine."""

    async def accept(self, function_name: str, payload: bytes, *, backpressure: bool = True) -> str:
        """The request id once the event is durably queued; raises
        :class:`EventQueueUnavailable` when it cannot be. ``backpressure``: the caller may be
        held while the queue is too far behind (see :mod:`local.async_invoke.intake`)."""
        ...


class LambdaService:
    """Runs the stack's functions and answers the Invoke API.

    Concurrency follows AWS (:mod:`local.lambda_.concurrency`): ``account_concurrency`` is the
    account's pool, reserved concurrency is carved out of it, and a 429 comes only from those.
    The processes behind it are capped by the machine (:mod:`local.lambda_.pool`): above
    ``max_environments``, an invocation waits for an environment instead of being refused.

    ``function_keys`` are the functions' own access keys: an ``Event`` call signed with one
    comes from a running function, and is never held back by the async engine's intake, as
    holding it would keep an execution environment (what the queue is short of) and its
    caller may have a deadline of its own (a Slack front answers within 3 s).
    """

    def __init__(
        self,
        functions: Mapping[str, LocalFunction],
        environment_for: Callable[[LocalFunction], Mapping[str, str]],
        log_dir: Path,
        *,
        account_concurrency: int = DEFAULT_ACCOUNT_CONCURRENCY,
        max_environments: int | None = None,
        function_keys: Iterable[str] = (),
    ) -> None:
        self.functions = dict(functions)
        self._function_keys = frozenset(function_keys)
        self._directory = FunctionDirectory({f.name: f.arn for f in self.functions.values()})
        self.events: EventQueue | None = None
        self._environment_for = environment_for
        self._log_dir = log_dir
        self.limits = ConcurrencyLimits(self.functions, account_concurrency)
        self.pool = EnvironmentPool(self._new_environment, max_environments=max_environments)
        self._logs: dict[str, IO[bytes]] = {}
        self._running: set[asyncio.Task[InvocationResult]] = set()

    @property
    def max_running_events(self) -> int:
        """The async engine's share of the environments: it runs no more events at once."""
        return self.pool.event_share

    def log_path(self, function_name: str) -> Path:
        return self._log_dir / f"{function_name}.log"

    def resolve(self, name_or_arn: str, qualifier: str | None = None) -> LocalFunction:
        """A function by name, partial or full ARN (see :meth:`FunctionDirectory.resolve`)."""
        return self.functions[self._directory.resolve(name_or_arn, qualifier)]

    async def invoke(
        self,
        function_name: str,
        payload: bytes,
        invocation_type: InvocationType = "RequestResponse",
        *,
        backpressure: bool = True,
    ) -> InvokeResponse:
        """The Invoke API in process (what the gateways call).

        Raises :class:`Throttled` (AWS's 429) and :class:`EnvironmentUnavailable` (this
        machine's limit, a 500) for RequestResponse. ``backpressure``: see
        :meth:`EventQueue.accept`.
        """
        function = self.resolve(function_name)
        if invocation_type == "DryRun":
            return InvokeResponse(204, b"", new_request_id())
        if invocation_type == "Event":
            if self.events is None:
                raise RuntimeError("no async engine is attached to the Lambda service")
            request_id = await self.events.accept(function.name, payload, backpressure=backpressure)
            return InvokeResponse(202, b"", request_id)
        result = await self._run(function, payload, new_request_id(), "sync")
        return InvokeResponse(200, result.payload, result.request_id, result.function_error)

    async def execute(
        self, function_name: str, payload: bytes, request_id: str
    ) -> InvocationResult:
        """Run one queued event, for the async engine (Lambda's pollers).

        It waits for the engine's share of environments, as long as it takes; ``Throttled``
        only when AWS would throttle it (reserved concurrency or the account's pool in use).
        """
        return await self._run(self.resolve(function_name), payload, request_id, "event")

    async def close(self) -> None:
        for run in list(self._running):
            run.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        await self.pool.close()
        for log in self._logs.values():
            log.close()

    def app(self) -> web.Application:
        """The Invoke API as an aiohttp application."""
        app = web.Application(client_max_size=MAX_SYNC_PAYLOAD_BYTES + 1024)
        app.add_routes(
            [
                web.post(INVOKE_PATH, self._handle_invoke),
                web.get("/2015-03-31/functions/", self._handle_list),
                web.get("/2015-03-31/functions", self._handle_list),
            ]
        )
        return app

    async def _run(
        self, function: LocalFunction, payload: bytes, request_id: str, lane: Lane
    ) -> InvocationResult:
        self.limits.admit(function.name)
        try:
            # A sync call waits no longer than its function may run; an event waits its turn.
            timeout = function.timeout_seconds if lane == "sync" else None
            environment = await self.pool.acquire(function, lane, timeout)
        except BaseException:
            self.limits.release(function.name)
            raise
        # Once running, the invocation runs to its end even if its caller gives up (the REST
        # gateway's 29 s timeout): its environment and concurrency stay taken until then, as
        # on AWS, where the function keeps running after API Gateway has answered 504.
        run = asyncio.create_task(self._invoke(function, environment, request_id, payload))
        self._running.add(run)
        run.add_done_callback(self._forget)
        return await asyncio.shield(run)

    async def _invoke(
        self,
        function: LocalFunction,
        environment: ExecutionEnvironment,
        request_id: str,
        payload: bytes,
    ) -> InvocationResult:
        try:
            return await environment.invoke(request_id, payload)
        finally:
            self.pool.release(environment)
            self.limits.release(function.name)

    def _forget(self, run: asyncio.Task[InvocationResult]) -> None:
        self._running.discard(run)
        if not run.cancelled():
            run.exception()  # retrieved: a caller that gave up does not want it

    def _new_environment(self, function: LocalFunction) -> ExecutionEnvironment:
        return ExecutionEnvironment(
            function, self._environment_for(function), self._log(function.name)
        )

    def _log(self, name: str) -> IO[bytes]:
        if name not in self._logs:
            self._log_dir.mkdir(parents=True, exist_ok=True)
            self._logs[name] = self.log_path(name).open("ab")
        return self._logs[name]

    async def _handle_invoke(self, request: web.Request) -> web.Response:
        invoke = await read_invoke_request(request, self._directory)
        if isinstance(invoke, web.Response):
            return invoke
        invocation_type = invoke.invocation_type
        try:
            answer = await self.invoke(
                invoke.function_name,
                invoke.payload,
                invocation_type,
                backpressure=invocation_type == "Event"
                and not signed_with(request, self._function_keys),
            )
        except Throttled as throttled:
            return aws_error(
                429, "TooManyRequestsException", RATE_EXCEEDED, Reason=throttled.reason
            )
        except EnvironmentUnavailable as unavailable:
            return aws_error(500, "ServiceException", str(unavailable), message_key="Message")
        except EventQueueUnavailable as unavailable:
            return queue_unavailable(str(unavailable))
        return invoke_response(answer)

    async def _handle_list(self, request: web.Request) -> web.Response:
        listing = [
            {
                "FunctionName": f.name,
                "FunctionArn": f.arn,
                "Runtime": f.runtime,
                "Handler": f.handler,
                "Timeout": f.timeout_seconds,
                "MemorySize": f.memory_mb,
            }
            for f in self.functions.values()
        ]
        return web.json_response({"Functions": listing})

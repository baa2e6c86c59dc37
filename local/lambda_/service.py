"""The local Lambda service: the Invoke API over HTTP, backed by warm execution environments.

Speaks the Invoke API as AWS does (``POST /2015-03-31/functions/<name>/invocations``):
RequestResponse answers 200 (``X-Amz-Function-Error`` on a function error), Event answers
202 with an empty body once the event is durably queued, DryRun answers 204. boto3 and the
AWS CLI reach it through ``AWS_ENDPOINT_URL_LAMBDA`` / ``--endpoint-url``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Protocol

from aiohttp import web

from local.cloud.functions import LocalFunction
from local.lambda_.environment import ExecutionEnvironment
from local.lambda_.invocation import (
    MAX_ASYNC_PAYLOAD_BYTES,
    MAX_SYNC_PAYLOAD_BYTES,
    InvocationResult,
    InvocationType,
    InvokeResponse,
    Throttled,
)

__all__ = ["DEFAULT_CONCURRENCY", "EventQueue", "LambdaService", "UnknownFunction"]

DEFAULT_CONCURRENCY = 10
"""Environments per function when it reserves none (AWS's account pool is 1000; a laptop isn't)."""
INVOKE_PATH = "/2015-03-31/functions/{name}/invocations"


class UnknownFunction(KeyError):
    """No function of that name or ARN is declared."""


class EventQueue(Protocol):
    """Where Event invocations go: the durable async engine."""

    def accept(self, function_name: str, payload: bytes) -> str: ...


class LambdaService:
    """Runs the stack's functions and answers the Invoke API."""

    def __init__(
        self,
        functions: Mapping[str, LocalFunction],
        environment_for: Callable[[LocalFunction], Mapping[str, str]],
        log_dir: Path,
        *,
        default_concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.functions = dict(functions)
        self.events: EventQueue | None = None
        self._environment_for = environment_for
        self._log_dir = log_dir
        self._default_concurrency = default_concurrency
        self._pools: dict[str, list[ExecutionEnvironment]] = {name: [] for name in functions}
        self._logs: dict[str, IO[bytes]] = {}
        self._starting: dict[str, int] = dict.fromkeys(functions, 0)

    def log_path(self, function_name: str) -> Path:
        return self._log_dir / f"{function_name}.log"

    def resolve(self, name_or_arn: str) -> LocalFunction:
        """A function by name, full ARN or partial ARN (``…:function:<name>[:$LATEST]``)."""
        name = name_or_arn
        if ":function:" in name_or_arn:
            name = name_or_arn.split(":function:", 1)[1].split(":", 1)[0]
        if name not in self.functions:
            raise UnknownFunction(name_or_arn)
        return self.functions[name]

    async def invoke(
        self,
        function_name: str,
        payload: bytes,
        invocation_type: InvocationType = "RequestResponse",
    ) -> InvokeResponse:
        """The Invoke API in process (what the gateways call)."""
        function = self.resolve(function_name)
        if invocation_type == "DryRun":
            return InvokeResponse(204, b"", str(uuid.uuid4()))
        if invocation_type == "Event":
            if self.events is None:
                raise RuntimeError("no async engine is attached to the Lambda service")
            request_id = self.events.accept(function.name, payload)
            return InvokeResponse(202, b"", request_id)
        result = await self.execute(function.name, payload, str(uuid.uuid4()))
        return InvokeResponse(200, result.payload, result.request_id, result.function_error)

    async def execute(
        self, function_name: str, payload: bytes, request_id: str
    ) -> InvocationResult:
        """Run once now in a warm environment, or a new one; ``Throttled`` when none may start."""
        function = self.resolve(function_name)
        environment = await self._claim(function)
        try:
            return await environment.invoke(request_id, payload)
        finally:
            environment.busy = False
            if not environment.reusable:
                await self._discard(function.name, environment)

    async def close(self) -> None:
        for pool in self._pools.values():
            for environment in pool:
                await environment.stop()
            pool.clear()
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

    async def _claim(self, function: LocalFunction) -> ExecutionEnvironment:
        pool = self._pools[function.name]
        for environment in list(pool):
            if not environment.reusable and not environment.busy:
                await self._discard(function.name, environment)
            elif not environment.busy:
                environment.busy = True
                return environment
        limit = (
            function.reserved_concurrency
            if function.reserved_concurrency is not None
            else self._default_concurrency
        )
        if len(pool) + self._starting[function.name] >= limit:
            raise Throttled(function.name)
        self._starting[function.name] += 1
        try:
            environment = ExecutionEnvironment(
                function, self._environment_for(function), self._log(function.name)
            )
            environment.busy = True
            await environment.start()
            pool.append(environment)
        finally:
            self._starting[function.name] -= 1
        return environment

    async def _discard(self, name: str, environment: ExecutionEnvironment) -> None:
        await environment.stop()
        if environment in self._pools[name]:
            self._pools[name].remove(environment)

    def _log(self, name: str) -> IO[bytes]:
        if name not in self._logs:
            self._log_dir.mkdir(parents=True, exist_ok=True)
            self._logs[name] = self.log_path(name).open("ab")
        return self._logs[name]

    async def _handle_invoke(self, request: web.Request) -> web.Response:
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type not in ("RequestResponse", "Event", "DryRun"):
            return _aws_error(
                400, "InvalidParameterValueException", f"Invalid invocation type {invocation_type}"
            )
        try:
            function = self.resolve(request.match_info["name"])
        except UnknownFunction as missing:
            return _aws_error(
                404, "ResourceNotFoundException", f"Function not found: {missing.args[0]}"
            )
        payload = await request.read() or b"{}"
        limit = MAX_ASYNC_PAYLOAD_BYTES if invocation_type == "Event" else MAX_SYNC_PAYLOAD_BYTES
        if len(payload) > limit:
            return _aws_error(
                413,
                "RequestEntityTooLargeException",
                f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
            )
        try:
            json.loads(payload)
        except ValueError:
            return _aws_error(
                400, "InvalidRequestContentException", "Could not parse request body into json"
            )
        try:
            answer = await self.invoke(function.name, payload, invocation_type)
        except Throttled:
            return _aws_error(429, "TooManyRequestsException", "Rate Exceeded.")
        headers = {"x-amzn-RequestId": answer.request_id, "X-Amz-Executed-Version": "$LATEST"}
        if answer.function_error:
            headers["X-Amz-Function-Error"] = answer.function_error
        return web.Response(
            status=answer.status,
            body=answer.payload,
            headers=headers,
            content_type="application/json",
        )

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


def _aws_error(status: int, error_type: str, message: str) -> web.Response:
    return web.json_response(
        {"Type": "User", "message": message},
        status=status,
        headers={"x-amzn-ErrorType": error_type},
    )

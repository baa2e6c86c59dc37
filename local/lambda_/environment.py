"""One warm execution environment: AWS's runtime client polling a local Runtime API.

Each environment is a ``python -m awslambdaric <handler>`` subprocess with its own Runtime
API server on a loopback port, the function's environment variables, and its output
appended to the function's log file. It runs one invocation at a time, as Lambda does.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO

from aiohttp import web

from local.cloud.functions import LocalFunction
from local.lambda_.invocation import InvocationResult

__all__ = ["ExecutionEnvironment"]

RUNTIME_PREFIX = "/2018-06-01/runtime"
INIT_TIMEOUT_SECONDS = 10
"""Lambda gives a function's init phase 10 seconds, apart from its invocation timeout."""
UNHANDLED = "Unhandled"


class ExecutionEnvironment:
    """A sandbox for one function that can be invoked again and again while it lives."""

    def __init__(
        self, function: LocalFunction, environment: Mapping[str, str], log: IO[bytes]
    ) -> None:
        self.function = function
        self._environment = dict(environment)
        self._log = log
        self._process: asyncio.subprocess.Process | None = None
        self._runner: web.AppRunner | None = None
        self._invocations: asyncio.Queue[tuple[str, bytes, float]] = asyncio.Queue()
        self._results: dict[str, asyncio.Future[InvocationResult]] = {}
        self._current: str | None = None
        self._init_error: InvocationResult | None = None
        self._ready = asyncio.Event()
        self.busy = False

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self) -> None:
        """Serve the Runtime API and start the runtime client (the cold start)."""
        app = web.Application()
        app.add_routes(
            [
                web.get(f"{RUNTIME_PREFIX}/invocation/next", self._next),
                web.post(f"{RUNTIME_PREFIX}/invocation/{{id}}/response", self._response),
                web.post(f"{RUNTIME_PREFIX}/invocation/{{id}}/error", self._error),
                web.post(f"{RUNTIME_PREFIX}/init/error", self._init_failed),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        env = {
            **self._environment,
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
            # The folder's parent too: workloads it includes are its siblings there (the Lambda
            # bundle ships them inside the archive instead).
            "PYTHONPATH": os.pathsep.join(
                (str(self.function.code_dir), str(self.function.code_dir.parent))
            ),
            "PYTHONUNBUFFERED": "1",
        }
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "awslambdaric",
            self.function.handler,
            cwd=self.function.code_dir,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,
        )

    async def invoke(self, request_id: str, payload: bytes) -> InvocationResult:
        """Run one invocation; a timeout or a crash kills the environment."""
        started = time.monotonic()
        timeout = self.function.timeout_seconds
        deadline_ms = int((time.time() + timeout) * 1000)
        result_future: asyncio.Future[InvocationResult] = asyncio.get_running_loop().create_future()
        self._results[request_id] = result_future
        self._platform_line(f"START RequestId: {request_id} Version: $LATEST")
        await self._invocations.put((request_id, payload, deadline_ms))
        try:
            result = await self._await_result(request_id, result_future, timeout)
        finally:
            self._results.pop(request_id, None)
        elapsed_ms = (time.monotonic() - started) * 1000
        self._platform_line(f"END RequestId: {request_id}")
        self._platform_line(
            f"REPORT RequestId: {request_id}\tDuration: {elapsed_ms:.2f} ms\t"
            f"Memory Size: {self.function.memory_mb} MB"
        )
        return result

    async def stop(self) -> None:
        """Kill the process and close the Runtime API."""
        if self.alive:
            assert self._process is not None
            os.killpg(self._process.pid, signal.SIGKILL)
        if self._process is not None:
            await self._process.wait()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _await_result(
        self, request_id: str, result_future: asyncio.Future[InvocationResult], timeout: float
    ) -> InvocationResult:
        assert self._process is not None
        exited = asyncio.ensure_future(self._process.wait())
        # The init phase has its own budget; the invocation timer starts once the runtime polls.
        init = asyncio.ensure_future(self._ready.wait())
        try:
            await asyncio.wait(
                {init, result_future, exited},
                timeout=INIT_TIMEOUT_SECONDS,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if not result_future.done() and not exited.done() and self._ready.is_set():
                await asyncio.wait(
                    {result_future, exited}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
        finally:
            init.cancel()
        if result_future.done():
            exited.cancel()
            return result_future.result()
        if exited.done():
            return self._init_error or _error(
                request_id,
                "Runtime.ExitError",
                f"RequestId: {request_id} Error: Runtime exited with error: "
                f"exit status {self._process.returncode}",
            )
        exited.cancel()
        await self.stop()
        seconds = timeout if self._ready.is_set() else INIT_TIMEOUT_SECONDS
        return _error(
            request_id,
            "Sandbox.Timedout",
            f"RequestId: {request_id} Error: Task timed out after {seconds:.2f} seconds",
        )

    async def _next(self, request: web.Request) -> web.StreamResponse:
        self._ready.set()
        request_id, payload, deadline_ms = await self._invocations.get()
        self._current = request_id
        return web.Response(
            body=payload,
            content_type="application/json",
            headers={
                "Lambda-Runtime-Aws-Request-Id": request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": self.function.arn,
                "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{request_id[:24]}",
            },
        )

    async def _response(self, request: web.Request) -> web.Response:
        self._resolve(
            request.match_info["id"],
            InvocationResult(request.match_info["id"], await request.read()),
        )
        return web.Response(status=202, text='{"status":"OK"}', content_type="application/json")

    async def _error(self, request: web.Request) -> web.Response:
        request_id = request.match_info["id"]
        body = await request.read()
        self._resolve(request_id, InvocationResult(request_id, body, UNHANDLED))
        return web.Response(status=202, text='{"status":"OK"}', content_type="application/json")

    async def _init_failed(self, request: web.Request) -> web.Response:
        body = await request.read()
        request_id = self._current or next(iter(self._results), "")
        self._init_error = InvocationResult(request_id, body, UNHANDLED)
        self._resolve(request_id, self._init_error)
        return web.Response(status=202, text='{"status":"OK"}', content_type="application/json")

    def _resolve(self, request_id: str, result: InvocationResult) -> None:
        future = self._results.get(request_id)
        if future is not None and not future.done():
            future.set_result(result)

    def _platform_line(self, text: str) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        self._log.write(f"{stamp} {text}\n".encode())
        self._log.flush()


def _error(request_id: str, error_type: str, message: str) -> InvocationResult:
    document = {"errorType": error_type, "errorMessage": message}
    return InvocationResult(request_id, json.dumps(document).encode(), UNHANDLED)

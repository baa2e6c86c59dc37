"""One execution environment: AWS's runtime client polling a local Runtime API.

Each environment is a ``python -m awslambdaric <handler>`` subprocess (a
:class:`~local.lambda_.process.ChildProcess`) with its own Runtime API server on a loopback
port, the function's environment variables, and its output appended to the function's log
file. It runs one invocation at a time, as Lambda does.

An environment that has failed (its init, its deadline, its process, or a response the
Runtime API refused) is never handed another invocation: :attr:`ExecutionEnvironment.reusable`
turns false and the pool replaces it, as Lambda resets a failed environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

from aiohttp import web

from local.cloud.functions import LocalFunction
from local.lambda_.invocation import MAX_RESPONSE_BYTES, InvocationResult
from local.lambda_.process import ChildProcess

__all__ = [
    "EXIT_ERROR",
    "INIT_TIMEOUT_SECONDS",
    "RESPONSE_TOO_LARGE",
    "TIMED_OUT",
    "ExecutionEnvironment",
]

RUNTIME_PREFIX = "/2018-06-01/runtime"
INIT_TIMEOUT_SECONDS = 10
"""Lambda gives a function's init phase 10 seconds, apart from its invocation timeout."""
UNHANDLED = "Unhandled"
EXIT_ERROR = "Runtime.ExitError"
TIMED_OUT = "Sandbox.Timedout"
RESPONSE_TOO_LARGE = "Function.ResponseSizeTooLarge"
RESPONSE_TOO_LARGE_MESSAGE = (
    f"Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
)
RUNTIME_API_TOO_LARGE = {
    "errorMessage": f"Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
    "errorType": "RequestEntityTooLarge",
}
"""What AWS's Runtime API answers (413) to a runtime posting a result over the limit."""
ACCEPTED = '{"status":"OK"}'


@dataclass(eq=False)
class _Invocation:
    request_id: str
    payload: bytes
    result: asyncio.Future[InvocationResult]
    taken: asyncio.Future[None]
    """Done when the runtime takes the event: its init is over and the function's timer starts."""


class ExecutionEnvironment:
    """A sandbox for one function that can be invoked again and again while it lives."""

    def __init__(
        self, function: LocalFunction, environment: Mapping[str, str], log: IO[bytes]
    ) -> None:
        self.function = function
        self._environment = dict(environment)
        self._log = log
        self._process: ChildProcess | None = None
        self._exited: asyncio.Future[int] | None = None
        self._runner: web.AppRunner | None = None
        self._inbox: asyncio.Queue[_Invocation] = asyncio.Queue(maxsize=1)
        self._current: _Invocation | None = None
        self._retired = False
        self.initialized = asyncio.Event()
        """Set once the init phase is over: the runtime polled for work, failed, or went away."""
        self.last_used = time.monotonic()

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def reusable(self) -> bool:
        """Alive, and fit for another invocation."""
        return self.alive and not self._retired

    async def start(self) -> None:
        """Serve the Runtime API and start the runtime client (the cold start)."""
        app = web.Application(client_max_size=MAX_RESPONSE_BYTES)
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
        self._process = ChildProcess(
            (sys.executable, "-m", "awslambdaric", self.function.handler),
            cwd=self.function.code_dir,
            env=env,
            output=self._log,
        )
        self._exited = self._process.exited

    async def invoke(self, request_id: str, payload: bytes) -> InvocationResult:
        """Run one invocation; a timeout or a crash kills the environment."""
        if self._exited is None or self._current is not None:
            raise RuntimeError("an environment runs one invocation at a time, once started")
        loop = asyncio.get_running_loop()
        invocation = _Invocation(request_id, payload, loop.create_future(), loop.create_future())
        self._current = invocation
        started = time.monotonic()
        self._platform_lines(f"START RequestId: {request_id} Version: $LATEST")
        self._inbox.put_nowait(invocation)
        try:
            result = await self._outcome(invocation, self._exited)
        finally:
            self._current = None
            self.initialized.set()
            self.last_used = time.monotonic()
        elapsed_ms = (time.monotonic() - started) * 1000
        self._platform_lines(
            f"END RequestId: {request_id}",
            f"REPORT RequestId: {request_id}\tDuration: {elapsed_ms:.2f} ms\t"
            f"Memory Size: {self.function.memory_mb} MB",
        )
        return result

    async def stop(self) -> None:
        """Kill the process and close the Runtime API."""
        self._retired = True
        if self.alive:
            assert self._process is not None
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                os.killpg(self._process.pid, signal.SIGKILL)
        if self._exited is not None:
            await self._exited
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _outcome(
        self, invocation: _Invocation, exited: asyncio.Future[int]
    ) -> InvocationResult:
        request_id = invocation.request_id
        timeout = self.function.timeout_seconds
        # A cold start's init phase has its own budget; the function's timer starts when the
        # runtime takes the event (at once, for a warm environment).
        await asyncio.wait(
            {invocation.taken, invocation.result, exited},
            timeout=INIT_TIMEOUT_SECONDS,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if not invocation.result.done() and not exited.done() and invocation.taken.done():
            await asyncio.wait(
                {invocation.result, exited}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        if invocation.result.done():
            return invocation.result.result()
        if exited.done():
            self._retired = True
            return _error(
                request_id,
                EXIT_ERROR,
                f"RequestId: {request_id} Error: Runtime exited with error: "
                f"{_exit_description(exited.result())}",
            )
        await self.stop()
        seconds = timeout if invocation.taken.done() else INIT_TIMEOUT_SECONDS
        return _error(
            request_id,
            TIMED_OUT,
            f"RequestId: {request_id} Error: Task timed out after {seconds:.2f} seconds",
        )

    async def _next(self, request: web.Request) -> web.StreamResponse:
        self.initialized.set()
        invocation = await self._inbox.get()
        deadline_ms = int((time.time() + self.function.timeout_seconds) * 1000)
        invocation.taken.set_result(None)
        return web.Response(
            body=invocation.payload,
            content_type="application/json",
            headers={
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": self.function.arn,
                "Lambda-Runtime-Trace-Id": (
                    f"Root=1-{int(time.time()):08x}-{invocation.request_id[:24]}"
                ),
            },
        )

    async def _response(self, request: web.Request) -> web.Response:
        request_id = request.match_info["id"]
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            # AWS's Runtime API refuses the result with a 413 and the invocation fails; the
            # runtime client then exits (it raises on the 413), so the environment is replaced.
            self._retired = True
            too_large = _error(request_id, RESPONSE_TOO_LARGE, RESPONSE_TOO_LARGE_MESSAGE)
            self._resolve(request_id, too_large)
            return web.json_response(RUNTIME_API_TOO_LARGE, status=413)
        self._resolve(request_id, InvocationResult(request_id, body))
        return web.Response(status=202, text=ACCEPTED, content_type="application/json")

    async def _error(self, request: web.Request) -> web.Response:
        request_id = request.match_info["id"]
        body = await request.read()
        self._resolve(request_id, InvocationResult(request_id, body, UNHANDLED))
        return web.Response(status=202, text=ACCEPTED, content_type="application/json")

    async def _init_failed(self, request: web.Request) -> web.Response:
        # The runtime exits after reporting: this environment is done. The invocation waiting on
        # it gets the runtime's error document as AWS returns it (its "requestId" is empty), under
        # its own request id; the next one starts a new environment, which retries the init.
        body = await request.read()
        self._retired = True
        self.initialized.set()
        if self._current is not None:
            request_id = self._current.request_id
            self._resolve(request_id, InvocationResult(request_id, body, UNHANDLED))
        return web.Response(status=202, text=ACCEPTED, content_type="application/json")

    def _resolve(self, request_id: str, result: InvocationResult) -> None:
        """Settle the current invocation if ``request_id`` is its own (a late answer for an
        earlier one is dropped)."""
        current = self._current
        if current is not None and current.request_id == request_id and not current.result.done():
            current.result.set_result(result)

    def _platform_lines(self, *lines: str) -> None:
        """Lambda's platform lines in the function's log, written at once (one system call)."""
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        self._log.write("".join(f"{stamp} {line}\n" for line in lines).encode())
        self._log.flush()


def _error(request_id: str, error_type: str, message: str) -> InvocationResult:
    document = {"errorType": error_type, "errorMessage": message}
    return InvocationResult(request_id, json.dumps(document).encode(), UNHANDLED)


def _exit_description(returncode: int) -> str:
    """A process's end as Lambda words it (Go's): ``exit status 1``, ``signal: killed``."""
    if returncode >= 0:
        return f"exit status {returncode}"
    name = signal.strsignal(-returncode) or f"signal {-returncode}"
    return f"signal: {name.lower()}"

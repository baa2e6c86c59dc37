"""The front process: the public Invoke API and the REST gateway, in a process of their own.

An ``Event`` call, from the Invoke API or a REST integration, is acknowledged here: checked
as the service checks it (:mod:`local.lambda_.invoke_api`), held while the engine's queue is
too far behind (the same :class:`~local.async_invoke.intake.Intake`, kept in step by the
engine's messages), written to the inbox (:mod:`local.async_invoke.inbox`, fsync'ed,
concurrent accepts in one commit), and answered 202. Every other Invoke API request is
forwarded to the Lambda service in the runtime's main process, which runs the functions; the
REST gateway's synchronous integrations call that service's Invoke API over HTTP, as API
Gateway calls Lambda's.

Why a process: the main process also runs the async engine's drain (claiming events, the
Runtime API of every environment, destination sends), and while a drain runs, an accept there
waits behind it. On the project's 2-core machine, a bare group-committing server in its own
process, beside the stack's drain, answered at 2,000/s with a p99 of 9 ms; the main process's
own accept path, 21 ms (``make bench``'s floor).

The main process (:class:`~local.front.process.FrontProcess`) starts it as
``python -m local.front.server <config.json>``: it inherits the listening sockets and one end
of a channel, a Unix socket carrying one JSON object per line. The front sends :data:`READY`
once it serves and :data:`ARRIVED` after each commit; the engine sends ``recounted``,
``received`` and ``started`` counts (the queue as its intake sees it), ``imported`` (the
inbox's rows up to a sequence number are events: the front deletes them) and ``unavailable``
(why events are refused, or null). The front dies with its parent.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import pickle
import socket
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web
from yarl import URL

from local.apigateway.gateway import rest_app
from local.async_invoke.group_commit import WriterClosed
from local.async_invoke.inbox import Inbox
from local.async_invoke.intake import Intake
from local.lambda_.invocation import (
    MAX_SYNC_PAYLOAD_BYTES,
    EventQueueUnavailable,
    InvocationType,
    InvokeResponse,
)
from local.lambda_.invoke_api import (
    INVOCATION_TYPE_HEADER,
    INVOKE_PATH,
    FunctionDirectory,
    aws_error,
    invoke_response,
    queue_unavailable,
    read_invoke_request,
    signed_with,
)
from local.processes import exit_with_parent, run_event_loop
from local.request_ids import new_request_id

__all__ = ["ARRIVED", "READY", "Front", "FrontConfig"]

READY = {"front": "ready"}
"""The front's first message: it serves."""
ARRIVED = {"inbox": "arrived"}
"""The front's other message: new rows are in the inbox."""

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "upgrade"}
)


@dataclass(frozen=True)
class FrontConfig:
    """What the main process tells the front when it starts it."""

    listen_fd: int
    """The Invoke API's listening socket."""
    channel_fd: int
    inbox: str
    service_url: str
    """The Lambda service in the main process, for the calls the front forwards."""
    arns: dict[str, str]
    allowed_waits: dict[str, float | None]
    """Per function, how long its new event may be predicted to wait before it is held
    (None: never held), as the engine computes it."""
    function_keys: list[str]
    """The functions' own access keys: their ``Event`` calls are never held."""
    rest_fd: int | None = None
    """The REST gateway's listening socket, if it is served here..."""
    rest_model: str | None = None
    """...and the file of its pickled :class:`~local.apigateway.model.RestModel`."""

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__))

    @classmethod
    def read(cls, path: Path) -> FrontConfig:
        return cls(**json.loads(path.read_text()))


class Front:
    """The front's server and its end of the channel."""

    def __init__(self, config: FrontConfig, channel: asyncio.StreamWriter) -> None:
        self._config = config
        self._channel = channel
        self._directory = FunctionDirectory(config.arns)
        self._function_keys = frozenset(config.function_keys)
        self._intake = Intake()
        self._inbox = Inbox(Path(config.inbox))
        self._unavailable: str | None = None
        self._arrival_pending = False
        self._session: aiohttp.ClientSession | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_SYNC_PAYLOAD_BYTES + 1024)
        app.add_routes(
            [
                web.post(INVOKE_PATH, self._handle_invoke),
                web.route("*", "/{tail:.*}", self._forward),
            ]
        )
        app.on_startup.append(self._open_session)
        app.on_cleanup.append(self._close)
        return app

    # -- the engine's messages ---------------------------------------------------------------

    async def listen(self, channel: asyncio.StreamReader) -> None:
        """Apply the engine's messages until the main process closes the channel."""
        while line := await channel.readline():
            message: dict[str, Any] = json.loads(line)
            if "started" in message:
                for name, count in message["started"].items():
                    for _ in range(count):
                        self._intake.started(name)
            if "received" in message:
                for name, count in message["received"].items():
                    for _ in range(count):
                        self._intake.received(name)
            if "recounted" in message:
                self._intake.recount(message["recounted"])
            if "imported" in message:
                with contextlib.suppress(sqlite3.Error, WriterClosed):  # next time, then
                    await self._inbox.forget_through(message["imported"])
            if "unavailable" in message:
                self._unavailable = message["unavailable"]

    # -- requests ----------------------------------------------------------------------------

    async def _handle_invoke(self, request: web.Request) -> web.StreamResponse:
        invoke = await read_invoke_request(request, self._directory)
        if isinstance(invoke, web.Response):
            return invoke
        if invoke.invocation_type != "Event":
            return await self._forward(request, invoke.payload)
        backpressure = not signed_with(request, self._function_keys)
        try:
            request_id = await self.accept(invoke.function_name, invoke.payload, backpressure)
        except EventQueueUnavailable as unavailable:
            return queue_unavailable(str(unavailable))
        return invoke_response(InvokeResponse(202, b"", request_id))

    async def accept(self, function_name: str, payload: bytes, backpressure: bool = True) -> str:
        """Queue an event durably, as :meth:`AsyncEngine.accept
        <local.async_invoke.engine.AsyncEngine.accept>` does; returns its request id."""
        if self._unavailable is not None:
            raise EventQueueUnavailable(self._unavailable)
        allowance = self._config.allowed_waits.get(function_name)
        if backpressure and allowance is not None:
            await self._intake.hold(function_name, allowance)
        request_id = new_request_id()
        try:
            await self._inbox.add(request_id, function_name, payload, time.time())
        except (sqlite3.Error, WriterClosed) as error:
            reason = f"the event store did not take the event: {error}"
            raise EventQueueUnavailable(reason) from error
        self._intake.received(function_name)
        self._tell_engine()
        return request_id

    async def invoke(
        self,
        function_name: str,
        payload: bytes,
        invocation_type: InvocationType = "RequestResponse",
    ) -> InvokeResponse:
        """The Invoke API for the REST gateway (an :class:`~local.lambda_.invocation.Invoker`):
        an event is accepted here, a synchronous call goes to the Lambda service."""
        name = self._directory.resolve(function_name)
        if invocation_type == "Event":
            return InvokeResponse(202, b"", await self.accept(name, payload))
        assert self._session is not None
        url = self._config.service_url + INVOKE_PATH.format(name=quote(name, safe=""))
        headers = {INVOCATION_TYPE_HEADER: invocation_type}
        async with self._session.post(url, data=payload, headers=headers) as answer:
            return InvokeResponse(
                answer.status,
                await answer.read(),
                answer.headers.get("x-amzn-RequestId", ""),
                answer.headers.get("X-Amz-Function-Error"),
            )

    def _tell_engine(self) -> None:
        """One :data:`ARRIVED` for all the accepts that complete in one turn of the loop."""
        if not self._arrival_pending:
            self._arrival_pending = True
            asyncio.get_running_loop().call_soon(self._send_arrival)

    def _send_arrival(self) -> None:
        self._arrival_pending = False
        with contextlib.suppress(ConnectionError, RuntimeError):  # the main process is gone
            self._channel.write(json.dumps(ARRIVED).encode() + b"\n")

    async def _forward(self, request: web.Request, body: bytes | None = None) -> web.Response:
        """The request as the main process's Lambda service answers it."""
        assert self._session is not None
        if body is None:
            body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        url = URL(self._config.service_url + request.raw_path, encoded=True)
        try:
            async with self._session.request(
                request.method, url, data=body, headers=headers
            ) as answer:
                payload = await answer.read()
                kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
                return web.Response(status=answer.status, body=payload, headers=kept)
        except aiohttp.ClientError as error:
            message = f"the Lambda service is not reachable: {error}"
            return aws_error(500, "ServiceException", message, message_key="Message")

    async def _open_session(self, _: web.Application) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=None),  # a function may run for 15 minutes
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
        )

    async def _close(self, _: web.Application) -> None:
        if self._session is not None:
            await self._session.close()
        self._inbox.close()


async def serve(config: FrontConfig) -> None:
    """Serve until the main process closes the channel."""
    reader, writer = await asyncio.open_unix_connection(
        sock=socket.socket(fileno=config.channel_fd)
    )
    front = Front(config, writer)
    servers = [(front.app(), config.listen_fd)]
    if config.rest_fd is not None and config.rest_model is not None:
        model = pickle.loads(Path(config.rest_model).read_bytes())
        servers.append((rest_app(model, front), config.rest_fd))
    runners = []
    for app, fd in servers:
        # Bodies are read as sent, as the main process's servers read them.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2, auto_decompress=False)
        await runner.setup()
        await web.SockSite(runner, socket.socket(fileno=fd)).start()
        runners.append(runner)
    writer.write(json.dumps(READY).encode() + b"\n")
    gc.collect()
    gc.freeze()  # what startup built stays out of the collector's walks (as in ackflow up)
    try:
        await front.listen(reader)
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


def main(argv: list[str]) -> None:
    exit_with_parent()
    run_event_loop(serve(FrontConfig.read(Path(argv[1]))))


if __name__ == "__main__":
    main(sys.argv)

"""The Lambda service's front process: Event calls acknowledged there and run by the engine,
the rest answered by the service behind it, the same answers to bad requests, the engine's
hold and availability obeyed, and a front that dies started again."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.async_invoke.destinations import DestinationSender
from local.async_invoke.engine import AsyncEngine
from local.async_invoke.inbox import INBOX_FILE
from local.async_invoke.intake import MAX_HOLD_SECONDS
from local.aws_services.moto_server import PortBusy
from local.cloud.functions import LocalFunction
from local.front.process import STOP_SECONDS, FrontDidNotStart, FrontProcess
from local.front.server import Front, FrontConfig
from local.lambda_.service import LambdaService

INVOKE = "/2015-03-31/functions/{}/invocations"
FUNCTION_KEY = "ASIAFUNCTIONKEY0001"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Stack:
    """A Lambda service, its engine and its front, as ``ackflow up`` wires them."""

    def __init__(self, service: LambdaService, engine: AsyncEngine, front: FrontProcess, url: str):
        self.service, self.engine, self.front, self.url = service, engine, front, url
        self.internal_url = front._service_url

    async def post(
        self, path: str, body: bytes, headers: dict[str, str], url: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        async with (
            aiohttp.ClientSession() as session,
            session.post((url or self.url) + path, data=body, headers=headers) as answer,
        ):
            return answer.status, dict(answer.headers), await answer.read()


@asynccontextmanager
async def running_stack(tmp_path: Path, function: LocalFunction) -> AsyncIterator[Stack]:
    service = LambdaService(
        {function.name: function},
        lambda f: {"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        tmp_path / "logs",
    )
    engine = AsyncEngine(
        tmp_path / "events.sqlite3",
        {function.name: function},
        service,
        DestinationSender(endpoint_url="http://127.0.0.1:9", region="us-east-1"),
        inbox_path=tmp_path / INBOX_FILE,
    )
    service.events = engine
    internal = web.AppRunner(service.app())
    await internal.setup()
    await web.TCPSite(internal, "127.0.0.1", 0).start()
    port = free_port()
    front = FrontProcess(
        engine,
        inbox=tmp_path / INBOX_FILE,
        service_url=f"http://127.0.0.1:{internal.addresses[0][1]}",
        arns={function.name: function.arn},
        function_keys=[FUNCTION_KEY],
        state_dir=tmp_path,
    )
    await front.start(port)
    runner = asyncio.create_task(engine.run())
    try:
        yield Stack(service, engine, front, f"http://127.0.0.1:{port}")
    finally:
        engine.stop()
        await runner
        await front.close()
        await internal.cleanup()
        await service.close()
        engine.close()


async def until(check, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not await asyncio.to_thread(check):
            await asyncio.sleep(0.02)


def test_an_event_acknowledged_by_the_front_runs_and_sync_calls_reach_the_service(
    tmp_path, make_function
):
    echo = make_function("echo")

    async def go() -> None:
        async with running_stack(tmp_path, echo) as stack:
            status, headers, body = await stack.post(
                INVOKE.format("echo"), b'{"n": 1}', {"X-Amz-Invocation-Type": "Event"}
            )
            assert (status, body) == (202, b"")
            request_id = headers["x-amzn-RequestId"]
            await until(lambda: stack.engine.status(request_id).condition == "Success")
            assert os.getsid(stack.front.pid) == stack.front.pid  # its own autogroup

            status, headers, body = await stack.post(INVOKE.format("echo"), b'{"n": 2}', {})
            assert status == 200
            answer = json.loads(body)
            assert answer["event"] == {"n": 2}
            assert answer["request_id"] == headers["x-amzn-RequestId"]

    asyncio.run(go())


BAD_REQUESTS = [
    ("unknown function", "nope", b"{}", {"X-Amz-Invocation-Type": "Event"}),
    ("bad name", "bad.name", b"{}", {"X-Amz-Invocation-Type": "Event"}),
    ("bad type", "echo", b"{}", {"X-Amz-Invocation-Type": "Later"}),
    ("not JSON", "echo", b"{not json", {"X-Amz-Invocation-Type": "Event"}),
    ("over 1 MB", "echo", b'"' + b"x" * 1_048_576 + b'"', {"X-Amz-Invocation-Type": "Event"}),
    ("sync, not JSON", "echo", b"[1,", {}),
    ("other region", "arn:aws:lambda:eu-west-1:000000000000:function:echo", b"{}", {}),
]


def test_bad_requests_get_the_same_answer_from_the_front_as_from_the_service(
    tmp_path, make_function
):
    async def go() -> None:
        async with running_stack(tmp_path, make_function("echo")) as stack:
            for what, name, body, headers in BAD_REQUESTS:
                path = INVOKE.format(name)
                front = await stack.post(path, body, headers)
                service = await stack.post(path, body, headers, url=stack.internal_url)
                assert front[0] == service[0] and front[0] >= 400, what
                assert front[2] == service[2], what
                assert front[1]["x-amzn-ErrorType"] == service[1]["x-amzn-ErrorType"], what
            assert stack.engine.pending_count() == 0  # none of them was queued

    asyncio.run(go())


def test_a_front_that_dies_is_started_again_and_acknowledges_again(tmp_path, make_function):
    async def go() -> None:
        async with running_stack(tmp_path, make_function("echo")) as stack:
            first = stack.front.pid
            os.kill(first, signal.SIGKILL)
            async with asyncio.timeout(20):
                while stack.front.pid == first:
                    await asyncio.sleep(0.02)
            async with asyncio.timeout(20):
                while True:
                    try:
                        status, headers, _ = await stack.post(
                            INVOKE.format("echo"), b"{}", {"X-Amz-Invocation-Type": "Event"}
                        )
                        break
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.05)
            assert status == 202 and stack.front.restarts == 1
            request_id = headers["x-amzn-RequestId"]
            await until(lambda: stack.engine.status(request_id).condition == "Success")

    asyncio.run(go())


def test_a_stopping_front_finishes_and_exits_of_itself(tmp_path, make_function):
    async def go() -> None:
        async with running_stack(tmp_path, make_function("echo")) as stack:
            process = stack.front._process
            began = time.monotonic()
            await stack.front.close()
            assert process is not None and process.returncode == 0  # not killed
            assert time.monotonic() - began < STOP_SECONDS

    asyncio.run(go())


@asynccontextmanager
async def unstarted_front(tmp_path: Path, inbox: Path) -> AsyncIterator[FrontProcess]:
    """A front of a stack without functions, closed (with its engine) on the way out."""
    engine = AsyncEngine(
        tmp_path / "events.sqlite3",
        {},
        LambdaService({}, lambda f: {}, tmp_path / "logs"),
        DestinationSender(endpoint_url="http://127.0.0.1:9", region="us-east-1"),
    )
    front = FrontProcess(
        engine,
        inbox=inbox,
        service_url="http://127.0.0.1:9",
        arns={},
        function_keys=[],
        state_dir=tmp_path,
    )
    try:
        yield front
    finally:
        await front.close()
        engine.close()


def test_a_front_that_cannot_start_is_an_error_of_start_not_a_silent_port(tmp_path):
    async def go() -> None:
        # The front cannot open its inbox: there is no such folder.
        async with unstarted_front(tmp_path, tmp_path / "missing" / INBOX_FILE) as front:
            with pytest.raises(FrontDidNotStart, match="did not start: its error is printed"):
                await front.start(free_port())

    asyncio.run(go())


def test_a_taken_port_is_refused_naming_it(tmp_path):
    async def go() -> None:
        async with unstarted_front(tmp_path, tmp_path / INBOX_FILE) as front:
            with socket.create_server(("127.0.0.1", 0)) as taken:
                port = taken.getsockname()[1]
                message = f"cannot listen on port {port}: .*; pick other ports with --port-base"
                with pytest.raises(PortBusy, match=message):
                    await front.start(port)
            assert front.pid is None  # nothing was started

    asyncio.run(go())


# -- the front in this process, its channel a test's: the engine's messages ----------------


@asynccontextmanager
async def front_alone(tmp_path: Path, allowed_wait: float | None) -> AsyncIterator[Any]:
    config = FrontConfig(
        listen_fd=-1,
        channel_fd=-1,
        inbox=str(tmp_path / INBOX_FILE),
        service_url="http://127.0.0.1:9",
        arns={"worker": "arn:aws:lambda:us-east-1:000000000000:function:worker"},
        allowed_waits={"worker": allowed_wait},
        function_keys=[FUNCTION_KEY],
    )
    engine_end, front_end = socket.socketpair()
    _, to_front = await asyncio.open_unix_connection(sock=engine_end)
    from_engine, to_engine = await asyncio.open_unix_connection(sock=front_end)
    front = Front(config, to_engine)
    listening = asyncio.create_task(front.listen(from_engine))

    async def tell(message: dict[str, Any]) -> None:
        to_front.write(json.dumps(message).encode() + b"\n")
        await asyncio.sleep(0.05)

    async with TestServer(front.app(), host="127.0.0.1") as server:

        async def event(signed_with: str | None = None) -> tuple[int, bytes, float]:
            url = str(server.make_url(INVOKE.format("worker")))
            headers = {"X-Amz-Invocation-Type": "Event"}
            if signed_with:
                request = AWSRequest("POST", url, data=b"{}", headers=headers)
                credentials = Credentials(signed_with, "secret")
                SigV4Auth(credentials, "lambda", "us-east-1").add_auth(request)
                headers = dict(request.headers.items())
            began = time.monotonic()
            async with (
                aiohttp.ClientSession() as session,
                session.post(url, data=b"{}", headers=headers) as answer,
            ):
                return answer.status, await answer.read(), time.monotonic() - began

        yield tell, event
    to_front.close()
    await listening


def test_the_front_holds_as_the_engines_intake_would_but_never_a_functions_own_call(tmp_path):
    async def go() -> None:
        async with front_alone(tmp_path, allowed_wait=0.5) as (tell, event):
            status, _, quick = await event()
            assert status == 202 and quick < MAX_HOLD_SECONDS / 2
            # A backlog an earlier run left: its rate is not known yet, so new events wait.
            await tell({"recounted": {"worker": 500}})
            status, _, held = await event()
            assert status == 202 and held >= MAX_HOLD_SECONDS * 0.9
            status, _, exempt = await event(signed_with=FUNCTION_KEY)
            assert status == 202 and exempt < MAX_HOLD_SECONDS / 2
            # The engine reports that backlog started (fast): no more hold.
            await tell({"started": {"worker": 502}})
            status, _, quick = await event()
            assert status == 202 and quick < MAX_HOLD_SECONDS / 2

    asyncio.run(go())


def test_a_function_never_held_is_not_held_behind_any_backlog(tmp_path):
    async def go() -> None:
        async with front_alone(tmp_path, allowed_wait=None) as (tell, event):
            await tell({"recounted": {"worker": 500}})
            status, _, quick = await event()
            assert status == 202 and quick < MAX_HOLD_SECONDS / 2

    asyncio.run(go())


def test_while_the_engine_is_unavailable_events_are_refused_503_with_its_reason(tmp_path):
    async def go() -> None:
        async with front_alone(tmp_path, allowed_wait=None) as (tell, event):
            await tell({"unavailable": "the async engine stopped: boom"})
            status, body, _ = await event()
            assert status == 503
            assert json.loads(body)["Message"] == "the async engine stopped: boom"
            await tell({"unavailable": None})
            assert (await event())[0] == 202

    asyncio.run(go())

"""The Invoke API's Event path: 202 once the event queue took the event, 503 when it cannot."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from local.cloud.functions import LocalFunction
from local.lambda_.invocation import EventQueueUnavailable
from local.lambda_.service import LambdaService

ARN = "arn:aws:lambda:us-east-1:000000000000:function:worker"


class Queue:
    """An event queue that takes events, or refuses them with a reason."""

    def __init__(self, refuse: str | None = None) -> None:
        self.refuse = refuse
        self.accepted: list[tuple[str, bytes]] = []

    async def accept(self, function_name: str, payload: bytes) -> str:
        await asyncio.sleep(0)  # accept is awaited: it returns once the event is on disk
        if self.refuse:
            raise EventQueueUnavailable(self.refuse)
        self.accepted.append((function_name, payload))
        return "request-1"


def invoke_event(queue: Queue, tmp_path: Path) -> tuple[int, dict[str, str], bytes]:
    function = LocalFunction(name="worker", arn=ARN, handler="h.h", code_dir=tmp_path)
    service = LambdaService({"worker": function}, lambda f: {}, tmp_path / "logs")
    service.events = queue

    async def go() -> tuple[int, dict[str, str], bytes]:
        async with TestServer(service.app(), host="127.0.0.1") as server:
            url = server.make_url("/2015-03-31/functions/worker/invocations")
            async with aiohttp.ClientSession() as session:
                headers = {"X-Amz-Invocation-Type": "Event"}
                async with session.post(url, data=b'{"n": 1}', headers=headers) as answer:
                    return answer.status, dict(answer.headers), await answer.read()

    return asyncio.run(go())


def test_event_is_acknowledged_202_with_the_queues_request_id(tmp_path):
    queue = Queue()
    status, headers, body = invoke_event(queue, tmp_path)
    assert (status, body) == (202, b"")
    assert headers["x-amzn-RequestId"] == "request-1"
    assert queue.accepted == [("worker", b'{"n": 1}')]


def test_event_the_queue_cannot_take_is_503_with_the_reason(tmp_path):
    status, headers, body = invoke_event(Queue(refuse="the async engine stopped: boom"), tmp_path)
    assert status == 503
    assert headers["x-amzn-ErrorType"] == "ServiceException"
    assert b"the async engine stopped: boom" in body

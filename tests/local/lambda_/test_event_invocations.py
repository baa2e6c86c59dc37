"""The Invoke API's Event path: 202 once the event queue took the event, 503 when it cannot;
a running function's own call is never held back by the queue's intake."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.cloud.functions import LocalFunction
from local.lambda_.invocation import EventQueueUnavailable
from local.lambda_.service import LambdaService

ARN = "arn:aws:lambda:us-east-1:000000000000:function:worker"


class Queue:
    """An event queue that takes events, or refuses them with a reason."""

    def __init__(self, refuse: str | None = None) -> None:
        self.refuse = refuse
        self.accepted: list[tuple[str, bytes]] = []
        self.backpressure: list[bool] = []

    async def accept(self, function_name: str, payload: bytes, *, backpressure: bool = True) -> str:
        await asyncio.sleep(0)  # accept is awaited: it returns once the event is on disk
        if self.refuse:
            raise EventQueueUnavailable(self.refuse)
        self.accepted.append((function_name, payload))
        self.backpressure.append(backpressure)
        return "request-1"


FUNCTION_KEY = "ASIAFUNCTIONKEY0001"
USER_KEY = "AKIAUSERKEY00000001"


def invoke_event(
    queue: Queue, tmp_path: Path, signed_with: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    function = LocalFunction(name="worker", arn=ARN, handler="h.h", code_dir=tmp_path)
    service = LambdaService(
        {"worker": function}, lambda f: {}, tmp_path / "logs", function_keys=[FUNCTION_KEY]
    )
    service.events = queue

    async def go() -> tuple[int, dict[str, str], bytes]:
        async with TestServer(service.app(), host="127.0.0.1") as server:
            url = str(server.make_url("/2015-03-31/functions/worker/invocations"))
            headers = {"X-Amz-Invocation-Type": "Event"}
            if signed_with:
                request = AWSRequest("POST", url, data=b'{"n": 1}', headers=headers)
                SigV4Auth(Credentials(signed_with, "secret"), "lambda", "us-east-1").add_auth(
                    request
                )
                headers = dict(request.headers.items())
            async with (
                aiohttp.ClientSession() as session,
                session.post(url, data=b'{"n": 1}', headers=headers) as answer,
            ):
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


def test_a_functions_own_event_call_is_never_held_and_anyone_elses_may_be(tmp_path):
    queue = Queue()
    for signed_with in (FUNCTION_KEY, USER_KEY, None):
        status, _, _ = invoke_event(queue, tmp_path, signed_with)
        assert status == 202
    assert queue.backpressure == [False, True, True]

"""Shared by the async engine's tests: functions, queues in moto, a scripted executor, and
running an engine until it is done."""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.async_invoke.engine import AsyncEngine
from local.cloud.functions import LocalFunction
from local.lambda_.invocation import InvocationResult, Throttled

ACCOUNT = "000000000000"
REGION = "us-east-1"
SCALE = 0.002  # AWS's 60 s / 120 s retries take 0.12 s / 0.24 s
RETRY_SCALE = 0.004  # where retry spacing is measured: 0.24 s / 0.48 s, well above jitter
REPO = Path(__file__).resolve().parents[3]
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


# -- fixtures ----------------------------------------------------------------------------------


@dataclass
class Queue:
    url: str
    arn: str


def receive(sqs: Any, queue: Queue) -> list[dict[str, Any]]:
    return sqs.receive_message(
        QueueUrl=queue.url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", [])


def function(name: str = "worker", **settings: Any) -> LocalFunction:
    return LocalFunction(
        name=name,
        arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        handler="handler.handler",
        code_dir=Path("."),
        **settings,
    )


# -- the one fake: an executor following a script ------------------------------------------------


@dataclass(frozen=True)
class Call:
    at: float
    function_name: str
    payload: bytes
    request_id: str


Step = Callable[[str, bytes], InvocationResult]


def ok(value: Any) -> Step:
    return lambda request_id, payload: InvocationResult(request_id, json.dumps(value).encode())


def error(message: str) -> Step:
    document = {"errorMessage": message, "errorType": "ValueError", "stackTrace": []}
    return lambda request_id, payload: InvocationResult(
        request_id, json.dumps(document).encode(), function_error="Unhandled"
    )


def throttle(request_id: str, payload: bytes) -> InvocationResult:
    raise Throttled("no environment free")


def echo(request_id: str, payload: bytes) -> InvocationResult:
    return InvocationResult(request_id, payload)


class ScriptedExecutor:
    """Plays its steps in order, repeating the last one; records every call, its time, and
    when each ran (``spans``: monotonic start and end, in the order the calls started)."""

    def __init__(self, *steps: Step, delay: float = 0.0) -> None:
        self.steps = list(steps) or [echo]
        self.delay = delay
        self.calls: list[Call] = []
        self.spans: list[list[float]] = []
        self.running = self.most_running = 0

    async def execute(self, function_name: str, payload: bytes, request_id: str) -> Any:
        self.calls.append(Call(time.time(), function_name, payload, request_id))
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        span = [time.monotonic(), math.inf]
        self.spans.append(span)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            return step(request_id, payload)
        finally:
            self.running -= 1
            span[1] = time.monotonic()

    def gaps(self) -> list[float]:
        return [b.at - a.at for a, b in zip(self.calls, self.calls[1:], strict=False)]


class ConcurrencyLimitedExecutor(ScriptedExecutor):
    """A :class:`ScriptedExecutor` that throttles, as the Lambda service does, any call made
    while ``limit`` calls are already running; throttled calls are counted, not recorded."""

    def __init__(self, limit: int, *steps: Step, delay: float = 0.0) -> None:
        super().__init__(*steps, delay=delay)
        self.limit = limit
        self.throttled = 0

    async def execute(self, function_name: str, payload: bytes, request_id: str) -> Any:
        if self.running >= self.limit:
            self.throttled += 1
            raise Throttled("reserved concurrency used up")
        return await super().execute(function_name, payload, request_id)


def accept(engine: AsyncEngine, function_name: str, payload: bytes) -> str:
    """Queue one event from outside any event loop; returns its request id."""
    return asyncio.run(engine.accept(function_name, payload))


def accept_all(engine: AsyncEngine, function_name: str, payloads: list[bytes]) -> list[str]:
    """Queue events concurrently (they share commits); their request ids, in order."""

    async def main() -> list[str]:
        return list(await asyncio.gather(*(engine.accept(function_name, p) for p in payloads)))

    return asyncio.run(main())


def run_until(
    engine: AsyncEngine, done: Callable[[], bool] | None = None, timeout: float = 10.0
) -> float:
    """Run the engine until ``done()`` (default: nothing left to do); returns seconds taken.
    ``done`` is asked in a worker thread: the engine's loop makes no SQLite call itself."""
    done = done or engine.is_idle

    async def main() -> float:
        started = time.monotonic()
        runner = asyncio.create_task(engine.run())
        while not await asyncio.to_thread(done):
            if runner.done():
                runner.result()
                raise AssertionError("the engine stopped by itself")
            if time.monotonic() - started > timeout:
                raise AssertionError(f"not done after {timeout} s")
            await asyncio.sleep(0.002)
        engine.stop()
        await asyncio.wait_for(runner, 5)
        return time.monotonic() - started

    return asyncio.run(main())


def one_record(sqs: Any, queue: Queue) -> dict[str, Any]:
    messages = receive(sqs, queue)
    assert len(messages) == 1, messages
    return json.loads(messages[0]["Body"])

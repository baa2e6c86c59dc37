"""Concurrency as AWS has it, on a machine with a process cap.

AWS throttles (429 TooManyRequestsException, "Rate Exceeded.") only when a function's reserved
concurrency or the account's unreserved pool is used up. The local cap on processes makes
invocations wait instead, and the async engine never takes what sync calls need.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import pytest
from aiohttp.test_utils import TestServer
from botocore.config import Config
from botocore.exceptions import ClientError

from local.async_invoke.destinations import DestinationSender
from local.async_invoke.engine import AsyncEngine
from local.lambda_.concurrency import ConcurrencyLimits, InvalidReservedConcurrency
from local.lambda_.invocation import (
    ACCOUNT_LIMIT_EXCEEDED,
    RESERVED_LIMIT_EXCEEDED,
    Throttled,
)
from tests.local.lambda_.conftest import wait_for_files

INVOKE = "/2015-03-31/functions/{}/invocations"


def lambda_client(url: str) -> Any:
    """boto3's Lambda client against the local service, without botocore's own retries."""
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=60),
    )


def hold_event(tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    started, gate = tmp_path / "started", tmp_path / "gate"
    started.mkdir()
    return {"started": str(started), "gate": str(gate)}, started, gate


# -- AWS's rules, in isolation -------------------------------------------------------------------


def test_reserved_and_account_limits_throttle_with_aws_reasons(make_function):
    reserved, unreserved = make_function("reserved", reserved_concurrency=1), make_function("open")
    limits = ConcurrencyLimits({"reserved": reserved, "open": unreserved}, account_limit=102)
    assert limits.unreserved_limit == 101

    limits.admit("reserved")
    with pytest.raises(Throttled) as reserved:
        limits.admit("reserved")
    for _ in range(101):
        limits.admit("open")
    with pytest.raises(Throttled) as account:
        limits.admit("open")

    assert reserved.value.reason == RESERVED_LIMIT_EXCEEDED
    assert account.value.reason == ACCOUNT_LIMIT_EXCEEDED
    limits.release("reserved")
    limits.admit("reserved")  # its slot is free again; the account pool is not touched
    limits.release("open")
    limits.admit("open")


def test_reservations_must_leave_100_unreserved_as_aws_requires(make_function):
    functions = {"big": make_function("big", reserved_concurrency=901)}
    with pytest.raises(InvalidReservedConcurrency, match=r"below its minimum value of \[100\]"):
        ConcurrencyLimits(functions, account_limit=1000)
    ConcurrencyLimits({"big": make_function("big", reserved_concurrency=900)}, 1000)
    # An account under 100 keeps all of it unreserved: nothing can be reserved.
    with pytest.raises(InvalidReservedConcurrency, match=r"minimum value of \[10\]"):
        ConcurrencyLimits({"one": make_function("one", reserved_concurrency=1)}, account_limit=10)


# -- throttles, through the Invoke API -----------------------------------------------------------


def test_sync_invocations_over_reserved_concurrency_get_aws_429(
    make_function, lambda_service, tmp_path
):
    worker = make_function("worker", "handlers.hold", reserved_concurrency=2, timeout_seconds=30)
    event, started, gate = hold_event(tmp_path)

    async def scenario() -> None:
        async with lambda_service(worker) as service, TestServer(service.app()) as server:
            client = lambda_client(str(server.make_url("")))
            holders = [
                asyncio.create_task(service.invoke("worker", json.dumps(event).encode()))
                for _ in range(2)
            ]
            await wait_for_files(started, 2)
            with pytest.raises(ClientError) as refused:
                await asyncio.to_thread(
                    client.invoke, FunctionName="worker", Payload=json.dumps(event)
                )
            gate.touch()
            held = await asyncio.gather(*holders)

        error = refused.value.response
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert error["Error"] == {"Code": "TooManyRequestsException", "Message": "Rate Exceeded."}
        assert error["Reason"] == RESERVED_LIMIT_EXCEEDED
        assert [h.status for h in held] == [200, 200] and not any(h.function_error for h in held)

    asyncio.run(scenario())


def test_the_account_pool_answers_429_when_used_up(make_function, lambda_service, tmp_path):
    first = make_function("first", "handlers.hold", timeout_seconds=30)
    second = make_function("second", "handlers.hold", timeout_seconds=30)
    event, started, gate = hold_event(tmp_path)

    async def scenario() -> None:
        async with (
            lambda_service(first, second, account_concurrency=2) as service,
            TestServer(service.app()) as server,
        ):
            holders = [
                asyncio.create_task(service.invoke(name, json.dumps(event).encode()))
                for name in ("first", "second")
            ]
            await wait_for_files(started, 2)
            async with aiohttp.ClientSession() as http:
                url = server.make_url(INVOKE.format("first"))
                async with http.post(url, data=json.dumps(event)) as refused:
                    body, status = await refused.json(), refused.status
                    error_type = refused.headers["x-amzn-ErrorType"]
            gate.touch()
            await asyncio.gather(*holders)

        assert (status, error_type) == (429, "TooManyRequestsException")
        assert body == {
            "Reason": ACCOUNT_LIMIT_EXCEEDED,
            "Type": "User",
            "message": "Rate Exceeded.",
        }

    asyncio.run(scenario())


# -- the machine's cap: waiting, not refusing ----------------------------------------------------


def test_above_the_machine_cap_sync_calls_wait_and_all_succeed(make_function, lambda_service):
    worker = make_function("worker")

    async def scenario() -> list[Any]:
        async with lambda_service(worker, max_environments=2) as service:
            answers = await asyncio.gather(
                *(service.invoke("worker", json.dumps({"n": n}).encode()) for n in range(24))
            )
            assert service.pool.size <= 2
        return answers

    answers = asyncio.run(scenario())
    results = [json.loads(a.payload) for a in answers]
    assert [r["event"]["n"] for r in results] == list(range(24))
    assert all(a.status == 200 and a.function_error is None for a in answers)
    assert [r["request_id"] for r in results] == [a.request_id for a in answers]
    assert len({r["pid"] for r in results}) <= 2  # warm environments, reused


def test_a_sync_call_waits_no_longer_than_its_timeout_then_gets_a_service_exception(
    make_function, lambda_service, tmp_path
):
    holder = make_function("holder", "handlers.hold", timeout_seconds=30)
    quick = make_function("quick", timeout_seconds=1)
    event, started, gate = hold_event(tmp_path)

    async def scenario() -> None:
        async with (
            lambda_service(holder, quick, max_environments=1) as service,
            TestServer(service.app()) as server,
        ):
            held = asyncio.create_task(service.invoke("holder", json.dumps(event).encode()))
            await wait_for_files(started, 1)
            url = server.make_url(INVOKE.format("quick"))
            async with aiohttp.ClientSession() as http, http.post(url, data="{}") as late:
                status, body = late.status, await late.json()
                error_type = late.headers["x-amzn-ErrorType"]
            gate.touch()
            assert (await held).status == 200
            after = await service.invoke("quick", b"{}")  # the holder's idle env is replaced

        assert (status, error_type) == (500, "ServiceException")
        assert "within its 1 s timeout" in body["Message"]
        assert after.status == 200 and after.function_error is None

    asyncio.run(scenario())


def test_sync_calls_are_never_refused_while_an_async_backlog_runs(
    make_function, lambda_service, tmp_path
):
    worker = make_function("worker", "handlers.running_at_once")
    folder = tmp_path / "running"
    folder.mkdir()
    event = json.dumps({"folder": str(folder)}).encode()

    async def scenario() -> tuple[list[int], list[Any], int]:
        async with (
            lambda_service(worker, max_environments=4) as service,
            TestServer(service.app()) as server,
        ):
            engine = AsyncEngine(
                tmp_path / "events.sqlite3", service.functions, service, DestinationSender()
            )
            service.events = engine
            ids = await asyncio.gather(*(engine.accept("worker", event) for _ in range(300)))
            engine_run = asyncio.create_task(engine.run())
            statuses: list[int] = []
            async with aiohttp.ClientSession() as http:
                url = server.make_url(INVOKE.format("worker"))

                async def call() -> int:
                    async with http.post(url, data=event) as answer:
                        await answer.read()
                        return answer.status

                # Waves of 16 concurrent sync calls, each started while events are still queued.
                while engine.pending_count() > 0 or len(statuses) < 48:
                    if engine.pending_count() == 0:
                        raise AssertionError("the backlog drained before 48 sync calls were made")
                    statuses += await asyncio.gather(*(call() for _ in range(16)))
            while engine.pending_count() > 0:
                await asyncio.sleep(0.02)
            most_events = service.pool.event_share
            engine.stop()
            await engine_run
            conditions = [engine.status(i).condition for i in ids]
            attempts = [engine.status(i).attempts for i in ids]
            engine.close()
        assert set(conditions) == {"Success"}
        return statuses, attempts, most_events

    statuses, attempts, event_share = asyncio.run(scenario())
    assert statuses.count(200) == len(statuses) >= 48
    assert set(attempts) == {1}
    assert event_share == 2  # half of the 4 environments


def test_async_events_of_a_reserved_function_wait_their_turn_and_all_run(
    make_function, lambda_service, tmp_path
):
    worker = make_function("worker", "handlers.running_at_once", reserved_concurrency=2)
    folder = tmp_path / "running"
    folder.mkdir()
    event = json.dumps({"folder": str(folder), "sleep": 0.05}).encode()

    async def scenario() -> list[Any]:
        async with lambda_service(worker) as service:
            engine = AsyncEngine(
                tmp_path / "events.sqlite3", service.functions, service, DestinationSender()
            )
            ids = await asyncio.gather(*(engine.accept("worker", event) for _ in range(20)))
            engine_run = asyncio.create_task(engine.run())
            async with asyncio.timeout(60):
                while engine.pending_count() > 0:
                    await asyncio.sleep(0.02)
            engine.stop()
            await engine_run
            statuses = [engine.status(i) for i in ids]
            engine.close()
        return statuses

    statuses = asyncio.run(scenario())
    assert {s.condition for s in statuses} == {"Success"}
    assert {s.attempts for s in statuses} == {1}
    seen = [int(line) for line in (tmp_path / "seen").read_text().split()]
    assert len(seen) == 20
    assert max(seen) == 2  # the reserved concurrency is used, and never exceeded

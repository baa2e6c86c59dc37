"""Execution environments when things go wrong, answered as AWS answers them.

Each case runs a real ``awslambdaric`` environment and checks the Invoke API's answer, that
every invocation reports its own request id, and that a failed environment is replaced (a new
process) rather than handed the next invocation.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
from aiohttp.test_utils import TestServer

from local.lambda_.invocation import MAX_RESPONSE_BYTES
from tests.local.lambda_.conftest import wait_for_files

INVOKE = "/2015-03-31/functions/{}/invocations"


def test_a_result_over_1_mib_is_returned_whole(make_function, lambda_service):
    worker = make_function("worker", "handlers.sized")

    async def scenario():
        async with lambda_service(worker) as service:
            return await service.invoke("worker", json.dumps({"bytes": 1_100_000}).encode())

    answer = asyncio.run(scenario())
    assert answer.status == 200 and answer.function_error is None
    assert len(json.loads(answer.payload)["filler"]) == 1_100_000


def test_a_result_over_6_mb_gets_aws_error_and_one_replacement_environment(
    make_function, lambda_service
):
    worker = make_function("worker", "handlers.sized")

    async def scenario():
        async with lambda_service(worker) as service, TestServer(service.app()) as server:
            url = server.make_url(INVOKE.format("worker"))
            answers = []
            async with aiohttp.ClientSession() as http:
                for size in (10, 6_500_000, 10, 10, 10):
                    async with http.post(url, data=json.dumps({"bytes": size})) as answer:
                        answers.append((answer.status, dict(answer.headers), await answer.read()))
            return answers

    (_, _, before), (status, headers, too_large), *after = asyncio.run(scenario())
    assert status == 200 and headers["X-Amz-Function-Error"] == "Unhandled"
    assert json.loads(too_large) == {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        f"({MAX_RESPONSE_BYTES} bytes).",
    }
    pids = [json.loads(body)["pid"] for _, _, body in after]
    assert all(s == 200 and "X-Amz-Function-Error" not in h for s, h, _ in after)
    # AWS's runtime client exits when its result is refused: replaced once, then warm again.
    assert json.loads(before)["pid"] not in pids
    assert len(set(pids)) == 1


def test_a_cancelled_invocation_keeps_its_environment_until_its_result_is_in(
    make_function, lambda_service, tmp_path
):
    # The REST gateway's 29 s integration timeout cancels a call to a slower function; that
    # function still runs, and the next invocation must not land on its environment meanwhile.
    worker = make_function("worker", "handlers.hold", timeout_seconds=10)
    first_started, second_started = tmp_path / "first", tmp_path / "second"
    first_started.mkdir()
    second_started.mkdir()
    gate, open_gate, first_done = tmp_path / "gate", tmp_path / "open", tmp_path / "first-done"
    open_gate.touch()
    first = {"started": str(first_started), "gate": str(gate), "done": str(first_done)}
    second = {"started": str(second_started), "gate": str(open_gate)}

    async def scenario():
        # Room for two events at once (half of 4): the second one need not wait for the first.
        async with lambda_service(worker, max_environments=4) as service:
            cancelled = asyncio.create_task(
                service.execute("worker", json.dumps(first).encode(), "first-id")
            )
            await wait_for_files(first_started, 1)
            cancelled.cancel()
            await asyncio.gather(cancelled, return_exceptions=True)
            in_flight_after_cancel = service.limits.in_flight("worker")
            # Handed the busy environment, this would wait behind the first run's closed gate.
            result = await asyncio.wait_for(
                service.execute("worker", json.dumps(second).encode(), "second-id"), 30
            )
            first_still_running = not first_done.exists()
            gate.touch()
            async with asyncio.timeout(20):
                while service.limits.in_flight("worker"):
                    await asyncio.sleep(0.01)
            return cancelled, in_flight_after_cancel, result, first_still_running

    cancelled, in_flight_after_cancel, result, first_still_running = asyncio.run(scenario())
    assert cancelled.cancelled()
    assert in_flight_after_cancel == 1  # the run goes on, and keeps counting, as on AWS
    assert first_still_running
    assert result.request_id == "second-id" and result.function_error is None
    answer = json.loads(result.payload)
    assert answer["request_id"] == "second-id"
    assert answer["remaining_ms"] > 9_000  # its own deadline, the function's full 10 s
    assert first_done.exists()  # the cancelled run was not killed: it ran to its end


def test_an_init_error_is_answered_to_each_invocation_under_its_own_id(
    make_function, lambda_service
):
    broken = make_function("broken", "broken.handler")
    missing = make_function("missing", "handlers.no_such_handler")

    async def scenario():
        async with lambda_service(broken, missing) as service:
            one_by_one = [
                await service.execute("broken", b"{}", "first"),
                await service.execute("broken", b"{}", "second"),
            ]
            at_once = await asyncio.gather(
                *(service.execute("missing", b"{}", f"concurrent-{n}") for n in range(3))
            )
            over_http = await service.invoke("broken", b"{}")
            return one_by_one, at_once, over_http

    one_by_one, at_once, over_http = asyncio.run(scenario())
    assert [r.request_id for r in one_by_one] == ["first", "second"]
    assert [r.request_id for r in at_once] == ["concurrent-0", "concurrent-1", "concurrent-2"]
    for result in one_by_one:
        # The runtime's own document, as AWS returns it (an init error has no request id in it).
        assert json.loads(result.payload) == {
            "errorMessage": "Unable to import module 'broken': "
            "No module named 'module_that_is_not_installed'",
            "errorType": "Runtime.ImportModuleError",
            "requestId": "",
            "stackTrace": [],
        }
        assert result.function_error == "Unhandled"
    for result in at_once:
        document = json.loads(result.payload)
        assert document["errorType"] == "Runtime.HandlerNotFound"
        assert document["errorMessage"] == "Handler 'no_such_handler' missing on module 'handlers'"
    assert over_http.function_error == "Unhandled"
    assert json.loads(over_http.payload)["errorType"] == "Runtime.ImportModuleError"


def test_an_init_that_failed_is_retried_by_the_next_invocation(
    make_function, lambda_service, tmp_path
):
    flaky = make_function(
        "flaky", "flaky_init.handler", environment={"INIT_TRIES": str(tmp_path / "tries")}
    )

    async def scenario():
        async with lambda_service(flaky) as service:
            return [await service.execute("flaky", b"{}", f"call-{n}") for n in range(2)]

    failed, succeeded = asyncio.run(scenario())
    assert failed.request_id == "call-0" and failed.function_error == "Unhandled"
    assert json.loads(failed.payload)["errorMessage"] == "first init fails"
    assert succeeded.request_id == "call-1" and succeeded.function_error is None
    assert json.loads(succeeded.payload) == {"request_id": "call-1"}


def test_a_handler_that_exits_the_process_gets_aws_exit_error_and_a_new_environment(
    make_function, lambda_service
):
    crash = make_function("crash", "handlers.crash")
    echo = make_function("echo")

    async def scenario():
        async with lambda_service(crash, echo, max_environments=1) as service:
            crashed = await service.execute("crash", b"{}", "crashed-id")
            pids = [
                json.loads((await service.execute("echo", b"{}", f"echo-{n}")).payload)["pid"]
                for n in range(2)
            ]
            return crashed, pids, service.pool.size

    crashed, pids, size = asyncio.run(scenario())
    assert crashed.request_id == "crashed-id" and crashed.function_error == "Unhandled"
    assert json.loads(crashed.payload) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": "RequestId: crashed-id Error: Runtime exited with error: exit status 1",
    }
    assert pids[0] == pids[1] and size == 1  # the dead one was dropped, the new one is warm


def test_a_handler_past_its_timeout_is_timed_out_and_its_environment_replaced(
    make_function, lambda_service
):
    hang = make_function("hang", "handlers.hang", timeout_seconds=1)
    echo = make_function("echo")

    async def scenario():
        async with lambda_service(hang, echo, max_environments=1) as service:
            timed_out = await service.execute("hang", b"{}", "hung-id")
            after = await service.execute("echo", b"{}", "after-id")
            return timed_out, after, service.pool.size

    timed_out, after, size = asyncio.run(scenario())
    assert timed_out.request_id == "hung-id" and timed_out.function_error == "Unhandled"
    assert json.loads(timed_out.payload) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: hung-id Error: Task timed out after 1.00 seconds",
    }
    # The killed environment was not handed the next invocation: it ran, on a new one.
    assert after.function_error is None and json.loads(after.payload)["request_id"] == "after-id"
    assert size == 1

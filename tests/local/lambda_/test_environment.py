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

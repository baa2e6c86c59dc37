"""The Invoke API's refusals, as AWS answers them: names, qualifiers, invocation types, sizes.

Each refusal is an AWS JSON error (``x-amzn-ErrorType``, ``{"Type", "message"}``) and runs
nothing; ``$LATEST``, a partial ARN and a full ARN name the function as its plain name does.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import botocore.session
import pytest
from aiohttp.test_utils import TestServer

from local.lambda_.invocation import MAX_ASYNC_PAYLOAD_BYTES, MAX_SYNC_PAYLOAD_BYTES
from local.lambda_.names import FUNCTION_NAME_PATTERN, QUALIFIER_PATTERN

ARN = "arn:aws:lambda:us-east-1:000000000000:function:worker"


def invoke_all(
    make_function, lambda_service, calls: list[tuple[str, dict[str, str], bytes]]
) -> list[tuple[int, str | None, Any]]:
    """(status, error type, body) for each (path tail, headers, body) sent to the service."""

    async def scenario() -> list[tuple[int, str | None, Any]]:
        worker = make_function("worker")
        answers = []
        async with (
            lambda_service(worker) as service,
            TestServer(service.app()) as server,
            aiohttp.ClientSession() as http,
        ):
            for tail, headers, body in calls:
                url = server.make_url(f"/2015-03-31/functions/{tail}")
                async with http.post(url, data=body, headers=headers) as answer:
                    document = await answer.json(content_type=None)
                    answers.append(
                        (answer.status, answer.headers.get("x-amzn-ErrorType"), document)
                    )
        return answers

    return asyncio.run(scenario())


def test_latest_a_partial_arn_and_a_full_arn_name_the_function(make_function, lambda_service):
    tails = [
        "worker:$LATEST/invocations",
        "worker/invocations?Qualifier=$LATEST",
        "000000000000:function:worker/invocations",
        f"{ARN}/invocations",
        f"{ARN}:$LATEST/invocations",
    ]
    answers = invoke_all(make_function, lambda_service, [(t, {}, b'{"n": 1}') for t in tails])

    assert [(status, error) for status, error, _ in answers] == [(200, None)] * len(tails)
    assert all(body["event"] == {"n": 1} for _, _, body in answers)


@pytest.mark.parametrize(
    ("tail", "missing"),
    [
        ("ghost/invocations", ARN.replace("worker", "ghost")),
        ("worker:nope/invocations", f"{ARN}:nope"),
        ("worker/invocations?Qualifier=nope", f"{ARN}:nope"),
        (f"{ARN}:7/invocations", f"{ARN}:7"),
        (
            "arn:aws:lambda:us-east-1:111111111111:function:worker/invocations",
            "arn:aws:lambda:us-east-1:111111111111:function:worker",
        ),
    ],
    ids=["unknown name", "unknown alias", "unknown qualifier", "unknown version", "other account"],
)
def test_a_function_or_qualifier_that_does_not_exist_is_404_naming_its_arn(
    make_function, lambda_service, tail, missing
):
    [(status, error, body)] = invoke_all(make_function, lambda_service, [(tail, {}, b"{}")])

    assert (status, error) == (404, "ResourceNotFoundException")
    assert body == {"Type": "User", "message": f"Function not found: {missing}"}


@pytest.mark.parametrize(
    ("tail", "headers", "error", "message"),
    [
        (
            "worker/invocations",
            {"X-Amz-Invocation-Type": "Bogus"},
            "ValidationException",
            "1 validation error detected: Value 'Bogus' at 'invocationType' failed to satisfy "
            "constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
        ),
        (
            "wor%20ker/invocations",
            {},
            "ValidationException",
            "1 validation error detected: Value 'wor ker' at 'functionName' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: {FUNCTION_NAME_PATTERN}",
        ),
        (
            "worker:a/invocations?Qualifier=b",
            {},
            "InvalidParameterValueException",
            "The derived qualifier from the function name does not match the specified qualifier.",
        ),
    ],
    ids=["invocation type", "function name", "two qualifiers"],
)
def test_a_malformed_request_is_400(make_function, lambda_service, tail, headers, error, message):
    [(status, error_type, body)] = invoke_all(make_function, lambda_service, [(tail, headers, b"")])

    assert (status, error_type) == (400, error)
    assert body == {"Type": "User", "message": message}


@pytest.mark.parametrize(
    ("invocation_type", "limit"),
    [("RequestResponse", MAX_SYNC_PAYLOAD_BYTES), ("Event", MAX_ASYNC_PAYLOAD_BYTES)],
)
def test_a_payload_over_the_limit_is_aws_413_whatever_its_size(
    make_function, lambda_service, invocation_type, limit
):
    headers = {"X-Amz-Invocation-Type": invocation_type}
    just_over = b'"' + b"x" * (limit - 1) + b'"'
    far_over = b'"' + b"x" * (MAX_SYNC_PAYLOAD_BYTES + 2048) + b'"'
    answers = invoke_all(
        make_function,
        lambda_service,
        [("worker/invocations", headers, just_over), ("worker/invocations", headers, far_over)],
    )

    for status, error, body in answers:
        assert (status, error) == (413, "RequestEntityTooLargeException")
        assert body["message"] == (
            f"Request must be smaller than {limit} bytes for the InvokeFunction operation"
        )


@pytest.mark.parametrize(
    "payload", [b'{"n": ', b"[" * 100_000 + b"]" * 100_000], ids=["truncated", "nested too deep"]
)
def test_a_payload_that_is_not_json_is_invalid_request_content(
    make_function, lambda_service, payload
):
    [(status, error, body)] = invoke_all(
        make_function, lambda_service, [("worker/invocations", {}, payload)]
    )

    assert (status, error) == (400, "InvalidRequestContentException")
    assert body["message"] == "Could not parse request body into json"


def test_the_name_patterns_are_botocores():
    invoke = botocore.session.get_session().get_service_model("lambda").operation_model("Invoke")
    members = invoke.input_shape.members

    assert members["FunctionName"].metadata["pattern"] == FUNCTION_NAME_PATTERN
    assert members["Qualifier"].metadata["pattern"] == QUALIFIER_PATTERN

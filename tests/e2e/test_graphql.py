"""The local AppSync over HTTP, against a real `ackflow up`, with real clients: gql's aiohttp
transport with AppSync's auth classes, botocore's SigV4 signer, and plain requests."""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import requests
from gql import gql
from gql.transport.exceptions import TransportQueryError

from tests.e2e.appsync_clients import (
    PUBLISH,
    api_key_auth,
    http_client,
    iam_auth,
    signed_post,
)
from tests.e2e.runner import RunningStack, ackflow_command, receive_records

SQUARE = 'query { square(number: "12") { number square } }'
SQUARE_ASYNC = (
    'mutation { squareAsync(number: "21", streamId: "s-1") { requestId status streamId } }'
)


def post(stack: RunningStack, document: object, **headers: str) -> requests.Response:
    body = document if isinstance(document, str) else json.dumps(document)
    return requests.post(
        stack.endpoints["graphql_url"],
        data=body,
        headers={"content-type": "application/json", **headers},
        timeout=10,
    )


def with_key(stack: RunningStack, query: str, **variables: object) -> requests.Response:
    return post(
        stack, {"query": query, "variables": variables}, **{"x-api-key": stack.endpoints["api_key"]}
    )


def execute(stack: RunningStack, auth: object, query: str) -> dict:
    async def run() -> dict:
        async with http_client(stack, auth) as session:
            return await session.execute(gql(query))

    return asyncio.run(run())


def test_square_runs_the_worker_synchronously(running_stack: RunningStack):
    assert execute(running_stack, api_key_auth(running_stack), SQUARE) == {
        "square": {"number": "12", "square": "144"}
    }


def test_square_async_is_acknowledged_and_its_record_reaches_the_success_queue(
    running_stack: RunningStack,
):
    answer = execute(running_stack, api_key_auth(running_stack), SQUARE_ASYNC)["squareAsync"]

    assert answer["status"] == "ACCEPTED"
    assert answer["streamId"] == "s-1"
    success = running_stack.workload("squaring")["success_queue_url"]
    records = receive_records(running_stack, success, 1)
    (record,) = [r for r in records if r["requestPayload"].get("requestId") == answer["requestId"]]
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestPayload"] == {
        "number": "21",
        "streamId": "s-1",
        "requestId": answer["requestId"],
    }
    assert record["responsePayload"]["square"] == 441


def test_a_worker_validation_error_is_a_graphql_error_named_by_its_type(
    running_stack: RunningStack,
):
    answer = with_key(running_stack, 'query { square(number: "abc") { square } }')

    assert answer.status_code == 200
    body = answer.json()
    assert body["data"] == {"square": None}
    (error,) = body["errors"]
    assert error["errorType"] == "NumberValidationError"
    assert error["message"].startswith("NumberValidationError: 'abc' is not a number")
    assert error["path"] == ["square"]
    assert error["locations"] == [{"line": 1, "column": 9, "sourceName": None}]
    assert set(error) == {"path", "data", "errorType", "errorInfo", "locations", "message"}


def test_gql_raises_the_worker_error_as_a_query_error(running_stack: RunningStack):
    with pytest.raises(TransportQueryError, match="NumberValidationError"):
        execute(
            running_stack, api_key_auth(running_stack), 'query { square(number: "x") { square } }'
        )


def test_iam_callers_sign_with_the_local_credentials(running_stack: RunningStack):
    answer = execute(
        running_stack,
        iam_auth(running_stack),
        'mutation { publishChunk(streamId: "iam", seq: 0, done: true) { streamId seq done } }',
    )
    assert answer == {"publishChunk": {"streamId": "iam", "seq": 0, "done": True}}


@pytest.mark.parametrize(
    ("headers", "status", "error_type", "message"),
    [
        ({}, 401, "UnauthorizedException", "Missing authorization header"),
        (
            {"x-api-key": "da2-unknown"},
            401,
            "UnauthorizedException",
            "You are not authorized to make this call.",
        ),
        (
            {"Authorization": "not-a-token"},
            401,
            "UnauthorizedException",
            "You are not authorized to make this call.",
        ),
    ],
    ids=["no credentials", "unknown key", "a mode the API does not configure"],
)
def test_requests_without_valid_credentials_are_refused_before_anything_runs(
    running_stack: RunningStack, headers, status, error_type, message
):
    answer = post(running_stack, {"query": SQUARE}, **headers)

    assert answer.status_code == status
    assert answer.headers["x-amzn-ErrorType"] == error_type
    assert answer.json() == {"errors": [{"errorType": error_type, "message": message}]}


def test_a_wrong_secret_gets_appsyncs_signature_error(running_stack: RunningStack):
    answer = signed_post(running_stack, {"query": SQUARE}, secret="not-the-secret")

    assert answer.status_code == 403
    (error,) = answer.json()["errors"]
    assert error["errorType"] == "InvalidSignatureException"
    assert error["message"].startswith("The request signature we calculated does not match")


def test_an_unknown_access_key_is_refused(running_stack: RunningStack):
    stranger = {**running_stack.endpoints, "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE"}
    answer = signed_post(
        RunningStack(running_stack.state_root, 0, endpoints=stranger), {"query": SQUARE}
    )

    assert answer.status_code == 403
    assert answer.json()["errors"][0]["errorType"] == "UnrecognizedClientException"


def test_a_signature_over_5_minutes_old_is_refused(running_stack: RunningStack):
    six_minutes_ago = datetime.now(UTC) - timedelta(minutes=6)
    with mock.patch("botocore.auth.get_current_datetime", return_value=six_minutes_ago):
        answer = signed_post(running_stack, {"query": SQUARE})

    assert answer.status_code == 403
    (error,) = answer.json()["errors"]
    assert error["errorType"] == "InvalidSignatureException"
    assert error["message"].startswith("Signature expired:")


def test_publish_chunk_is_iam_only_an_api_key_caller_is_refused_the_field(
    running_stack: RunningStack,
):
    answer = with_key(running_stack, PUBLISH, streamId="s", seq=0, text="x", done=False)

    assert answer.status_code == 200
    body = answer.json()
    assert body["data"] == {"publishChunk": None}
    (error,) = body["errors"]
    assert error["errorType"] == "Unauthorized"
    assert error["message"] == "Not Authorized to access publishChunk on type Mutation"


def test_an_iam_caller_may_not_use_fields_of_the_default_mode_only(running_stack: RunningStack):
    answer = signed_post(running_stack, {"query": SQUARE})

    assert answer.json()["errors"][0]["message"] == "Not Authorized to access square on type Query"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "Request body is empty."),
        ("meow", "Invalid JSON payload in POST request."),
        ("{}", "Unable to parse GraphQL query."),
        ("[]", "Unable to parse GraphQL query."),
    ],
)
def test_a_body_that_is_not_a_graphql_request_is_malformed(
    running_stack: RunningStack, body, message
):
    answer = post(running_stack, body, **{"x-api-key": running_stack.endpoints["api_key"]})

    assert answer.status_code == 400
    assert answer.json() == {
        "errors": [{"errorType": "MalformedHttpRequestException", "message": message}]
    }


@pytest.mark.parametrize(
    ("query", "variables", "message"),
    [
        (
            "{ badfield }",
            {},
            "Validation error of type FieldUndefined: Field 'badfield' in type 'Query' is "
            "undefined @ 'badfield'",
        ),
        (
            "query { square(number: 12) { square } }",
            {},
            "Validation error of type WrongType: argument 'number' with value 'IntValue{value=12}' "
            "is not a valid 'String' @ 'square'",
        ),
        (
            "query { square { square } }",
            {},
            "Validation error of type MissingFieldArgument: Missing field argument number "
            "@ 'square'",
        ),
        (
            "query ($n: String!) { square(number: $n) { square } }",
            {"n": 12},
            "Variable 'n' has an invalid value: String cannot represent a non string value: 12",
        ),
        (
            'query { square(number: "1") { square } ',
            {},
            "Invalid Syntax : offending token '<EOF>' at line 1 column 40",
        ),
    ],
    ids=[
        "unknown field",
        "wrong literal type",
        "missing argument",
        "wrong variable type",
        "syntax",
    ],
)
def test_documents_that_do_not_validate_are_400_in_appsyncs_words(
    running_stack: RunningStack, query, variables, message
):
    answer = with_key(running_stack, query, **variables)

    assert answer.status_code == 400
    body = answer.json()
    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == [message]


def test_a_subscription_over_http_is_refused(running_stack: RunningStack):
    answer = with_key(running_stack, 'subscription { onChunk(streamId: "a") { seq } }')

    assert answer.status_code == 400
    assert answer.json()["errors"][0]["errorType"] == "OperationNotSupported"


def test_browsers_may_call_it_from_another_origin(running_stack: RunningStack):
    preflight = requests.options(
        running_stack.endpoints["graphql_url"],
        headers={"Origin": "http://example.test", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    answer = with_key(running_stack, SQUARE)

    assert preflight.status_code == 200
    assert "x-api-key" in preflight.headers["Access-Control-Allow-Headers"]
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_ackflow_graphql_sends_a_query_with_the_stacks_auth(running_stack: RunningStack):
    def ackflow(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                *ackflow_command(),
                *args,
                "--stack",
                "e2e",
                "--state-dir",
                str(running_stack.state_root),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )

    square = ackflow(
        "graphql",
        "query ($n: String!) { square(number: $n) { square } }",
        "--variables",
        '{"n": "7"}',
    )
    refused = ackflow("graphql", 'query { square(number: "x") { square } }')
    iam = ackflow(
        "graphql",
        "--auth",
        "iam",
        'mutation { publishChunk(streamId: "c", seq: 1, done: true) { seq } }',
    )

    assert square.returncode == 0, square.stderr
    assert json.loads(square.stdout) == {"data": {"square": {"square": "49"}}}
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["errors"][0]["errorType"] == "NumberValidationError"
    assert iam.returncode == 0, iam.stderr
    assert json.loads(iam.stdout) == {"data": {"publishChunk": {"seq": 1}}}

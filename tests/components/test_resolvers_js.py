"""The APPSYNC_JS resolvers in components/resolvers, run in V8 against AppSync-shaped ctx."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from components.graphql_front import RESOLVERS_DIR
from local.appsync.appsync_js import AppSyncJs, ResolverError

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

API_KEY_IDENTITY = None
"""AppSync gives API-key callers no identity."""
IAM_IDENTITY = {
    "accountId": "000000000000",
    "cognitoIdentityAuthProvider": None,
    "cognitoIdentityAuthType": None,
    "cognitoIdentityId": None,
    "cognitoIdentityPoolId": None,
    "sourceIp": ["203.0.113.7"],
    "userArn": "arn:aws:sts::000000000000:assumed-role/ackflow-dev-squaring-worker/session",
    "username": "AROAEXAMPLE:session",
}
IDENTITIES = pytest.mark.parametrize(
    "identity", [API_KEY_IDENTITY, IAM_IDENTITY], ids=["apiKey", "iam"]
)


def appsync_ctx(
    parent_type: str,
    field: str,
    arguments: dict[str, Any],
    *,
    identity: dict[str, Any] | None = API_KEY_IDENTITY,
    stash: dict[str, Any] | None = None,
    **rest: Any,
) -> dict[str, Any]:
    """A ctx as AppSync builds it for a unit resolver's handlers."""
    return {
        "arguments": arguments,
        "args": arguments,
        "identity": identity,
        "source": None,
        "stash": {} if stash is None else stash,
        "prev": None,
        "request": {
            "headers": {
                "content-type": "application/json",
                "host": "abc.appsync-api.us-east-1.amazonaws.com",
                "x-amzn-requestid": "5b0a7c47-3f5f-4a2c-8d47-7c8f43b1f1a0",
            },
            "domainName": None,
        },
        "info": {
            "fieldName": field,
            "parentTypeName": parent_type,
            "variables": dict(arguments),
            "selectionSetList": ["requestId", "status", "streamId"],
            "selectionSetGraphQL": "{ requestId status streamId }",
        },
        **rest,
    }


@pytest.fixture(scope="module")
def resolvers() -> Iterator[dict[str, AppSyncJs]]:
    runners = {path.stem: AppSyncJs.from_file(path) for path in sorted(RESOLVERS_DIR.glob("*.js"))}
    yield runners
    for runner in runners.values():
        runner.close()


@IDENTITIES
def test_invoke_async_asks_for_an_event_invocation_with_the_arguments_and_a_request_id(
    resolvers, identity
):
    resolver = resolvers["invoke_async"]
    args = {"number": "12", "streamId": "s-7f3a"}
    request = resolver.run(
        "request", appsync_ctx("Mutation", "squareAsync", args, identity=identity)
    )

    assert request["operation"] == "Invoke"
    assert request["invocationType"] == "Event"
    request_id = request["payload"].pop("requestId")
    assert UUID4.match(request_id), request_id
    assert request["payload"] == args
    assert resolver.stash == {"requestId": request_id}


@IDENTITIES
def test_invoke_async_answers_the_ack_with_the_same_request_id_and_the_callers_stream(
    resolvers, identity
):
    resolver = resolvers["invoke_async"]
    args = {"number": "12", "streamId": "s-7f3a"}
    ctx = appsync_ctx("Mutation", "squareAsync", args, identity=identity)
    request_id = resolver.run("request", ctx)["payload"]["requestId"]

    # Lambda answers an Event invocation with null.
    ack = resolver.run("response", {**ctx, "stash": resolver.stash, "result": None})

    assert ack == {"requestId": request_id, "status": "ACCEPTED", "streamId": "s-7f3a"}


def test_invoke_async_ack_has_a_null_stream_when_the_caller_gave_none(resolvers):
    resolver = resolvers["invoke_async"]
    ctx = appsync_ctx("Mutation", "squareAsync", {"number": "12"})
    request = resolver.run("request", ctx)
    assert "streamId" not in request["payload"]

    ack = resolver.run("response", {**ctx, "stash": resolver.stash, "result": None})

    assert ack == {
        "requestId": request["payload"]["requestId"],
        "status": "ACCEPTED",
        "streamId": None,
    }


def test_invoke_async_makes_a_new_request_id_per_request(resolvers):
    resolver = resolvers["invoke_async"]
    ids = {
        resolver.run("request", appsync_ctx("Mutation", "squareAsync", {"number": "1"}))["payload"][
            "requestId"
        ]
        for _ in range(20)
    }
    assert len(ids) == 20
    assert all(uuid.UUID(i).version == 4 for i in ids)


def test_invoke_async_turns_a_failed_invocation_into_a_graphql_error(resolvers):
    ctx = appsync_ctx(
        "Mutation",
        "squareAsync",
        {"number": "1"},
        stash={"requestId": "r-1"},
        result=None,
        error={"message": "Rate exceeded", "type": "Lambda:TooManyRequestsException"},
    )
    with pytest.raises(ResolverError) as raised:
        resolvers["invoke_async"].run("response", ctx)
    assert raised.value.message == "Rate exceeded"
    assert raised.value.error_type == "Lambda:TooManyRequestsException"


@IDENTITIES
def test_invoke_sync_asks_for_a_request_response_invocation_with_just_the_arguments(
    resolvers, identity
):
    args = {"number": "12"}
    request = resolvers["invoke_sync"].run(
        "request", appsync_ctx("Query", "square", args, identity=identity)
    )
    assert request == {"operation": "Invoke", "invocationType": "RequestResponse", "payload": args}


def test_invoke_sync_answers_the_function_result(resolvers):
    result = {"number": 12, "square": 144}
    ctx = appsync_ctx("Query", "square", {"number": "12"}, result=result)
    assert resolvers["invoke_sync"].run("response", ctx) == result


def test_invoke_sync_takes_the_error_type_from_the_workers_message_prefix(resolvers):
    message = "NumberValidationError: 'abc' is not a number (expected decimal digits)"
    ctx = appsync_ctx(
        "Query",
        "square",
        {"number": "abc"},
        result=None,
        error={"message": message, "type": "Lambda:Unhandled"},
    )
    with pytest.raises(ResolverError) as raised:
        resolvers["invoke_sync"].run("response", ctx)
    assert raised.value.error_type == "NumberValidationError"
    assert raised.value.message == message


@pytest.mark.parametrize(
    "message",
    [
        "Task timed out after 3.00 seconds",
        "Unable to import module 'handler': No module named 'numpy'",
        "Connection reset by peer: try again",
        "'abc': is not a number",
        ": starts with a separator",
    ],
)
def test_invoke_sync_keeps_appsyncs_error_type_when_the_message_has_no_type_prefix(
    resolvers, message
):
    ctx = appsync_ctx(
        "Query",
        "square",
        {"number": "1"},
        result=None,
        error={"message": message, "type": "Lambda:Unhandled"},
    )
    with pytest.raises(ResolverError) as raised:
        resolvers["invoke_sync"].run("response", ctx)
    assert raised.value.error_type == "Lambda:Unhandled"
    assert raised.value.message == message


def test_publish_passes_the_chunk_through_the_none_data_source(resolvers):
    chunk = {"streamId": "s-1", "seq": 3, "text": "Hel", "done": False, "error": None}
    ctx = appsync_ctx("Mutation", "publishChunk", chunk, identity=IAM_IDENTITY)
    request = resolvers["publish"].run("request", ctx)
    assert request == {"payload": chunk}

    # The NONE data source hands the payload back as ctx.result.
    assert resolvers["publish"].run("response", {**ctx, "result": request["payload"]}) == chunk


def test_subscribe_filters_on_the_subscribers_stream_and_returns_null(resolvers):
    resolver = resolvers["subscribe"]
    ctx = appsync_ctx("Subscription", "onChunk", {"streamId": "s-42"})
    assert resolver.run("request", ctx) == {"payload": None}

    assert resolver.run("response", {**ctx, "result": None}) is None
    assert resolver.subscription_filter == {
        "filterGroup": [{"filters": [{"fieldName": "streamId", "operator": "eq", "value": "s-42"}]}]
    }

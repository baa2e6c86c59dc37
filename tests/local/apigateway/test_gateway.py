"""The local REST gateway serves the captured squaring routes with API Gateway's semantics.

The capture is the real REST front built from the squaring workload's routes, plus one proxy
route; the Lambda service is the one fake (another module's job), recording every invoke.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pulumi
import pytest
from aiohttp.test_utils import TestServer
from multidict import CIMultiDictProxy

from components.api_args import ApiTarget, AsyncResolverApiArgs, RestRoute
from components.rest_front import RestFront
from local.apigateway.gateway import create_rest_app
from local.apigateway.model import IntegrationResponse, arn_like, rest_model
from local.cloud.capture import Capture, evaluate
from local.lambda_.invocation import EventQueueUnavailable, InvokeResponse
from workloads import Invocation, discover

WORKER = "squaring-worker-fn"
FRONT = "squaring-front-fn"
ACCOUNT = "000000000000"
REGION = "us-east-1"
_RESTROUTE_INVOCATION = {
    Invocation.EVENT: "Event",
    Invocation.REQUEST_RESPONSE: "RequestResponse",
    Invocation.CLIENT: "client",
}


def _target(key: str, function: str) -> ApiTarget:
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"
    return ApiTarget(
        key=key,
        workload="squaring",
        function_name=function,
        function_arn=arn,
        invoke_arn=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations",
    )


def _program() -> None:
    squaring = discover()["squaring"]
    settings = squaring.settings()
    routes = [
        RestRoute(
            workload="squaring",
            method=route.method,
            path=route.path,
            target="squaring-worker",
            invocation=_RESTROUTE_INVOCATION[route.invocation_for(settings)],  # type: ignore[arg-type]
            body_schema=route.body_schema,
            request_template=route.request_template,
            response_template=route.response_template,
            accepted_template=route.accepted_template,
        )
        for route in squaring.routes
    ]
    routes.append(
        RestRoute(
            workload="squaring",
            method="POST",
            path="/hooks/{name}",
            target="squaring-front",
            invocation="proxy",
        )
    )
    parent = pulumi.ComponentResource("ackflow:index:AsyncResolverApi", "api")
    RestFront(
        parent,
        "api-rest",
        AsyncResolverApiArgs(
            targets=[_target("squaring-worker", WORKER), _target("squaring-front", FRONT)],
            routes=routes,
        ),
    )


@pytest.fixture(scope="module")
def capture() -> Capture:
    return evaluate(_program, "dev", {"aws:region": REGION})


Answer = Callable[[str, bytes, str], InvokeResponse]


def _squares(function: str, payload: bytes, invocation_type: str) -> InvokeResponse:
    """What the squaring worker answers through Lambda's Invoke API."""
    if invocation_type == "Event":
        return InvokeResponse(status=202, payload=b"", request_id="lambda-1")
    number = int(json.loads(payload)["number"])
    result = json.dumps({"number": number, "square": number * number}).encode()
    return InvokeResponse(status=200, payload=result, request_id="lambda-1")


def _fails(error_type: str, message: str) -> Answer:
    document = {
        "errorMessage": message,
        "errorType": error_type,
        "stackTrace": ['  File "/var/task/handler.py", line 42, in handler\n'],
    }

    def answer(function: str, payload: bytes, invocation_type: str) -> InvokeResponse:
        return InvokeResponse(200, json.dumps(document).encode(), "lambda-1", "Unhandled")

    return answer


def _returns(document: Any) -> Answer:
    def answer(function: str, payload: bytes, invocation_type: str) -> InvokeResponse:
        return InvokeResponse(200, json.dumps(document).encode(), "lambda-1")

    return answer


@dataclass
class FakeLambda:
    """Lambda's Invoke API, recording each call as (function, event, invocation type)."""

    answer: Answer = _squares
    calls: list[tuple[str, Any, str]] = field(default_factory=list)

    async def invoke(
        self, function_name: str, payload: bytes, invocation_type: str = "RequestResponse"
    ) -> InvokeResponse:
        self.calls.append((function_name, json.loads(payload), invocation_type))
        return self.answer(function_name, payload, invocation_type)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _call(
    capture: Capture,
    lambda_: FakeLambda,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    data: str | bytes | None = None,
) -> Reply:
    """One real HTTP request to the gateway served on 127.0.0.1."""

    async def go() -> Reply:
        server = TestServer(create_rest_app(capture, lambda_), host="127.0.0.1")
        async with server, aiohttp.ClientSession() as session:
            url = server.make_url(path)
            async with session.request(method, url, headers=headers, data=data) as response:
                return Reply(response.status, response.headers, await response.read())

    return asyncio.run(go())


JSON_BODY = {"Content-Type": "application/json"}


def test_get_square_invokes_the_worker_synchronously_and_answers_seed_004_fields(
    capture: Capture,
) -> None:
    lambda_ = FakeLambda()
    reply = _call(capture, lambda_, "GET", "/api/square/12")
    assert lambda_.calls == [(WORKER, {"number": "12"}, "RequestResponse")]
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    body = reply.json()
    assert body["synchronous_invocation"] == "true"
    assert body["square_of_your_number_is"] == 144
    assert body["number"] == 12
    assert body["api_stage"] == "api"
    assert body["api_resource_path"] == "/square/{number}"
    assert body["http_method"] == "GET"
    assert body["source_ip"] == "127.0.0.1"
    assert body["api_request_id"] == reply.headers["x-amzn-RequestId"]


@pytest.mark.parametrize("header", ["InvocationType", "invocationtype"])
def test_invocation_type_event_header_invokes_asynchronously_and_answers_202_ack(
    capture: Capture, header: str
) -> None:
    lambda_ = FakeLambda()
    reply = _call(capture, lambda_, "GET", "/api/square/12", headers={header: "Event"})
    assert lambda_.calls == [(WORKER, {"number": "12"}, "Event")]
    assert reply.status == 202
    body = reply.json()
    assert body["requestId"] == reply.headers["x-amzn-RequestId"]
    assert body["status"] == "ACCEPTED"
    assert body["asynchronous_invocation"] == "true"
    assert body["message"] == "Event received. Check queue/logs for status"


def test_worker_validation_error_maps_to_400_with_its_message(capture: Capture) -> None:
    message = "NumberValidationError: 'abc' is not a number"
    lambda_ = FakeLambda(_fails("NumberValidationError", message))
    reply = _call(capture, lambda_, "GET", "/api/square/abc")
    assert lambda_.calls == [(WORKER, {"number": "abc"}, "RequestResponse")]
    assert reply.status == 400
    assert reply.json() == {"message": message}


def test_any_other_worker_error_maps_to_generic_500_without_the_stack_trace(
    capture: Capture,
) -> None:
    lambda_ = FakeLambda(_fails("KeyError", "KeyError: 'number'\nin handler"))
    reply = _call(capture, lambda_, "GET", "/api/square/12")
    assert reply.status == 500
    assert reply.json() == {"message": "Internal server error"}
    assert b"handler.py" not in reply.body


def test_post_square_with_a_valid_body_invokes_with_its_number(capture: Capture) -> None:
    lambda_ = FakeLambda()
    reply = _call(capture, lambda_, "POST", "/api/square", headers=JSON_BODY, data='{"number": 3}')
    assert lambda_.calls == [(WORKER, {"number": 3}, "RequestResponse")]
    assert reply.status == 200
    assert reply.json() == {"number": 3, "square": 9}


@pytest.mark.parametrize(
    "body",
    [
        '{"value": 3}',
        '{"number": 3, "extra": 1}',
        '{"number": true}',
        "{not json",
        "",
        '{"number": ' + "[" * 100_000 + "]" * 100_000 + "}",  # nested too deep for Python
    ],
)
def test_post_square_with_a_body_breaking_the_model_is_400_and_never_invoked(
    capture: Capture, body: str
) -> None:
    lambda_ = FakeLambda()
    reply = _call(capture, lambda_, "POST", "/api/square", headers=JSON_BODY, data=body)
    assert reply.status == 400
    assert reply.json() == {"message": "Invalid request body"}
    assert reply.headers["x-amzn-ErrorType"] == "BadRequestException"
    assert lambda_.calls == []


def test_post_square_with_an_unmapped_content_type_is_415_and_never_invoked(
    capture: Capture,
) -> None:
    lambda_ = FakeLambda()
    headers = {"Content-Type": "text/plain"}
    reply = _call(capture, lambda_, "POST", "/api/square", headers=headers, data="number=3")
    assert reply.status == 415
    assert reply.json() == {"message": "Unsupported Media Type"}
    assert lambda_.calls == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/cube/3"),
        ("DELETE", "/api/square/12"),
        ("GET", "/api/square"),
        ("GET", "/prod/square/12"),
        ("GET", "/api"),
        ("GET", "/"),
    ],
)
def test_an_undeclared_stage_route_or_method_is_403_missing_authentication_token(
    capture: Capture, method: str, path: str
) -> None:
    lambda_ = FakeLambda()
    reply = _call(capture, lambda_, method, path)
    assert reply.status == 403
    assert reply.json() == {"message": "Missing Authentication Token"}
    assert reply.headers["x-amzn-RequestId"]
    assert lambda_.calls == []


@pytest.mark.parametrize(
    ("path", "headers", "status", "message"),
    [
        (
            "/api/square/12",
            {"InvocationType": "Bogus"},
            400,
            "1 validation error detected: Value 'Bogus' at 'invocationType' failed to satisfy "
            "constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
        ),
        # escapeJavaScript writes ' as \', which is not JSON: Lambda cannot parse the payload.
        (
            "/api/square/it's",
            {"InvocationType": "Event"},
            400,
            "Could not parse request body into json: ",
        ),
    ],
    ids=["unknown invocation type", "mapped payload not JSON"],
)
def test_what_lambda_would_refuse_of_the_callers_request_is_their_4xx_and_never_invoked(
    capture: Capture, path: str, headers: dict[str, str], status: int, message: str
) -> None:
    lambda_ = FakeLambda()
    reply = _call(capture, lambda_, "GET", path, headers=headers)
    assert reply.status == status
    assert reply.json()["message"].startswith(message)
    assert lambda_.calls == []


def test_a_body_over_lambdas_limit_is_413_and_over_api_gateways_too(capture: Capture) -> None:
    lambda_ = FakeLambda()
    over_lambda = b'{"number": "' + b"1" * (6 * 1024 * 1024) + b'"}'
    over_gateway = b'{"number": "' + b"1" * (10 * 1024 * 1024) + b'"}'
    event = {**JSON_BODY, "InvocationType": "Event"}
    over_event = b'{"number": "' + b"1" * (1024 * 1024) + b'"}'

    lambda_reply = _call(
        capture, lambda_, "POST", "/api/square", headers=JSON_BODY, data=over_lambda
    )
    event_reply = _call(capture, lambda_, "POST", "/api/square", headers=event, data=over_event)
    gateway_reply = _call(
        capture, lambda_, "POST", "/api/square", headers=JSON_BODY, data=over_gateway
    )

    assert lambda_reply.status == event_reply.status == gateway_reply.status == 413
    assert lambda_reply.json() == {
        "message": f"{len(over_lambda)} byte payload is too large for the RequestResponse "
        "invocation type (limit 6291456 bytes)"
    }
    assert event_reply.json()["message"].endswith(
        "for the Event invocation type (limit 1048576 bytes)"
    )
    assert gateway_reply.json() == {"message": "Request Too Long"}
    assert lambda_.calls == []


def test_a_trailing_slash_reaches_the_same_route(capture: Capture) -> None:
    lambda_ = FakeLambda()
    reply = _call(capture, lambda_, "GET", "/api/square/7/")
    assert reply.status == 200
    assert lambda_.calls == [(WORKER, {"number": "7"}, "RequestResponse")]


def test_numbers_reach_the_client_digit_for_digit(capture: Capture) -> None:
    number = "1.000000000000000000001"
    square = "1.000000000000000000002000000000000000000001"

    def exact(function: str, payload: bytes, invocation_type: str) -> InvokeResponse:
        return InvokeResponse(200, f'{{"number": {number}, "square": {square}}}'.encode(), "l-1")

    reply = _call(capture, FakeLambda(exact), "GET", f"/api/square/{number}")
    assert reply.status == 200
    assert f'"square_of_your_number_is": {square}' in reply.body.decode()


def test_proxy_route_gets_a_payload_v1_event(capture: Capture) -> None:
    lambda_ = FakeLambda(_returns({"statusCode": 200}))
    reply = _call(
        capture,
        lambda_,
        "POST",
        "/api/hooks/slack?team=a&team=b",
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Custom": "1"},
        data="text=hi",
    )
    assert reply.status == 200
    [(function, event, invocation_type)] = lambda_.calls
    assert (function, invocation_type) == (FRONT, "RequestResponse")
    assert event["resource"] == "/hooks/{name}"
    assert event["path"] == "/hooks/slack"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"name": "slack"}
    assert event["queryStringParameters"] == {"team": "b"}
    assert event["multiValueQueryStringParameters"] == {"team": ["a", "b"]}
    assert event["headers"]["X-Custom"] == "1"
    assert event["multiValueHeaders"]["X-Custom"] == ["1"]
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["stageVariables"] is None
    assert event["body"] == "text=hi"
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["requestId"] == reply.headers["x-amzn-RequestId"]
    assert context["resourcePath"] == "/hooks/{name}"
    assert context["httpMethod"] == "POST"
    assert context["path"] == "/api/hooks/slack"
    assert context["stage"] == "api"
    assert context["accountId"] == ACCOUNT
    assert context["protocol"] == "HTTP/1.1"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"].startswith("Python/")
    assert isinstance(context["requestTimeEpoch"], int)
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", context["requestTime"])
    assert context["apiId"] == rest_model(capture).apis[0].id


def test_proxy_response_status_headers_and_body_are_mapped_back(capture: Capture) -> None:
    result = {
        "statusCode": 201,
        "headers": {"X-Reply": "yes", "Set-Cookie": "ignored=1", "X-Flag": True},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": "created",
    }
    reply = _call(capture, FakeLambda(_returns(result)), "POST", "/api/hooks/x", data=b"")
    assert reply.status == 201
    assert reply.headers["X-Reply"] == "yes"
    assert reply.headers["X-Flag"] == "true"
    assert reply.headers.getall("Set-Cookie") == ["a=1", "b=2"]
    assert reply.headers["x-amzn-RequestId"]
    assert reply.body == b"created"


def test_proxy_base64_body_is_decoded(capture: Capture) -> None:
    result = {"statusCode": 200, "body": "aGk=", "isBase64Encoded": True}
    reply = _call(capture, FakeLambda(_returns(result)), "POST", "/api/hooks/x")
    assert reply.body == b"hi"


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": 200, "wrongValue": "value"},
        {"statusCode": "teapot"},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "multiValueHeaders": {"a": "not a list"}},
        "justAString",
    ],
)
def test_malformed_proxy_response_is_502(capture: Capture, result: Any) -> None:
    reply = _call(capture, FakeLambda(_returns(result)), "POST", "/api/hooks/x")
    assert reply.status == 502
    assert reply.json() == {"message": "Internal server error"}


def test_proxy_function_error_is_502(capture: Capture) -> None:
    reply = _call(capture, FakeLambda(_fails("Exception", "boom")), "POST", "/api/hooks/x")
    assert reply.status == 502
    assert reply.json() == {"message": "Internal server error"}


def test_missing_lambda_permission_is_500_and_never_invokes(
    capture: Capture, caplog: pytest.LogCaptureFixture
) -> None:
    without = dataclasses.replace(
        capture,
        resources=[
            r
            for r in capture.resources
            if not (r.type == "aws:lambda/permission:Permission" and "get-square" in r.name)
        ],
    )
    lambda_ = FakeLambda()
    with caplog.at_level(logging.ERROR, logger="local.apigateway.gateway"):
        reply = _call(without, lambda_, "GET", "/api/square/12")
    assert reply.status == 500
    assert reply.json() == {"message": "Internal server error"}
    assert lambda_.calls == []
    assert "Invalid permissions on Lambda function" in caplog.text
    still_allowed = _call(
        without, lambda_, "POST", "/api/square", headers=JSON_BODY, data='{"number": 2}'
    )
    assert still_allowed.status == 200


def test_iam_methods_refuse_unsigned_requests(capture: Capture) -> None:
    iam = dataclasses.replace(
        capture,
        resources=[
            dataclasses.replace(r, inputs={**r.inputs, "authorization": "AWS_IAM"})
            if r.type == "aws:apigateway/method:Method"
            else r
            for r in capture.resources
        ],
    )
    lambda_ = FakeLambda()
    unsigned = _call(iam, lambda_, "GET", "/api/square/12")
    assert unsigned.status == 403
    assert unsigned.json() == {"message": "Missing Authentication Token"}
    assert lambda_.calls == []
    signed = _call(iam, lambda_, "GET", "/api/square/12", headers={"Authorization": "AWS4-HMAC"})
    assert signed.status == 200


def test_lambda_service_failure_is_500(capture: Capture) -> None:
    def throttled(function: str, payload: bytes, invocation_type: str) -> InvokeResponse:
        return InvokeResponse(429, b'{"Type": "User", "message": "Rate Exceeded."}', "l-1")

    reply = _call(capture, FakeLambda(throttled), "GET", "/api/square/12")
    assert reply.status == 500
    assert reply.json() == {"message": "Internal server error"}


def test_event_refused_by_the_async_engine_is_503_with_its_reason(capture: Capture) -> None:
    def refused(function: str, payload: bytes, invocation_type: str) -> InvokeResponse:
        raise EventQueueUnavailable("the async engine stopped: disk full")

    reply = _call(
        capture, FakeLambda(refused), "GET", "/api/square/12", headers={"InvocationType": "Event"}
    )
    assert reply.status == 503
    assert reply.json() == {"message": "Service Unavailable: the async engine stopped: disk full"}


def test_model_joins_the_captured_resources(capture: Capture) -> None:
    [api] = rest_model(capture).apis
    assert list(api.stages) == ["api"]
    assert api.execution_arn == f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api.id}"
    by_path = {resource.path: resource for resource in api.resources}
    assert set(by_path) >= {"/", "/square", "/square/{number}", "/hooks/{name}"}
    get = by_path["/square/{number}"].methods["GET"]
    assert get.integration is not None
    assert get.integration.function_name == WORKER
    assert get.integration.passthrough_behavior == "NEVER"
    assert [r.status for r in get.integration.responses if r.selection_pattern] == [400, 500]
    post = by_path["/square"].methods["POST"]
    assert (post.validate_body, post.validate_parameters) == (True, True)
    assert post.request_models["application/json"]["required"] == ["number"]
    proxy = by_path["/hooks/{name}"].methods["POST"]
    assert proxy.integration is not None
    assert (proxy.integration.type, proxy.integration.function_name) == ("AWS_PROXY", FRONT)


def test_routing_prefers_static_segments_over_parameters() -> None:
    from local.apigateway.model import Method, Resource, RestApi

    any_method = {"GET": Method(http_method="GET")}
    api = RestApi(
        id="a",
        name="a",
        region=REGION,
        account_id=ACCOUNT,
        execution_arn="arn",
        stages={"s": {}},
        resources=(
            Resource(id="1", path="/{proxy+}", methods=any_method),
            Resource(id="2", path="/items/{id}", methods=any_method),
            Resource(id="3", path="/items/new", methods=any_method),
        ),
    )
    assert api.route("GET", "items/new").resource.id == "3"  # type: ignore[union-attr]
    assert api.route("GET", "items/7").path_parameters == {"id": "7"}  # type: ignore[union-attr]
    greedy = api.route("GET", "other/a%2Fb/c")
    assert greedy is not None
    assert (greedy.resource.id, greedy.path_parameters) == ("1", {"proxy": "other/a/b/c"})
    assert api.route("POST", "items/7") is None


@pytest.mark.parametrize(
    ("pattern", "message", "selected"),
    [
        ("Invalid.*", "Invalid input", True),
        ("Invalid*", "Invalid input", False),  # the whole message must match, as on AWS
        ("(\\n|.)+", "", False),  # a successful invocation is matched as an empty message
        (".+", "line one\nline two", False),  # "." stops at a newline
        ("(\\n|.)+", "line one\nline two", True),
        ("[", "anything", False),  # an invalid pattern selects nothing
    ],
)
def test_selection_patterns_match_the_whole_error_message(
    pattern: str, message: str, selected: bool
) -> None:
    response = IntegrationResponse(status=400, selection_pattern=pattern)
    assert response.matches(message) is selected


@pytest.mark.parametrize(
    ("pattern", "arn", "allowed"),
    [
        (
            "arn:aws:execute-api:r:1:api/*/GET/square/*",
            "arn:aws:execute-api:r:1:api/s/GET/square/1",
            True,
        ),
        (
            "arn:aws:execute-api:r:1:api/*/GET/square/*",
            "arn:aws:execute-api:r:1:api/s/POST/square/1",
            False,
        ),
        (
            "arn:aws:execute-api:r:1:api/*/POST/square",
            "arn:aws:execute-api:r:1:api/s/POST/square",
            True,
        ),
        ("arn:aws:execute-api:*:1:other/*", "arn:aws:execute-api:r:1:api/s/GET/x", False),
    ],
)
def test_source_arns_match_like_iam_arn_like(pattern: str, arn: str, allowed: bool) -> None:
    assert arn_like(pattern, arn) is allowed

"""Sending the catalogue's inputs to a running stack, each edge with the client a caller would
use (requests, botocore's signer, a raw websockets client, boto3), and reading the answer.

Every call has a deadline of :data:`DEADLINE_SECONDS`: an answer that does not come within it
fails the case. :func:`serves` is each edge's cheap good request, asked after every case.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from local.standins.slack_command import signed_headers
from tests.e2e.appsync_clients import credentials, graphql_host, header_param
from tests.e2e.bad_inputs import (
    INIT,
    Auth,
    Body,
    Edge,
    GraphQL,
    Header,
    Invoke,
    Oversized,
    Request,
    Rest,
    Signature,
    Slack,
    Socket,
    Start,
    StartStream,
    WorkerEvent,
)
from tests.e2e.runner import RunningStack, receive_records

__all__ = ["DEADLINE_SECONDS", "Observed", "send", "serves"]

DEADLINE_SECONDS = 10.0
"""Each bad input must be answered within this (issue 11)."""
ERROR_TYPE_HEADER = "x-amzn-ErrorType"
UNKNOWN_KEY = "da2-unknownunknownunknown00"
ON_CHUNK = "subscription ($s: ID!) { onChunk(streamId: $s) { seq text done } }"
START_STREAM = """mutation ($prompt: String!, $streamId: ID!, $maxTokens: Int, $system: String) {
  startStream(prompt: $prompt, streamId: $streamId, maxTokens: $maxTokens, system: $system) {
    requestId status streamId
  }
}"""
SQUARE = 'query { square(number: "3") { square } }'
_QUIET = {"ka", "connection_ack"}
_ANSWERS = {"error", "connection_error", "start_ack", "complete", "data"}


@dataclass(frozen=True, kw_only=True)
class Observed:
    """What the edge answered, in the terms of :class:`~tests.e2e.bad_inputs.Answer`."""

    status: int | None = None
    message_type: str | None = None
    close_code: int | None = None
    error_type: str | None = None
    message: str = ""
    request_id: str | None = None
    """The queued event's request id (an Invoke API Event)."""
    condition: str | None = None
    """Its failure record's ``condition``."""
    chunks: int = 0
    """Chunks published on its stream while it was retried."""


def send(stack: RunningStack, request: Request) -> Observed:
    """Send ``request`` to its edge and read the answer."""
    senders = {
        Rest: _rest,
        Invoke: _invoke,
        GraphQL: _graphql,
        Socket: _socket,
        Slack: _slack,
        StartStream: _start_stream,
        WorkerEvent: _worker_event,
    }
    return senders[type(request)](stack, request)


def serves(stack: RunningStack, edge: Edge) -> None:
    """Assert that ``edge`` answers a good request as it should."""
    if edge is Edge.REST:
        answer = requests.get(f"{stack.endpoints['rest_url']}/square/3", timeout=DEADLINE_SECONDS)
        assert answer.status_code == 200, answer.text
        assert answer.json()["square_of_your_number_is"] == 9
    elif edge is Edge.INVOKE:
        answer = stack.client("lambda", attempts=1).invoke(
            FunctionName=stack.workload("squaring")["function_name"],
            Qualifier="$LATEST",
            Payload=b'{"number": "3"}',
        )
        assert json.loads(answer["Payload"].read()) == {"number": 3, "square": 9}
    elif edge in (Edge.GRAPHQL, Edge.STREAM):
        answer = _post_graphql(stack, json.dumps({"query": SQUARE}).encode(), Auth.API_KEY)
        assert answer.json() == {"data": {"square": {"square": "9"}}}, answer.text
    elif edge is Edge.REALTIME:
        with _connect(stack, Header.KEY, ("graphql-ws",)) as socket:
            socket.send(INIT)
            socket.send(_start_frame(stack, Start()))
            assert _answer(socket, "1", 1).message_type == "start_ack"
    elif edge is Edge.SLACK:
        answer = _post_command(stack, _command_form(stack, {}), Signature.VALID)
        assert answer.status_code == 200, answer.text
        assert answer.json()["text"].startswith("Working on it")
    elif edge is Edge.WORKER_EVENT:
        answer = stack.client("lambda", attempts=1).invoke(
            FunctionName=stack.workload("bedrock")["function_name"], InvocationType="DryRun"
        )
        assert answer["StatusCode"] == 204


# -- HTTP edges ----------------------------------------------------------------------------------


def _rest(stack: RunningStack, request: Rest) -> Observed:
    root, _, stage = stack.endpoints["rest_url"].rpartition("/")
    url = f"{root}/{request.stage or stage}{request.path}"
    answer = requests.request(
        request.method,
        url,
        headers=request.headers,
        data=_bytes(request.body),
        timeout=DEADLINE_SECONDS,
    )
    return _http(answer)


def _invoke(stack: RunningStack, request: Invoke) -> Observed:
    name = (
        request.function.removeprefix("=")
        if request.function.startswith("=")
        else stack.workload(request.function)["function_name"]
    )
    url = (
        f"{stack.endpoints['lambda_endpoint_url']}/2015-03-31/functions/"
        f"{urllib.parse.quote(name, safe=':$')}{request.suffix}/invocations"
    )
    headers = dict(request.headers)
    if request.invocation_type is not None:
        headers["X-Amz-Invocation-Type"] = request.invocation_type
    answer = requests.post(
        f"{url}?{request.query}" if request.query else url,
        data=_bytes(request.body),
        headers=headers,
        timeout=DEADLINE_SECONDS,
    )
    return _http(answer)


def _graphql(stack: RunningStack, request: GraphQL) -> Observed:
    body = request.body
    raw = json.dumps(body).encode() if isinstance(body, dict) else _bytes(body)
    return _graphql_answer(_post_graphql(stack, raw, request.auth, request.headers))


def _start_stream(stack: RunningStack, request: StartStream) -> Observed:
    variables = {
        "prompt": request.prompt,
        "streamId": request.stream_id or _stream_id(),
        "maxTokens": request.max_tokens,
        "system": request.system,
    }
    raw = json.dumps({"query": START_STREAM, "variables": variables}).encode()
    return _graphql_answer(_post_graphql(stack, raw, Auth.API_KEY))


def _post_graphql(
    stack: RunningStack, body: bytes, auth: Auth, more: dict[str, str] | None = None
) -> requests.Response:
    url = stack.endpoints["graphql_url"]
    headers = {"content-type": "application/json", **(more or {})}
    if auth is Auth.API_KEY:
        headers["x-api-key"] = stack.endpoints["api_key"]
    elif auth is Auth.UNKNOWN_KEY:
        headers["x-api-key"] = UNKNOWN_KEY
    elif auth is Auth.TOKEN:
        headers["Authorization"] = "not-a-token"
    elif auth in (Auth.IAM_WRONG_SECRET, Auth.IAM_STALE):
        headers = _signed(stack, url, body, headers, auth)
    return requests.post(url, data=body, headers=headers, timeout=DEADLINE_SECONDS)


def _signed(
    stack: RunningStack, url: str, body: bytes, headers: dict[str, str], auth: Auth
) -> dict[str, str]:
    """Headers signed as any AWS SDK signs them (service appsync), but badly."""
    secret = "not-the-secret" if auth is Auth.IAM_WRONG_SECRET else None
    when = datetime.now(UTC) - (timedelta(minutes=6) if auth is Auth.IAM_STALE else timedelta())
    request = AWSRequest("POST", url, data=body, headers=headers)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        SigV4Auth(credentials(stack, secret), "appsync", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def _slack(stack: RunningStack, request: Slack) -> Observed:
    body = _command_form(stack, request.fields) if request.fields is not None else request.raw
    return _http(_post_command(stack, body, request.signature, request.method))


def _command_form(stack: RunningStack, fields: dict[str, str]) -> str:
    form = {
        "token": "legacy",
        "team_id": "T1DC2JH3J",
        "channel_id": "G8PSS9T3V",
        "user_id": "U2CERLKJA",
        "user_name": "roadrunner",
        "command": "/square",
        "text": "3",
        "response_url": f"{stack.endpoints['response_sink_url']}/catalogue",
        "trigger_id": f"{time.time_ns()}.47445629121.{uuid.uuid4().hex}",
        **fields,
    }
    return urllib.parse.urlencode(form)


def _post_command(
    stack: RunningStack, body: str, signature: Signature, method: str = "POST"
) -> requests.Response:
    secret = stack.endpoints["slack_signing_secret"]
    if signature is Signature.NONE:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    elif signature is Signature.STALE:
        headers = signed_headers(secret, body, int(time.time()) - 301)
    else:
        headers = signed_headers(secret, body)
    if signature is Signature.WRONG:
        headers["X-Slack-Signature"] = "v0=" + "0" * 64
    return requests.request(
        method,
        stack.endpoints["slack_command_url"],
        data=body.encode(),
        headers=headers,
        timeout=DEADLINE_SECONDS,
    )


def _http(answer: requests.Response) -> Observed:
    try:
        document = answer.json()
    except ValueError:
        document = None
    message = answer.text
    if isinstance(document, dict):
        found = next(
            (document[k] for k in ("message", "Message", "error", "text") if k in document), None
        )
        message = found if isinstance(found, str) else answer.text
    return Observed(
        status=answer.status_code,
        error_type=answer.headers.get(ERROR_TYPE_HEADER),
        message=message,
    )


def _graphql_answer(answer: requests.Response) -> Observed:
    document = answer.json()
    errors = document.get("errors") or []
    first = errors[0] if errors else {}
    return Observed(
        status=answer.status_code,
        error_type=answer.headers.get(ERROR_TYPE_HEADER) or first.get("errorType"),
        message=first.get("message") or answer.text,
    )


def _bytes(body: Body) -> bytes:
    if isinstance(body, Oversized):
        return body.render()
    return body.encode() if isinstance(body, str) else body


# -- the real-time WebSocket ---------------------------------------------------------------------


def _socket(stack: RunningStack, request: Socket) -> Observed:
    try:
        with _connect(stack, request.header, request.subprotocols) as socket:
            for frame in request.frames:
                socket.send(_start_frame(stack, frame) if isinstance(frame, Start) else frame)
            return _answer(socket, request.answer_to, request.nth)
    except InvalidStatus as refused:
        document = json.loads(refused.response.body or b"{}")
        (error,) = document.get("errors") or [{}]
        return Observed(
            status=refused.response.status_code,
            error_type=error.get("errorType"),
            message=error.get("message", ""),
        )


def _connect(
    stack: RunningStack, header: Header, subprotocols: tuple[str, ...]
) -> ClientConnection:
    url = stack.endpoints["realtime_url"]
    query = {
        Header.KEY: f"header={header_param(_key_headers(stack, stack.endpoints['api_key']))}",
        Header.UNKNOWN_KEY: f"header={header_param(_key_headers(stack, UNKNOWN_KEY))}",
        Header.NOT_BASE64: "header=%25%25%25not-base64",
        Header.NOT_JSON: f"header={base64.b64encode(b'not json').decode()}",
        Header.NONE: "",
    }[header]
    target = f"{url}?{query}&payload=e30=" if query else url
    return connect(
        target,
        subprotocols=list(subprotocols),
        open_timeout=DEADLINE_SECONDS,
        max_size=None,
    )


def _key_headers(stack: RunningStack, key: str) -> dict[str, str]:
    return {"host": graphql_host(stack), "x-api-key": key}


def _start_frame(stack: RunningStack, start: Start) -> str:
    data = start.data
    if data is None:
        data = json.dumps({"query": start.query, "variables": start.variables})
    payload: dict[str, Any] = {"data": data}
    if start.authorization is not None:
        key = stack.endpoints["api_key"] if start.authorization is Header.KEY else UNKNOWN_KEY
        payload["extensions"] = {"authorization": _key_headers(stack, key)}
    message: dict[str, Any] = {"type": "start", "payload": payload}
    if start.id is not None:
        message["id"] = start.id
    return json.dumps(message)


def _answer(socket: ClientConnection, answer_to: object, nth: int) -> Observed:
    """The ``nth`` answer to the message with id ``answer_to`` (or with no id), or the close."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    seen = 0
    try:
        while True:
            message = json.loads(socket.recv(timeout=max(0.0, deadline - time.monotonic())))
            kind = message.get("type")
            if kind in _QUIET or kind not in _ANSWERS or message.get("id") != answer_to:
                continue
            seen += 1
            if seen == nth:
                errors = (message.get("payload") or {}).get("errors") or [{}]
                return Observed(
                    message_type=kind,
                    error_type=errors[0].get("errorType"),
                    message=errors[0].get("message", ""),
                )
    except ConnectionClosed as closed:
        return Observed(message_type="close", close_code=closed.rcvd.code if closed.rcvd else None)


# -- an Event straight to the streaming worker ---------------------------------------------------


def _worker_event(stack: RunningStack, request: WorkerEvent) -> Observed:
    """Queue the event with the Invoke API, watching its stream, until its failure record."""
    payload = request.payload
    stream_id = _stream_id()
    if isinstance(payload, dict):
        payload = {
            k: (stream_id if k == "streamId" and v is None else v) for k, v in payload.items()
        }
    bedrock = stack.workload("bedrock")
    with _connect(stack, Header.KEY, ("graphql-ws",)) as socket:
        socket.send(INIT)
        socket.send(_start_frame(stack, Start(variables={"s": stream_id})))
        assert _answer(socket, "1", 1).message_type == "start_ack"
        accepted = stack.client("lambda", attempts=1).invoke(
            FunctionName=bedrock["function_name"],
            InvocationType="Event",
            Payload=json.dumps(payload).encode(),
        )
        request_id = accepted["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        record = _failure_record(stack, bedrock["failure_queue_url"], request_id)
        chunks = _chunks(socket)
    failure = record["responsePayload"] if record else {}
    return Observed(
        status=accepted["StatusCode"],
        error_type=failure.get("errorType"),
        message=failure.get("errorMessage", ""),
        request_id=request_id,
        condition=record["requestContext"]["condition"] if record else None,
        chunks=chunks,
    )


def _failure_record(stack: RunningStack, queue_url: str, request_id: str) -> dict | None:
    deadline = time.monotonic() + 30  # three attempts, AWS's retry delays at the tests' scale
    while time.monotonic() < deadline:
        for record in receive_records(stack, queue_url, 1, timeout=2):
            if record["requestContext"]["requestId"] == request_id:
                return record
    return None


def _chunks(socket: ClientConnection) -> int:
    """The ``data`` messages already received (a failed event's attempts are all over)."""
    count = 0
    try:
        while True:
            message = json.loads(socket.recv(timeout=0.5))
            count += message.get("type") == "data"
    except TimeoutError:
        return count


def _stream_id() -> str:
    return secrets.token_urlsafe(18)

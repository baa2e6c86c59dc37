"""AppSync's real-time protocol against a real `ackflow up`: gql's AppSyncWebsocketsTransport
as the client an application would use, and a raw websockets client reading every frame."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from gql import GraphQLRequest
from gql.transport.exceptions import TransportQueryError, TransportServerError
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.e2e.appsync_clients import (
    ON_CHUNK,
    api_key_auth,
    graphql_host,
    iam_auth,
    publish,
    realtime_client,
    realtime_url,
)
from tests.e2e.runner import RunningStack

READ_SECONDS = 10


def key_headers(stack: RunningStack, key: str | None = None) -> dict[str, str]:
    return {"host": graphql_host(stack), "x-api-key": key or stack.endpoints["api_key"]}


@contextmanager
def raw_socket(
    stack: RunningStack,
    headers: dict[str, Any] | None = None,
    subprotocols: list[str] | None = None,
    header_in_query: bool = True,
) -> Iterator[ClientConnection]:
    """A raw connection, authorized by the ``header`` query parameter (unless told not to)."""
    url = realtime_url(stack, (headers or key_headers(stack)) if header_in_query else None)
    with connect(url, subprotocols=subprotocols or ["graphql-ws"], open_timeout=10) as socket:
        yield socket


def read(socket: ClientConnection, skip_keep_alive: bool = True) -> dict[str, Any]:
    while True:
        message = json.loads(socket.recv(timeout=READ_SECONDS))
        if not (skip_keep_alive and message["type"] == "ka"):
            return message


def init(socket: ClientConnection) -> dict[str, Any]:
    socket.send(json.dumps({"type": "connection_init"}))
    return read(socket)


def start(
    socket: ClientConnection,
    stack: RunningStack,
    subscription_id: str,
    stream_id: str,
    authorization: dict[str, Any] | None = None,
    query: str = ON_CHUNK,
) -> None:
    data = json.dumps({"query": query, "variables": {"streamId": stream_id}})
    socket.send(
        json.dumps(
            {
                "id": subscription_id,
                "type": "start",
                "payload": {
                    "data": data,
                    "extensions": {"authorization": authorization or key_headers(stack)},
                },
            }
        )
    )


def started(socket: ClientConnection, stack: RunningStack, stream_id: str, sid: str = "1") -> None:
    assert init(socket)["type"] == "connection_ack"
    start(socket, stack, sid, stream_id)
    assert read(socket) == {"type": "start_ack", "id": sid}


async def collect(stack: RunningStack, auth: Any, stream_id: str, count: int) -> list[dict]:
    async with realtime_client(stack, auth) as session:
        events = []
        async for event in session.subscribe(
            GraphQLRequest(ON_CHUNK, variable_values={"streamId": stream_id})
        ):
            events.append(event["onChunk"])
            if len(events) == count:
                return events
    return events


async def publish_when_subscribed(stack: RunningStack, chunks: list[tuple[str, int, str]]) -> None:
    await asyncio.sleep(1.0)  # the subscriptions' start_ack comes well within this
    for stream_id, seq, text in chunks:
        await asyncio.to_thread(publish, stack, stream_id, seq, text)


def test_two_subscribers_on_two_streams_each_get_only_their_own_chunks(running_stack: RunningStack):
    chunks = [
        ("red", 0, "r0"),
        ("blue", 0, "b0"),
        ("red", 1, "r1"),
        ("blue", 1, "b1"),
        ("red", 2, "r2"),
    ]

    async def scenario() -> tuple[list[dict], list[dict]]:
        red = asyncio.create_task(collect(running_stack, api_key_auth(running_stack), "red", 3))
        blue = asyncio.create_task(collect(running_stack, api_key_auth(running_stack), "blue", 2))
        await publish_when_subscribed(running_stack, chunks)
        return await asyncio.wait_for(red, 20), await asyncio.wait_for(blue, 20)

    red, blue = asyncio.run(scenario())

    assert [(c["streamId"], c["seq"], c["text"]) for c in red] == [
        ("red", 0, "r0"),
        ("red", 1, "r1"),
        ("red", 2, "r2"),
    ]
    assert [(c["streamId"], c["seq"], c["text"]) for c in blue] == [
        ("blue", 0, "b0"),
        ("blue", 1, "b1"),
    ]


def test_on_chunk_follows_the_default_mode_so_an_iam_subscriber_is_refused_the_field(
    running_stack: RunningStack,
):
    with pytest.raises(TransportQueryError, match="Not Authorized to access onChunk"):
        asyncio.run(collect(running_stack, iam_auth(running_stack), "x", 1))


def test_connection_ack_announces_the_timeout_and_keep_alives_follow(running_stack: RunningStack):
    with raw_socket(running_stack) as socket:
        assert socket.subprotocol == "graphql-ws"
        socket.send(json.dumps({"type": "connection_init"}))
        ack = read(socket, skip_keep_alive=False)
        keep_alive = read(socket, skip_keep_alive=False)

    assert ack == {"type": "connection_ack", "payload": {"connectionTimeoutMs": 300000}}
    assert keep_alive == {"type": "ka"}


def test_a_bad_api_key_gets_a_connection_error_then_the_socket_closes(running_stack: RunningStack):
    with raw_socket(running_stack, key_headers(running_stack, "da2-wrong")) as socket:
        message = read(socket)
        with pytest.raises(ConnectionClosed):
            socket.recv(timeout=READ_SECONDS)

    assert message["type"] == "connection_error"
    (error,) = message["payload"]["errors"]
    assert error["errorType"].endswith("UnauthorizedException")
    assert error["message"] == "You are not authorized to make this call."


def test_gql_reports_the_connection_error(running_stack: RunningStack):
    with pytest.raises(TransportServerError, match="UnauthorizedException"):
        asyncio.run(collect(running_stack, api_key_auth(running_stack, "da2-wrong"), "x", 1))


def test_auth_may_come_in_a_header_subprotocol_as_amplify_sends_it(running_stack: RunningStack):
    encoded = base64.urlsafe_b64encode(json.dumps(key_headers(running_stack)).encode())
    header = "header-" + encoded.decode().rstrip("=")
    with raw_socket(
        running_stack, subprotocols=["graphql-ws", header], header_in_query=False
    ) as socket:
        ack = init(socket)

    assert ack["type"] == "connection_ack"


def test_a_header_that_is_not_base64_json_is_a_connection_error(running_stack: RunningStack):
    url = running_stack.endpoints["realtime_url"] + "?header=%%%not-base64&payload=e30="
    with connect(url, subprotocols=["graphql-ws"], open_timeout=10) as socket:
        assert read(socket)["type"] == "connection_error"


def test_a_client_without_the_graphql_ws_subprotocol_is_refused(running_stack: RunningStack):
    with (
        pytest.raises(InvalidStatus) as refused,
        raw_socket(running_stack, subprotocols=["graphql-transport-ws"]),
    ):
        pass

    assert refused.value.response.status_code == 400


def test_start_needs_its_own_authorization(running_stack: RunningStack):
    with raw_socket(running_stack) as socket:
        init(socket)
        start(socket, running_stack, "1", "s", authorization={"host": graphql_host(running_stack)})
        refused = read(socket)
        start(socket, running_stack, "2", "s", authorization=key_headers(running_stack, "da2-no"))
        wrong_key = read(socket)

    assert refused["type"] == wrong_key["type"] == "error"
    assert (refused["id"], wrong_key["id"]) == ("1", "2")
    assert refused["payload"]["errors"][0]["errorType"] == "UnauthorizedException"


def test_an_invalid_subscription_gets_an_error_naming_it(running_stack: RunningStack):
    with raw_socket(running_stack) as socket:
        init(socket)
        start(socket, running_stack, "1", "s", query="subscription { onChunk { seq } }")
        error = read(socket)

    assert error["type"] == "error"
    assert error["id"] == "1"
    assert error["payload"]["errors"][0]["message"] == (
        "Validation error of type MissingFieldArgument: Missing field argument streamId @ 'onChunk'"
    )


def test_stop_completes_a_subscription_and_an_unknown_id_is_an_error(running_stack: RunningStack):
    with raw_socket(running_stack) as socket:
        started(socket, running_stack, "s")
        socket.send(json.dumps({"type": "stop", "id": "1"}))
        completed = read(socket)
        socket.send(json.dumps({"type": "stop", "id": "nope"}))
        unknown = read(socket)
        start(socket, running_stack, "2", "s")
        start(socket, running_stack, "2", "s")
        first, duplicate = read(socket), read(socket)

    assert completed == {"type": "complete", "id": "1"}
    assert unknown["type"] == "error"
    assert unknown["id"] == "nope"
    assert first == {"type": "start_ack", "id": "2"}
    assert duplicate["payload"]["errors"][0]["errorType"] == "DuplicatedOperationError"


def test_no_connection_may_hold_more_than_100_subscriptions(running_stack: RunningStack):
    with raw_socket(running_stack) as socket:
        init(socket)
        for n in range(101):
            start(socket, running_stack, str(n), f"s{n}")
        answers = [read(socket) for _ in range(101)]

    assert [a["type"] for a in answers[:100]] == ["start_ack"] * 100
    assert answers[100]["type"] == "error"
    assert answers[100]["id"] == "100"


def test_a_frame_over_240_kb_ends_the_connection(running_stack: RunningStack):
    with raw_socket(running_stack) as socket:
        init(socket)
        socket.send(json.dumps({"type": "start", "id": "1", "payload": {"data": "x" * 250_000}}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                socket.recv(timeout=READ_SECONDS)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_a_message_over_240_kb_is_dropped_and_the_drop_logged(running_stack: RunningStack):
    with raw_socket(running_stack) as socket:
        started(socket, running_stack, "big")
        publish(running_stack, "big", 0, "x" * (241 * 1024))
        publish(running_stack, "big", 1, "small")
        delivered = read(socket)

    assert delivered["payload"]["data"]["onChunk"]["seq"] == 1
    deadline = time.monotonic() + 5
    while "dropped a onChunk message of" not in running_stack.output():
        assert time.monotonic() < deadline, running_stack.output()[-2000:]
        time.sleep(0.1)


def test_a_client_that_disconnects_mid_stream_costs_nothing(running_stack: RunningStack):
    with raw_socket(running_stack) as watcher:
        started(watcher, running_stack, "gone")
        with raw_socket(running_stack) as leaver:
            started(leaver, running_stack, "gone")
            publish(running_stack, "gone", 0, "before")
            leaver.close_socket()  # no close frame: the client just vanishes
        answers = [publish(running_stack, "gone", seq, "after") for seq in range(1, 21)]
        seen = [read(watcher)["payload"]["data"]["onChunk"]["seq"] for _ in range(21)]

    assert all(a["data"]["publishChunk"]["seq"] == n for n, a in enumerate(answers, 1))
    assert seen == list(range(21))

"""AppSync's real-time endpoint: its WebSocket protocol (subprotocol ``graphql-ws``, which is
not the graphql-ws library's protocol).

The connection is authorized by the ``header`` query parameter (base64 JSON of the auth
headers, with ``payload=e30=``) or by a ``header-<base64url>`` subprotocol. A refused
connection gets a ``connection_error`` and is closed. Then, as AppSync:

- ``connection_init`` → ``connection_ack`` with ``connectionTimeoutMs``, and ``ka`` at once and
  every minute after, well within it (``connection_init`` is optional, as AppSync documents);
- ``start`` (its ``data`` a JSON string, authorized again by ``extensions.authorization``; for
  IAM a signature over ``data``) → ``start_ack``, or ``error`` with the start's id;
- ``data`` per event; ``stop`` → ``complete``;
- at most 100 subscriptions per connection; frames over 240 KB end the connection (1009).

Each connection writes through its own queue, so events reach a subscriber in publish order
and a slow or gone client never holds up a mutation.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from local.appsync.errors import (
    NOT_AUTHORIZED,
    UNAUTHORIZED_EXCEPTION,
    AppSyncRequestError,
    FieldError,
)
from local.appsync.execution import GraphQLRequest
from local.appsync.subscriptions import MAX_MESSAGE_BYTES, Subscription
from local.appsync.validation import DocumentError
from local.iam.sigv4 import SignedRequest

if TYPE_CHECKING:
    from local.appsync.auth import Authenticator, Caller
    from local.appsync.execution import Executor
    from local.appsync.subscriptions import SubscriptionHub

__all__ = ["RealtimeEndpoint"]

log = logging.getLogger(__name__)

SUBPROTOCOL = "graphql-ws"
HEADER_SUBPROTOCOL_PREFIX = "header-"
CONNECTION_TIMEOUT_MS = 300_000
KEEP_ALIVE_SECONDS = 60.0
MAX_SUBSCRIPTIONS = 100
MAX_QUEUED_MESSAGES = 10_000
"""A client this far behind is disconnected rather than buffered without bound."""
CONNECTION_ERROR_TYPE = "com.amazonaws.deepdish.graphql.auth#UnauthorizedException"
REFUSED_GRACE_SECONDS = 5.0


class RealtimeEndpoint:
    """Serves AppSync's real-time protocol for one API."""

    def __init__(
        self,
        executor: Executor,
        authenticator: Authenticator,
        hub: SubscriptionHub,
        *,
        keep_alive_seconds: float = KEEP_ALIVE_SECONDS,
        max_subscriptions: int = MAX_SUBSCRIPTIONS,
    ) -> None:
        self._executor = executor
        self._authenticator = authenticator
        self._hub = hub
        self._keep_alive = keep_alive_seconds
        self._max_subscriptions = max_subscriptions

    async def handle(self, request: web.Request) -> web.StreamResponse:
        offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        if SUBPROTOCOL not in offered:
            # AppSync answers the handshake with an error when graphql-ws is not offered.
            return web.json_response(
                {
                    "errors": [
                        {
                            "errorType": "UnsupportedProtocol",
                            "message": f"Subprotocol '{SUBPROTOCOL}' is required.",
                        }
                    ]
                },
                status=400,
            )
        socket = web.WebSocketResponse(
            protocols=(SUBPROTOCOL,), max_msg_size=MAX_MESSAGE_BYTES, autoping=True
        )
        await socket.prepare(request)
        connection = _Connection(socket, request.remote or "127.0.0.1")
        try:
            # The connection's own auth only lets it in: each start is authorized anew, and may
            # use another mode (AppSync allows several on one connection).
            await self._connect_caller(request, offered)
        except (AppSyncRequestError, ValueError) as error:
            await connection.refuse(error)
            return socket
        await self._serve(connection)
        return socket

    async def _connect_caller(self, request: web.Request, offered: list[str]) -> Caller:
        headers = _connect_headers(request.query.get("header"), offered)
        signed = SignedRequest(
            method="POST",
            host=str(headers.get("host", request.host)),
            path="/graphql/connect",
            headers={k: str(v) for k, v in headers.items()},
            body=b"{}",
        )
        return await self._authenticator.authenticate(signed, request.remote or "127.0.0.1")

    async def _serve(self, connection: _Connection) -> None:
        subscriptions: dict[str, Subscription] = {}
        keep_alive: asyncio.Task[None] | None = None
        try:
            async for frame in connection.socket:
                if frame.type != WSMsgType.TEXT:
                    if frame.type == WSMsgType.BINARY:
                        connection.error(
                            None,
                            "UnsupportedOperation",
                            "Binary frames are not supported through the realtime channel",
                        )
                    continue
                message = _message(frame.data)
                if message is None:
                    connection.error(None, "MalformedMessage", "Message is not a JSON object.")
                    continue
                kind = message.get("type")
                if kind == "connection_init":
                    connection.send(
                        {
                            "type": "connection_ack",
                            "payload": {"connectionTimeoutMs": CONNECTION_TIMEOUT_MS},
                        }
                    )
                    if keep_alive is None:
                        keep_alive = asyncio.create_task(self._keep_alive_loop(connection))
                elif kind == "start":
                    await self._start(connection, message, subscriptions)
                elif kind == "stop":
                    self._stop(connection, message, subscriptions)
                else:
                    connection.error(
                        message.get("id"),
                        "UnsupportedOperation",
                        f"{kind} not supported through the realtime channel",
                    )
        finally:
            for subscription in subscriptions.values():
                self._hub.remove(subscription)
            if keep_alive is not None:
                keep_alive.cancel()
            await connection.close()

    async def _start(
        self,
        connection: _Connection,
        message: Mapping[str, Any],
        subscriptions: dict[str, Subscription],
    ) -> None:
        subscription_id = message.get("id")
        if not isinstance(subscription_id, str) or not subscription_id:
            connection.error(None, "MissingIdError", "A start message needs an id.")
            return
        if subscription_id in subscriptions:
            # AppSync's words, as its users report them.
            connection.error(
                subscription_id,
                "DuplicatedOperationError",
                f"Duplicated operation with id {subscription_id}",
            )
            return
        if len(subscriptions) >= self._max_subscriptions:
            # The limit is AppSync's; the error type's name is unconfirmed.
            connection.error(
                subscription_id,
                "MaxSubscriptionsReachedError",
                f"Max number of {self._max_subscriptions} subscriptions reached.",
            )
            return
        payload = message.get("payload")
        data = payload.get("data") if isinstance(payload, Mapping) else None
        try:
            request = _graphql_request(data)
            start_caller = await self._start_caller(connection, payload, data)
            checked = await self._executor.subscribe(request, start_caller)
        except DocumentError as error:
            connection.send(
                {"type": "error", "id": subscription_id, "payload": {"errors": error.errors}}
            )
            return
        except AppSyncRequestError as error:
            connection.error(subscription_id, error.error_type, error.message)
            return
        except FieldError as error:
            connection.error(subscription_id, error.error_type or "Unknown", error.message)
            return
        subscription = Subscription(subscription_id, checked, connection)
        subscriptions[subscription_id] = subscription
        self._hub.add(subscription)
        connection.send({"type": "start_ack", "id": subscription_id})

    async def _start_caller(self, connection: _Connection, payload: Any, data: str) -> Caller:
        extensions = payload.get("extensions") if isinstance(payload, Mapping) else None
        authorization = extensions.get("authorization") if isinstance(extensions, Mapping) else None
        if not isinstance(authorization, Mapping):
            raise AppSyncRequestError(401, UNAUTHORIZED_EXCEPTION, NOT_AUTHORIZED)
        signed = SignedRequest(
            method="POST",
            host=str(authorization.get("host", "")),
            path="/graphql",
            headers={k: str(v) for k, v in authorization.items()},
            body=data.encode(),
        )
        return await self._authenticator.authenticate(signed, connection.remote)

    def _stop(
        self,
        connection: _Connection,
        message: Mapping[str, Any],
        subscriptions: dict[str, Subscription],
    ) -> None:
        subscription_id = message.get("id")
        is_id = isinstance(subscription_id, str)  # any JSON may come: a list is no dict key
        subscription = subscriptions.pop(subscription_id, None) if is_id else None
        if subscription is None:
            connection.error(
                subscription_id,
                "UnknownOperationError",
                f"No subscription with id {subscription_id}.",
            )
            return
        self._hub.remove(subscription)
        connection.send({"type": "complete", "id": subscription_id})

    async def _keep_alive_loop(self, connection: _Connection) -> None:
        while True:
            connection.send({"type": "ka"})
            await asyncio.sleep(self._keep_alive)


class _Connection:
    """One client's socket, written by a single task from a queue (events stay in order)."""

    def __init__(self, socket: web.WebSocketResponse, remote: str) -> None:
        self.socket = socket
        self.remote = remote
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(MAX_QUEUED_MESSAGES)
        self._writer = asyncio.create_task(self._write())
        self._closing: asyncio.Future[bool] | None = None

    def enqueue(self, message: str) -> None:
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            log.warning(
                "a real-time client fell %d messages behind: disconnected", MAX_QUEUED_MESSAGES
            )
            self._writer.cancel()
            self._closing = asyncio.ensure_future(
                self.socket.close(code=1008, message=b"too far behind")
            )

    def send(self, message: Mapping[str, Any]) -> None:
        self.enqueue(json.dumps(message, separators=(",", ":")))

    def error(self, subscription_id: Any, error_type: str, message: str) -> None:
        envelope: dict[str, Any] = {"type": "error"}
        if subscription_id is not None:
            envelope["id"] = subscription_id
        envelope["payload"] = {"errors": [{"errorType": error_type, "message": message}]}
        self.send(envelope)

    async def refuse(self, error: Exception) -> None:
        """AppSync's answer to a connection it does not authorize: connection_error, then close.

        The socket stays open until the client's first message (its ``connection_init``) or a
        few seconds: a client that sends ``connection_init`` before reading must still be able
        to, or it would see a bare close instead of the error.
        """
        message = error.message if isinstance(error, AppSyncRequestError) else NOT_AUTHORIZED
        errors = [{"errorType": CONNECTION_ERROR_TYPE, "message": message, "errorCode": 400}]
        self.send({"type": "connection_error", "payload": {"errors": errors}})
        with contextlib.suppress(TimeoutError):
            await self.socket.receive(timeout=REFUSED_GRACE_SECONDS)
        await self.close()

    async def close(self) -> None:
        await self._queue.put(None)
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        await self.socket.close()

    async def _write(self) -> None:
        while (message := await self._queue.get()) is not None:
            if self.socket.closed:
                continue  # a gone client costs nothing: its messages are discarded
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.socket.send_str(message)


def _connect_headers(header: str | None, offered: list[str]) -> dict[str, Any]:
    """The auth headers of a connection, from ``?header=`` or a ``header-`` subprotocol."""
    encoded = header or next(
        (
            p[len(HEADER_SUBPROTOCOL_PREFIX) :]
            for p in offered
            if p.startswith(HEADER_SUBPROTOCOL_PREFIX)
        ),
        None,
    )
    if not encoded:
        raise ValueError("no auth header")
    try:
        padded = encoded + "=" * (-len(encoded) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_")))
    except (binascii.Error, ValueError, RecursionError):
        raise ValueError("the auth header is not base64 JSON") from None
    if not isinstance(decoded, dict):
        raise ValueError("the auth header is not a JSON object")
    return decoded


def _message(text: str) -> dict[str, Any] | None:
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):  # nested too deep for Python is not JSON either
        return None
    return message if isinstance(message, dict) else None


def _graphql_request(data: Any) -> GraphQLRequest:
    try:
        document = json.loads(data) if isinstance(data, str) else None
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict) or not isinstance(document.get("query"), str):
        raise AppSyncRequestError(
            400,
            "MalformedHttpRequestException",
            "payload.data must be a JSON string of {query, variables}.",
        )
    variables = document.get("variables")
    return GraphQLRequest(document["query"], variables or {}, document.get("operationName"))

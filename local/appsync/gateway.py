"""AppSync's HTTP endpoint for one API: ``POST /graphql``, and the real-time endpoint beside it.

Per request, in AppSync's order: the body must be a GraphQL request (``Request body is
empty.`` / ``Unable to parse GraphQL query.``, 400 ``MalformedHttpRequestException``), the
caller must authenticate (401/403), then the operation runs (a document that does not parse or
validate is 400). Answers carry ``x-amzn-RequestId`` and the CORS headers AppSync sends, so a
page on another origin can call it. ``GET /graphql/realtime`` (and a WebSocket upgrade of
``/graphql``) is the real-time endpoint.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from local.appsync.errors import (
    ERROR_TYPE_HEADER,
    MALFORMED_REQUEST,
    PAYLOAD_TOO_LARGE,
    AppSyncRequestError,
)
from local.appsync.execution import GraphQLRequest
from local.appsync.validation import DocumentError
from local.iam.sigv4 import SignedRequest
from local.request_ids import new_request_id

if TYPE_CHECKING:
    from local.appsync.auth import Authenticator
    from local.appsync.execution import Executor
    from local.appsync.realtime import RealtimeEndpoint

__all__ = ["MAX_REQUEST_BYTES", "create_graphql_app"]

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 1024 * 1024
"""The largest request body served (AppSync's own limit is not documented; unconfirmed)."""
GRAPHQL_PATH = "/graphql"
REALTIME_PATH = "/graphql/realtime"
REQUEST_ID_HEADER = "x-amzn-RequestId"
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "x-amzn-RequestId,x-amzn-ErrorType,x-amz-user-agent",
}
_PREFLIGHT = {
    **_CORS,
    "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
    "Access-Control-Allow-Headers": (
        "content-type,x-api-key,authorization,x-amz-date,x-amz-security-token,"
        "x-amz-user-agent,x-amz-content-sha256"
    ),
    "Access-Control-Max-Age": "86400",
}


def create_graphql_app(
    executor: Executor, authenticator: Authenticator, realtime: RealtimeEndpoint
) -> web.Application:
    """An aiohttp application serving one API's HTTP and real-time endpoints."""
    gateway = _Gateway(executor, authenticator)
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app.add_routes(
        [
            web.post(GRAPHQL_PATH, gateway.handle),
            web.get(GRAPHQL_PATH, realtime.handle),
            web.get(REALTIME_PATH, realtime.handle),
            web.options(GRAPHQL_PATH, _preflight),
            web.options(REALTIME_PATH, _preflight),
        ]
    )
    return app


class _Gateway:
    def __init__(self, executor: Executor, authenticator: Authenticator) -> None:
        self._executor = executor
        self._authenticator = authenticator

    async def handle(self, request: web.Request) -> web.Response:
        request_id = new_request_id()
        try:
            body = await _read_body(request)
            graphql = _graphql_request(body)
            signed = SignedRequest(
                method=request.method,
                host=request.host,
                path=request.rel_url.raw_path,
                query=request.rel_url.raw_query_string,
                headers=request.headers,
                body=body,
            )
            caller = await self._authenticator.authenticate(signed, request.remote or "127.0.0.1")
            answer = await self._executor.execute(graphql, caller)
        except AppSyncRequestError as error:
            return _json(error.body(), error.status, request_id, error.error_type)
        except DocumentError as error:
            return _json({"data": None, "errors": error.errors}, 400, request_id)
        except Exception:
            log.exception("(%s) the local AppSync failed", request_id)
            refused = AppSyncRequestError(500, "InternalFailure", "An internal failure occurred.")
            return _json(refused.body(), 500, request_id, refused.error_type)
        return _json(answer, 200, request_id)


async def _read_body(request: web.Request) -> bytes:
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise AppSyncRequestError(
            413, PAYLOAD_TOO_LARGE, f"Request body is larger than {MAX_REQUEST_BYTES} bytes."
        ) from None
    if not body.strip():
        raise AppSyncRequestError(400, MALFORMED_REQUEST, "Request body is empty.")
    return body


def _graphql_request(body: bytes) -> GraphQLRequest:
    unparsable = AppSyncRequestError(400, MALFORMED_REQUEST, "Unable to parse GraphQL query.")
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # nested too deep for Python is not JSON either
        raise AppSyncRequestError(
            400, MALFORMED_REQUEST, "Invalid JSON payload in POST request."
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("query"), str):
        raise unparsable
    variables = document.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise unparsable
    operation_name = document.get("operationName")
    return GraphQLRequest(
        document["query"], variables, operation_name if isinstance(operation_name, str) else None
    )


def _json(body: Any, status: int, request_id: str, error_type: str | None = None) -> web.Response:
    headers = {**_CORS, REQUEST_ID_HEADER: request_id}
    if error_type:
        headers[ERROR_TYPE_HEADER] = error_type
    return web.Response(
        status=status,
        text=json.dumps(body, separators=(",", ":")),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


async def _preflight(_request: web.Request) -> web.Response:
    return web.Response(status=200, headers=_PREFLIGHT)

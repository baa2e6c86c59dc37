"""The local API Gateway for REST APIs: serves ``/<stage>/<path>`` for the captured routes only.

Per request, in API Gateway's order: route (an undeclared stage, path or method answers 403
``Missing Authentication Token``, as AWS does), method request (``AWS_IAM`` needs a signature,
required parameters, body against the model), integration request (parameter mapping, request
template, ``passthroughBehavior``), the Lambda resource policy, the invocation, then the
integration response (``AWS``) or the proxy result (``AWS_PROXY``). Failures answer with API
Gateway's own gateway responses (``{"message": ...}``) and its execution-log wording.

This module routes, invokes and answers; the stages live beside it: ``method_request`` (signature
and validator), ``integration`` (``AWS``), ``lambda_proxy`` (``AWS_PROXY``), with the
request they share in ``request`` and the failures that stop it in ``failures``.

Local decisions where AWS documents nothing (unconfirmed): a request Lambda refuses for what
the caller sent is the caller's 4xx with Lambda's reason, not a 500: an invocation type other
than ``RequestResponse``/``Event``/``DryRun`` (the caller's ``InvocationType`` header) and a
mapped payload that is not JSON are 400, a payload over Lambda's 6 MB/1 MB limit is 413 (in
the words of API Gateway's execution log, "N byte payload is too large for the
RequestResponse invocation type (limit M bytes)"); a body over API Gateway's 10 MB is its
``REQUEST_TOO_LARGE`` gateway response, 413. An invoker that raises or answers an error status
(a throttle, a missing permission) and a template that fails to render answer 500 ``Internal
server error``; an ``AWS_IAM`` signature is required but not verified; throttling, API keys and
access logs of the stage are not applied.
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import TYPE_CHECKING
from urllib.parse import unquote

from aiohttp import web
from multidict import CIMultiDict

from local.apigateway.failures import (
    GatewayFailure,
    bad_request,
    internal_server_error,
    missing_authentication_token,
    service_unavailable,
)
from local.apigateway.integration import (
    lambda_error_message,
    map_integration_request,
    map_integration_response,
)
from local.apigateway.lambda_proxy import build_proxy_event, parse_proxy_response
from local.apigateway.method_request import check_method_request
from local.apigateway.model import RestModel, rest_model
from local.apigateway.request import EXECUTION_LOG as LOG
from local.apigateway.request import JSON, NOT_FORWARDED_HEADERS, IncomingRequest, RoutedRequest
from local.apigateway.vtl import loads
from local.lambda_.invocation import (
    INVOCATION_TYPES,
    EventQueueUnavailable,
    invalid_invocation_type,
    payload_limit,
)
from local.request_ids import new_extended_request_id, new_request_id

if TYPE_CHECKING:
    from local.apigateway.model import Integration
    from local.cloud.capture import Capture
    from local.lambda_.invocation import InvocationType, Invoker, InvokeResponse

__all__ = ["GatewayFailure", "RestGateway", "create_rest_app"]

REQUEST_ID_HEADER = "x-amzn-RequestId"
APIGW_ID_HEADER = "x-amz-apigw-id"
ERROR_TYPE_HEADER = "x-amzn-ErrorType"
MAX_REQUEST_BYTES = 10 * 1024 * 1024
"""API Gateway's payload limit for REST APIs."""
REQUEST_TOO_LONG = "Request Too Long"
"""The ``REQUEST_TOO_LARGE`` gateway response's message (AWS documents its 413, not its
words: unconfirmed)."""


def create_rest_app(capture: Capture, invoker: Invoker) -> web.Application:
    """An aiohttp application serving every REST API of ``capture`` through ``invoker``."""
    return rest_app(rest_model(capture), invoker)


def rest_app(model: RestModel, invoker: Invoker) -> web.Application:
    """:func:`create_rest_app` from a model built elsewhere (the front process gets it so)."""
    gateway = RestGateway(model, invoker)
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app.router.add_route("*", "/{tail:.*}", gateway.handle)
    return app


class RestGateway:
    """Serves a :class:`RestModel`, invoking Lambda functions through an :class:`Invoker`."""

    def __init__(self, model: RestModel, invoker: Invoker) -> None:
        self._model = model
        self._invoker = invoker
        # The model does not change while it is served: each answer holds for its next asks.
        self._may_invoke = functools.lru_cache(maxsize=4096)(model.may_invoke)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        request_id = new_request_id()
        extended_id = new_extended_request_id()
        try:
            return await self._serve(request, request_id, extended_id)
        except GatewayFailure as failure:
            return _gateway_response(failure, request_id, extended_id)
        except web.HTTPException:  # aiohttp's own answers
            raise
        except Exception:
            LOG.exception("(%s) the local gateway failed", request_id)
            return _gateway_response(internal_server_error(), request_id, extended_id)

    async def _serve(
        self, request: web.Request, request_id: str, extended_id: str
    ) -> web.StreamResponse:
        stage, _, rest = request.rel_url.raw_path.lstrip("/").partition("/")
        api = self._model.api_for_stage(unquote(stage))
        route = api.route(request.method, rest) if api else None
        if api is None or route is None:
            raise missing_authentication_token()
        call = RoutedRequest(
            api=api,
            stage=unquote(stage),
            route=route,
            incoming=await _incoming(request, rest),
            request_id=request_id,
            extended_request_id=extended_id,
        )
        LOG.info(
            "(%s) %s %s → resource %s",
            request_id,
            request.method,
            request.path,
            route.resource.path,
        )
        check_method_request(call)
        integration = route.method.integration
        if integration is None or integration.function_name is None:
            LOG.error(
                "(%s) Execution failed due to configuration error: the method has no Lambda "
                "integration the local gateway can run",
                request_id,
            )
            raise internal_server_error()
        if integration.type == "AWS":
            return await self._aws(call, integration)
        if integration.type == "AWS_PROXY":
            return await self._proxy(call, integration)
        LOG.error("(%s) integration type %s is not served locally", request_id, integration.type)
        raise internal_server_error()

    async def _aws(self, call: RoutedRequest, integration: Integration) -> web.StreamResponse:
        payload, invocation_type = map_integration_request(call, integration)
        response = await self._invoke(call, integration, payload, invocation_type)
        status, headers, body = map_integration_response(call, integration, response)
        return _response(call, status, body, headers)

    async def _proxy(self, call: RoutedRequest, integration: Integration) -> web.StreamResponse:
        payload = json.dumps(build_proxy_event(call)).encode()
        response = await self._invoke(call, integration, payload, "RequestResponse")
        if response.function_error:
            LOG.error(
                "(%s) Lambda execution failed with status 200 due to customer function error: "
                "%s. Lambda request id: %s",
                call.request_id,
                lambda_error_message(response.payload),
                response.request_id,
            )
            raise GatewayFailure(502, "Internal server error")
        try:
            status, headers, body = parse_proxy_response(response.payload)
        except ValueError as error:
            LOG.error(
                "(%s) Execution failed due to configuration error: Malformed Lambda proxy "
                "response (%s)",
                call.request_id,
                error,
            )
            raise GatewayFailure(502, "Internal server error") from None
        return _response(call, status, body, headers)

    async def _invoke(
        self, call: RoutedRequest, integration: Integration, payload: bytes, invocation_type: str
    ) -> InvokeResponse:
        function = integration.function_name
        assert function is not None
        source_arn = call.api.source_arn(call.stage, call.incoming.method, call.incoming.path)
        if integration.credentials is None and not self._may_invoke(
            function, source_arn, call.api.account_id
        ):
            LOG.error(
                "(%s) Execution failed due to configuration error: Invalid permissions on Lambda "
                "function (no permission lets %s invoke %s)",
                call.request_id,
                source_arn,
                function,
            )
            raise internal_server_error()
        refusal = _lambda_refusal(payload, invocation_type)
        if refusal:
            LOG.error("(%s) Lambda invocation failed: %s", call.request_id, refusal.message)
            raise refusal
        try:
            async with asyncio.timeout(integration.timeout_ms / 1000):
                response = await self._invoker.invoke(
                    function, payload, _invocation_type(invocation_type)
                )
        except TimeoutError:
            LOG.error("(%s) Execution failed due to a timeout error", call.request_id)
            raise GatewayFailure(504, "Endpoint request timed out") from None
        except EventQueueUnavailable as unavailable:
            LOG.error("(%s) Lambda invocation refused: %s", call.request_id, unavailable)
            raise service_unavailable(str(unavailable)) from None
        except Exception:
            LOG.exception("(%s) Lambda invocation failed", call.request_id)
            raise internal_server_error() from None
        if response.status >= 300:
            LOG.error(
                "(%s) Lambda invocation failed with status: %s. Lambda request id: %s",
                call.request_id,
                response.status,
                response.request_id,
            )
            raise internal_server_error()
        return response


async def _incoming(request: web.Request, raw_rest: str) -> IncomingRequest:
    server = request.transport.get_extra_info("sockname") if request.transport else None
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise GatewayFailure(413, REQUEST_TOO_LONG) from None
    return IncomingRequest(
        method=request.method,
        path="/" + unquote(raw_rest),
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers],
        query=list(request.query.items()),
        body=body,
        source_ip=request.remote or "",
        host=request.host,
        scheme=request.scheme,
        port=server[1] if isinstance(server, tuple) and len(server) >= 2 else None,
        protocol=f"HTTP/{request.version.major}.{request.version.minor}",
    )


def _lambda_refusal(payload: bytes, invocation_type: str) -> GatewayFailure | None:
    """What Lambda's Invoke API would refuse before running anything, if anything: the
    caller's 4xx, since what the caller sent is the reason."""
    if invocation_type not in INVOCATION_TYPES:
        return bad_request(invalid_invocation_type(invocation_type))
    limit = payload_limit(_invocation_type(invocation_type))
    if len(payload) > limit:
        return GatewayFailure(
            413,
            f"{len(payload)} byte payload is too large for the {invocation_type} invocation "
            f"type (limit {limit} bytes)",
        )
    if payload.strip():
        try:
            loads(payload)
        except ValueError as error:
            return bad_request(f"Could not parse request body into json: {error}")
    return None


def _invocation_type(value: str) -> InvocationType:
    assert value in INVOCATION_TYPES
    return value  # type: ignore[return-value]


def _response(
    call: RoutedRequest, status: int, body: bytes, headers: list[tuple[str, str]]
) -> web.Response:
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in headers:
        if name.lower() not in NOT_FORWARDED_HEADERS:
            out.add(name, value)
    out.setdefault("Content-Type", JSON)
    out[REQUEST_ID_HEADER] = call.request_id
    out[APIGW_ID_HEADER] = call.extended_request_id
    LOG.info("(%s) Method completed with status: %s", call.request_id, status)
    return web.Response(status=status, body=body, headers=out)


def _gateway_response(failure: GatewayFailure, request_id: str, extended_id: str) -> web.Response:
    headers = {"Content-Type": JSON, REQUEST_ID_HEADER: request_id, APIGW_ID_HEADER: extended_id}
    if failure.error_type:
        headers[ERROR_TYPE_HEADER] = failure.error_type
    body = json.dumps({"message": failure.message}, separators=(",", ":"))
    return web.Response(status=failure.status, body=body.encode(), headers=headers)

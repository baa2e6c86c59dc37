"""The local API Gateway for REST APIs: serves ``/<stage>/<path>`` for the captured routes only.

Per request, in API Gateway's order: route (an undeclared stage, path or method answers 403
``Missing Authentication Token``, as AWS does), method request (``AWS_IAM`` needs a signature,
required parameters, body against the model), integration request (parameter mapping, request
template, ``passthroughBehavior``), the Lambda resource policy, the invocation, then the
integration response (``AWS``) or the proxy result (``AWS_PROXY``). Failures answer with API
Gateway's own gateway responses (``{"message": ...}``) and its execution-log wording.

Local decisions where AWS documents nothing: a request Lambda would refuse (an invocation type
other than ``RequestResponse``/``Event``/``DryRun``, a payload that is not JSON or over the
6 MB/1 MB limit), an invoker that raises or answers an error status, and a template that fails
to render all answer 500 ``Internal server error``; an ``AWS_IAM`` signature is required but not
verified; throttling, API keys and access logs of the stage are not applied.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import jsonschema
from aiohttp import web
from multidict import CIMultiDict

from local.rest_model import Method, RequestParameter, RestModel, Route, rest_model
from local.vtl import MappingTemplateError, Overrides, RequestParams, loads, render

if TYPE_CHECKING:
    from local.capture import Capture
    from local.invocation import InvocationType, Invoker, InvokeResponse
    from local.rest_model import Integration, RestApi

__all__ = ["GatewayFailure", "RestGateway", "create_rest_app"]

LOG = logging.getLogger(__name__)

JSON = "application/json"
REQUEST_ID_HEADER = "x-amzn-RequestId"
APIGW_ID_HEADER = "x-amz-apigw-id"
ERROR_TYPE_HEADER = "x-amzn-ErrorType"
INVOCATION_TYPE_HEADER = "X-Amz-Invocation-Type"
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
MAX_PAYLOAD = {"RequestResponse": 6 * 1024 * 1024, "DryRun": 6 * 1024 * 1024, "Event": 1024 * 1024}
MAX_REQUEST_BYTES = 10 * 1024 * 1024
"""API Gateway's payload limit for REST APIs."""
_PROXY_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
_NOT_FORWARDED = {"content-length", "connection", "transfer-encoding"}
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


class GatewayFailure(Exception):
    """An API Gateway gateway response: the request stops here with ``{"message": ...}``."""

    def __init__(self, status: int, message: str, error_type: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type


def _missing_token() -> GatewayFailure:
    return GatewayFailure(
        403, "Missing Authentication Token", "MissingAuthenticationTokenException"
    )


def _internal_error() -> GatewayFailure:
    return GatewayFailure(500, "Internal server error", "InternalServerErrorException")


def _bad_request(message: str) -> GatewayFailure:
    return GatewayFailure(400, message, "BadRequestException")


def create_rest_app(capture: Capture, invoker: Invoker) -> web.Application:
    """An aiohttp application serving every REST API of ``capture`` through ``invoker``."""
    gateway = RestGateway(rest_model(capture), invoker)
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app.router.add_route("*", "/{tail:.*}", gateway.handle)
    return app


@dataclass(frozen=True)
class _Incoming:
    """The HTTP request, as API Gateway hands it on (header names keep the client's case)."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    query: list[tuple[str, str]]
    body: bytes
    source_ip: str
    host: str
    scheme: str
    port: int | None
    protocol: str

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in reversed(self.headers) if k.lower() == lowered), None)

    def single_headers(self) -> dict[str, str]:
        return dict(self.headers)

    def single_query(self) -> dict[str, str]:
        return dict(self.query)

    @property
    def content_type(self) -> str:
        """The media type, lower-cased without parameters; API Gateway assumes JSON if absent."""
        value = self.header("Content-Type")
        return value.split(";")[0].strip().lower() if value else JSON


@dataclass(frozen=True)
class _Call:
    """One request on its way through a route."""

    api: RestApi
    stage: str
    route: Route
    incoming: _Incoming
    request_id: str
    extended_request_id: str
    started: float = field(default_factory=time.time)

    @property
    def stage_variables(self) -> Mapping[str, str]:
        return self.api.stages.get(self.stage, {})

    @property
    def params(self) -> RequestParams:
        return RequestParams(
            path=self.route.path_parameters,
            querystring=self.incoming.single_query(),
            header=self.incoming.single_headers(),
        )

    def context(self) -> dict[str, Any]:
        """``$context`` for templates and ``requestContext`` of a proxy event."""
        incoming = self.incoming
        return {
            "resourceId": self.route.resource.id,
            "resourcePath": self.route.resource.path,
            "httpMethod": incoming.method,
            "extendedRequestId": self.extended_request_id,
            "requestTime": _request_time(self.started),
            "path": f"/{self.stage}{incoming.path}",
            "accountId": self.api.account_id,
            "protocol": incoming.protocol,
            "stage": self.stage,
            "domainPrefix": incoming.host.split(".")[0].split(":")[0],
            "requestTimeEpoch": int(self.started * 1000),
            "requestId": self.request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": incoming.source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": incoming.header("User-Agent"),
                "user": None,
            },
            "domainName": incoming.host,
            "apiId": self.api.id,
        }

    def parameter(self, location: str, name: str) -> str | None:
        if location == "path":
            return self.route.path_parameters.get(name)
        if location == "querystring":
            return self.incoming.single_query().get(name)
        return self.incoming.header(name)


class RestGateway:
    """Serves a :class:`RestModel`, invoking Lambda functions through an :class:`Invoker`."""

    def __init__(self, model: RestModel, invoker: Invoker) -> None:
        self._model = model
        self._invoker = invoker

    async def handle(self, request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        extended_id = base64.b64encode(os.urandom(10)).decode()
        try:
            return await self._serve(request, request_id, extended_id)
        except GatewayFailure as failure:
            return _gateway_response(failure, request_id, extended_id)
        except web.HTTPException:  # aiohttp's own answers, e.g. 413 for a body over 10 MB
            raise
        except Exception:
            LOG.exception("(%s) the local gateway failed", request_id)
            return _gateway_response(_internal_error(), request_id, extended_id)

    async def _serve(
        self, request: web.Request, request_id: str, extended_id: str
    ) -> web.StreamResponse:
        stage, _, rest = request.rel_url.raw_path.lstrip("/").partition("/")
        api = self._model.api_for_stage(unquote(stage))
        route = api.route(request.method, rest) if api else None
        if api is None or route is None:
            raise _missing_token()
        call = _Call(
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
        _authorize(route.method, call.incoming)
        _validate(route.method, call)
        integration = route.method.integration
        if integration is None or integration.function_name is None:
            LOG.error(
                "(%s) Execution failed due to configuration error: the method has no Lambda "
                "integration the local gateway can run",
                request_id,
            )
            raise _internal_error()
        if integration.type == "AWS":
            return await self._aws(call, integration)
        if integration.type == "AWS_PROXY":
            return await self._proxy(call, integration)
        LOG.error("(%s) integration type %s is not served locally", request_id, integration.type)
        raise _internal_error()

    async def _aws(self, call: _Call, integration: Integration) -> web.StreamResponse:
        payload, request_overrides = _integration_payload(call, integration)
        headers = {
            **_mapped_headers(call, integration.request_parameters),
            **request_overrides.request_headers,
        }
        invocation_type = next(
            (v for k, v in headers.items() if k.lower() == INVOCATION_TYPE_HEADER.lower()),
            "RequestResponse",
        )
        response = await self._invoke(call, integration, payload, invocation_type)
        error_message = _error_message(response.payload) if response.function_error else ""
        chosen = integration.response_for(error_message)
        if chosen is None:
            LOG.error(
                "(%s) Execution failed due to configuration error: No match for output mapping "
                "and no default output mapping configured. Endpoint Response Status Code: %s",
                call.request_id,
                response.status,
            )
            raise _internal_error()
        template = _response_template(chosen.templates, call.incoming.header("Accept"))
        body, overrides = response.payload, Overrides()
        if template is not None:
            text, overrides = _render(call, template, response.payload, "response")
            body = text.encode()
        headers_out = [("Content-Type", JSON), *overrides.response_headers.items()]
        return _response(call, overrides.status or chosen.status, body, headers_out)

    async def _proxy(self, call: _Call, integration: Integration) -> web.StreamResponse:
        payload = json.dumps(_proxy_event(call)).encode()
        response = await self._invoke(call, integration, payload, "RequestResponse")
        if response.function_error:
            LOG.error(
                "(%s) Lambda execution failed with status 200 due to customer function error: "
                "%s. Lambda request id: %s",
                call.request_id,
                _error_message(response.payload),
                response.request_id,
            )
            raise GatewayFailure(502, "Internal server error")
        try:
            status, headers, body = _proxy_result(response.payload)
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
        self, call: _Call, integration: Integration, payload: bytes, invocation_type: str
    ) -> InvokeResponse:
        function = integration.function_name
        assert function is not None
        source_arn = call.api.source_arn(call.stage, call.incoming.method, call.incoming.path)
        if integration.credentials is None and not self._model.may_invoke(
            function, source_arn, call.api.account_id
        ):
            LOG.error(
                "(%s) Execution failed due to configuration error: Invalid permissions on Lambda "
                "function (no permission lets %s invoke %s)",
                call.request_id,
                source_arn,
                function,
            )
            raise _internal_error()
        refusal = _lambda_refusal(payload, invocation_type)
        if refusal:
            LOG.error("(%s) Lambda invocation failed: %s", call.request_id, refusal)
            raise _internal_error()
        try:
            response = await asyncio.wait_for(
                self._invoker.invoke(function, payload, _invocation_type(invocation_type)),
                timeout=integration.timeout_ms / 1000,
            )
        except TimeoutError:
            LOG.error("(%s) Execution failed due to a timeout error", call.request_id)
            raise GatewayFailure(504, "Endpoint request timed out") from None
        except Exception:
            LOG.exception("(%s) Lambda invocation failed", call.request_id)
            raise _internal_error() from None
        if response.status >= 300:
            LOG.error(
                "(%s) Lambda invocation failed with status: %s. Lambda request id: %s",
                call.request_id,
                response.status,
                response.request_id,
            )
            raise _internal_error()
        return response


async def _incoming(request: web.Request, raw_rest: str) -> _Incoming:
    server = request.transport.get_extra_info("sockname") if request.transport else None
    return _Incoming(
        method=request.method,
        path="/" + unquote(raw_rest),
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers],
        query=list(request.query.items()),
        body=await request.read(),
        source_ip=request.remote or "",
        host=request.host,
        scheme=request.scheme,
        port=server[1] if isinstance(server, tuple) and len(server) >= 2 else None,
        protocol=f"HTTP/{request.version.major}.{request.version.minor}",
    )


def _authorize(method: Method, incoming: _Incoming) -> None:
    # The signature itself is not verified locally; an unsigned request is refused as on AWS.
    if method.authorization == "AWS_IAM" and not incoming.header("Authorization"):
        raise _missing_token()


def _validate(method: Method, call: _Call) -> None:
    """The method request's validator: required parameters, then the body against its model."""
    if method.validate_parameters:
        missing = [p.name for p in method.parameters if p.required and not _present(p, call)]
        if missing:
            LOG.info("(%s) Request validation failed: missing %s", call.request_id, missing)
            raise _bad_request(f"Missing required request parameters: [{', '.join(missing)}]")
    if not method.validate_body:
        return
    content_type = call.incoming.content_type
    schema = method.request_models.get(content_type) or method.request_models.get("$default")
    if schema is None:  # AWS validates only a content type that has a model
        return
    body = call.incoming.body
    try:
        document = loads(body) if body.strip() else {}
        errors = [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(document)]
    except ValueError as error:
        errors = [f"not JSON: {error}"]
    except jsonschema.SchemaError as error:
        LOG.error("(%s) the request model is not a valid schema: %s", call.request_id, error)
        raise _internal_error() from None
    if errors:
        LOG.info(
            "(%s) Request body does not match model schema for content type %s: %s",
            call.request_id,
            content_type,
            errors,
        )
        raise _bad_request("Invalid request body")


def _present(parameter: RequestParameter, call: _Call) -> bool:
    return bool(call.parameter(parameter.location, parameter.name))


def _integration_payload(call: _Call, integration: Integration) -> tuple[bytes, Overrides]:
    """The integration request body: the request template's output, or the body passed through."""
    content_type = call.incoming.content_type
    template = integration.request_templates.get(content_type)
    if template is None:
        behavior = integration.passthrough_behavior
        if behavior == "NEVER" or (
            behavior == "WHEN_NO_TEMPLATES" and integration.request_templates
        ):
            raise GatewayFailure(415, "Unsupported Media Type")
        return call.incoming.body, Overrides()
    text, overrides = _render(call, template, call.incoming.body, "request")
    return text.encode(), overrides


def _render(call: _Call, template: str, body: bytes, which: str) -> tuple[str, Overrides]:
    try:
        return render(
            template,
            body=body.decode(errors="replace"),
            params=call.params,
            context=call.context(),
            stage_variables=call.stage_variables,
        )
    except MappingTemplateError as error:
        LOG.error(
            "(%s) Execution failed due to configuration error: Unable to transform %s: %s",
            call.request_id,
            which,
            error,
        )
        raise _internal_error() from None


def _mapped_headers(call: _Call, mapping: Mapping[str, str]) -> dict[str, str]:
    """``integration.request.header.X`` from a quoted literal, a method request parameter,
    ``context.X`` or ``stageVariables.X``."""
    headers: dict[str, str] = {}
    prefix = "integration.request.header."
    for target, source in mapping.items():
        if not target.startswith(prefix):
            continue
        value = _mapped_value(call, source)
        if value is not None:
            headers[target[len(prefix) :]] = value
    return headers


def _mapped_value(call: _Call, source: str) -> str | None:
    if len(source) >= 2 and source[0] == source[-1] == "'":
        return source[1:-1]
    parts = source.split(".")
    if len(parts) == 4 and parts[:2] == ["method", "request"]:
        return call.parameter(parts[2], parts[3])
    if len(parts) == 2 and parts[0] == "stageVariables":
        return call.stage_variables.get(parts[1])
    if parts[0] == "context":
        value: Any = call.context()
        for part in parts[1:]:
            value = value.get(part) if isinstance(value, dict) else None
        return None if value is None else str(value)
    LOG.warning(
        "(%s) request parameter source %r is not supported locally", call.request_id, source
    )
    return None


def _lambda_refusal(payload: bytes, invocation_type: str) -> str | None:
    """What Lambda's Invoke API would refuse before running anything, if anything."""
    if invocation_type not in INVOCATION_TYPES:
        return f"InvalidParameterValueException: invalid invocation type {invocation_type!r}"
    if len(payload) > MAX_PAYLOAD[invocation_type]:
        return f"RequestEntityTooLargeException: {len(payload)} bytes for {invocation_type}"
    if payload.strip():
        try:
            loads(payload)
        except ValueError as error:
            return (
                f"InvalidRequestContentException: Could not parse request body into json: {error}"
            )
    return None


def _invocation_type(value: str) -> InvocationType:
    assert value in INVOCATION_TYPES
    return value  # type: ignore[return-value]


def _error_message(payload: bytes) -> str:
    """The ``errorMessage`` of a Lambda error document (what selection patterns see)."""
    try:
        document = json.loads(payload)
    except ValueError:
        return ""
    message = document.get("errorMessage") if isinstance(document, dict) else None
    return message if isinstance(message, str) else ""


def _response_template(templates: Mapping[str, str], accept: str | None) -> str | None:
    """The template for the client's ``Accept`` type, else JSON's, else the first one."""
    if not templates:
        return None
    wanted = accept.split(",")[0].split(";")[0].strip().lower() if accept else JSON
    return templates.get(wanted) or templates.get(JSON) or next(iter(templates.values()))


def _proxy_event(call: _Call) -> dict[str, Any]:
    """The Lambda proxy integration's input, payload format 1.0."""
    incoming = call.incoming
    headers = [(k, v) for k, v in incoming.headers if k.lower() not in _NOT_FORWARDED]
    headers += [("X-Forwarded-For", incoming.source_ip), ("X-Forwarded-Proto", incoming.scheme)]
    if incoming.port is not None:
        headers.append(("X-Forwarded-Port", str(incoming.port)))
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in incoming.query:
        multi_query.setdefault(name, []).append(value)
    body, is_base64 = _event_body(incoming.body)
    return {
        "resource": call.route.resource.path,
        "path": incoming.path,
        "httpMethod": incoming.method,
        "headers": dict(headers) or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": incoming.single_query() or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": call.route.path_parameters or None,
        "stageVariables": dict(call.stage_variables) or None,
        "requestContext": call.context(),
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _event_body(body: bytes) -> tuple[str | None, bool]:
    if not body:
        return None, False
    try:
        return body.decode(), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode(), True


def _proxy_result(payload: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) from a proxy function's result; ``ValueError`` if malformed.

    Every field is optional (status 200, no body); any other field, a non-numeric status,
    a non-string body, or a ``multiValueHeaders`` value that is not a list is malformed.
    """
    document = json.loads(payload) if payload.strip() else {}
    if not isinstance(document, dict):
        raise ValueError(f"the result is a {type(document).__name__}, not an object")
    if extra := set(document) - _PROXY_KEYS:
        raise ValueError(f"unexpected fields {sorted(extra)}")
    status = document.get("statusCode")
    if status is None:
        status = 200
    if isinstance(status, bool) or not str(status).strip().isdigit():
        raise ValueError(f"statusCode {status!r} is not a number")
    status = int(str(status).strip())
    if not 100 <= status <= 599:
        raise ValueError(f"statusCode {status} is out of range")
    single = document.get("headers") or {}
    multi = document.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise ValueError("headers and multiValueHeaders must be objects")
    if any(not isinstance(values, list) for values in multi.values()):
        raise ValueError("multiValueHeaders values must be lists")
    overridden = {name.lower() for name in multi}
    headers = [(k, _header_text(v)) for k, v in single.items() if k.lower() not in overridden]
    headers += [(k, _header_text(v)) for k, values in multi.items() for v in values]
    body = document.get("body")
    if body is not None and not isinstance(body, str):
        raise ValueError("body must be a string")
    data = (body or "").encode()
    if document.get("isBase64Encoded"):
        try:
            data = base64.b64decode(data, validate=True)
        except binascii.Error as error:
            raise ValueError(f"body is not base64: {error}") from None
    return status, headers, data


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError(f"header value {value!r} is not a string")


def _response(
    call: _Call, status: int, body: bytes, headers: list[tuple[str, str]]
) -> web.Response:
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in headers:
        if name.lower() not in _NOT_FORWARDED:
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


def _request_time(epoch: float) -> str:
    """``09/Apr/2015:12:34:56 +0000``, the format of ``$context.requestTime``."""
    t = time.gmtime(epoch)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{time.strftime('%H:%M:%S', t)} +0000"
    )

"""The Lambda custom integration (``AWS``): the integration request and response mappings.

Request: the request template for the body's content type renders the payload, or
``passthroughBehavior`` decides whether the body passes through untouched (else 415);
``integration.request.header.*`` parameter mapping and the template's ``requestOverride`` set
headers, of which ``X-Amz-Invocation-Type`` picks the invocation type. Response: the function's
``errorMessage`` picks the integration response by selection pattern, whose template for the
client's ``Accept`` type renders the body, with ``responseOverride`` status and headers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from local.apigateway.failures import GatewayFailure, internal_server_error
from local.apigateway.request import EXECUTION_LOG as LOG
from local.apigateway.request import JSON
from local.apigateway.vtl import MappingTemplateError, Overrides, render

if TYPE_CHECKING:
    from local.apigateway.model import Integration
    from local.apigateway.request import RoutedRequest
    from local.lambda_.invocation import InvokeResponse

__all__ = ["lambda_error_message", "map_integration_request", "map_integration_response"]

INVOCATION_TYPE_HEADER = "X-Amz-Invocation-Type"
_HEADER_TARGET = "integration.request.header."


def map_integration_request(call: RoutedRequest, integration: Integration) -> tuple[bytes, str]:
    """The payload for the function, and the invocation type the mapped headers ask for."""
    payload, overrides = _integration_payload(call, integration)
    headers = {
        **_mapped_headers(call, integration.request_parameters),
        **overrides.request_headers,
    }
    invocation_type = next(
        (v for k, v in headers.items() if k.lower() == INVOCATION_TYPE_HEADER.lower()),
        "RequestResponse",
    )
    return payload, invocation_type


def map_integration_response(
    call: RoutedRequest, integration: Integration, response: InvokeResponse
) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) of the method response for what the function answered."""
    error_message = lambda_error_message(response.payload) if response.function_error else ""
    chosen = integration.response_for(error_message)
    if chosen is None:
        LOG.error(
            "(%s) Execution failed due to configuration error: No match for output mapping "
            "and no default output mapping configured. Endpoint Response Status Code: %s",
            call.request_id,
            response.status,
        )
        raise internal_server_error()
    template = _response_template(chosen.templates, call.incoming.header("Accept"))
    body, overrides = response.payload, Overrides()
    if template is not None:
        text, overrides = _render(call, template, response.payload, "response")
        body = text.encode()
    headers = [("Content-Type", JSON), *overrides.response_headers.items()]
    return overrides.status or chosen.status, headers, body


def lambda_error_message(payload: bytes) -> str:
    """The ``errorMessage`` of a Lambda error document (what selection patterns see)."""
    try:
        document = json.loads(payload)
    except ValueError:
        return ""
    message = document.get("errorMessage") if isinstance(document, dict) else None
    return message if isinstance(message, str) else ""


def _integration_payload(call: RoutedRequest, integration: Integration) -> tuple[bytes, Overrides]:
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


def _render(call: RoutedRequest, template: str, body: bytes, which: str) -> tuple[str, Overrides]:
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
        raise internal_server_error() from None


def _mapped_headers(call: RoutedRequest, mapping: Mapping[str, str]) -> dict[str, str]:
    """``integration.request.header.X`` from a quoted literal, a method request parameter,
    ``context.X`` or ``stageVariables.X``."""
    headers: dict[str, str] = {}
    for target, source in mapping.items():
        if not target.startswith(_HEADER_TARGET):
            continue
        value = _mapped_value(call, source)
        if value is not None:
            headers[target[len(_HEADER_TARGET) :]] = value
    return headers


def _mapped_value(call: RoutedRequest, source: str) -> str | None:
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


def _response_template(templates: Mapping[str, str], accept: str | None) -> str | None:
    """The template for the client's ``Accept`` type, else JSON's, else the first one."""
    if not templates:
        return None
    wanted = accept.split(",")[0].split(";")[0].strip().lower() if accept else JSON
    return templates.get(wanted) or templates.get(JSON) or next(iter(templates.values()))

"""The Lambda proxy integration (``AWS_PROXY``), payload format 1.0: request in, response out.

:func:`build_proxy_event` turns a routed request into the event the function receives;
:func:`parse_proxy_response` turns the function's result into the status, headers and body the
client gets, or raises ``ValueError`` for a result API Gateway calls malformed (a 502).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from local.apigateway.request import NOT_FORWARDED_HEADERS

if TYPE_CHECKING:
    from local.apigateway.request import RoutedRequest

__all__ = ["build_proxy_event", "parse_proxy_response"]

_PROXY_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}


def build_proxy_event(call: RoutedRequest) -> dict[str, Any]:
    """The Lambda proxy integration's input, payload format 1.0."""
    incoming = call.incoming
    headers = [(k, v) for k, v in incoming.headers if k.lower() not in NOT_FORWARDED_HEADERS]
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


def parse_proxy_response(payload: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
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


def _event_body(body: bytes) -> tuple[str | None, bool]:
    if not body:
        return None, False
    try:
        return body.decode(), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode(), True


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError(f"header value {value!r} is not a string")

"""The Invoke API's wire format: which function a request names, what it sends, AWS's errors.

Shared by the Lambda service and its front process (:mod:`local.front.server`), which answer
the same requests: a bad request gets the same answer from either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from local.iam.sigv4 import signing_key
from local.lambda_.invocation import (
    INVOCATION_TYPES,
    InvocationType,
    InvokeResponse,
    invalid_invocation_type,
    payload_limit,
)
from local.lambda_.names import LATEST, InvalidFunctionReference, parse_function_name

__all__ = [
    "INVOCATION_TYPE_HEADER",
    "INVOKE_PATH",
    "FunctionDirectory",
    "InvokeRequest",
    "UnknownFunction",
    "aws_error",
    "invoke_response",
    "queue_unavailable",
    "read_invoke_request",
    "signed_with",
]

INVOKE_PATH = "/2015-03-31/functions/{name}/invocations"
INVOCATION_TYPE_HEADER = "X-Amz-Invocation-Type"
VALIDATION_EXCEPTION = "ValidationException"
_DEFAULT_ARN_PREFIX = "arn:aws:lambda:us-east-1:000000000000:function:"


class UnknownFunction(KeyError):
    """No function of that name or ARN is declared."""


class FunctionDirectory:
    """The stack's functions by name, found from any of the names the Invoke API takes."""

    def __init__(self, arns: Mapping[str, str]) -> None:
        """``arns``: each function's ARN by its name."""
        self._arns = dict(arns)
        any_arn = next(iter(self._arns.values()), _DEFAULT_ARN_PREFIX)
        self._region, self._account = any_arn.split(":")[3:5]

    def resolve(self, name_or_arn: str, qualifier: str | None = None) -> str:
        """The name of a function given by name, partial or full ARN, at ``$LATEST`` (its
        only version).

        Raises :class:`UnknownFunction` (AWS's 404, its message naming the function's full
        ARN) and :class:`~local.lambda_.names.InvalidFunctionReference` (a 400).
        """
        ref = parse_function_name(name_or_arn, qualifier)
        arn = self._arns.get(ref.name)
        region, account = arn.split(":")[3:5] if arn else (self._region, self._account)
        if (
            arn is None
            or ref.region not in (None, region)
            or ref.account not in (None, account)
            or ref.qualifier not in (None, LATEST)
        ):
            named = f"arn:aws:lambda:{ref.region or region}:{ref.account or account}:function:"
            named += ref.name + (f":{ref.qualifier}" if ref.qualifier else "")
            raise UnknownFunction(f"Function not found: {named}")
        return ref.name


@dataclass(frozen=True)
class InvokeRequest:
    """A valid Invoke request."""

    function_name: str
    invocation_type: InvocationType
    payload: bytes


async def read_invoke_request(
    request: web.Request, functions: FunctionDirectory
) -> InvokeRequest | web.Response:
    """The request, or the error AWS answers it with: a bad invocation type, function name or
    qualifier, an unknown function, a payload over its type's limit or not JSON."""
    invocation_type = request.headers.get(INVOCATION_TYPE_HEADER, "RequestResponse")
    if invocation_type not in INVOCATION_TYPES:
        return aws_error(400, VALIDATION_EXCEPTION, invalid_invocation_type(invocation_type))
    try:
        name = functions.resolve(request.match_info["name"], request.query.get("Qualifier"))
    except InvalidFunctionReference as invalid:
        return aws_error(400, invalid.error_type, str(invalid))
    except UnknownFunction as missing:
        return aws_error(404, "ResourceNotFoundException", missing.args[0])
    limit = payload_limit(invocation_type)
    try:
        payload = await request.read() or b"{}"
    except web.HTTPRequestEntityTooLarge:
        payload = None
    if payload is None or len(payload) > limit:
        return aws_error(
            413,
            "RequestEntityTooLargeException",
            f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
        )
    try:
        json.loads(payload)
    except (ValueError, RecursionError):  # nested too deep for Python is not JSON either
        return aws_error(
            400, "InvalidRequestContentException", "Could not parse request body into json"
        )
    return InvokeRequest(name, invocation_type, payload)


def signed_with(request: web.Request, access_keys: frozenset[str]) -> bool:
    """Whether ``request`` is signed (SigV4) with one of ``access_keys``: the functions' own
    keys mark a call made by a running function."""
    return signing_key(request.headers.get("Authorization")) in access_keys


def aws_error(
    status: int, error_type: str, message: str, *, message_key: str = "message", **extra: str
) -> web.Response:
    """An AWS JSON error (``ServiceException`` spells its key ``Message``)."""
    fault = "User" if status < 500 else "Service"
    return web.json_response(
        {**extra, "Type": fault, message_key: message},
        status=status,
        headers={"x-amzn-ErrorType": error_type},
    )


def invoke_response(answer: InvokeResponse) -> web.Response:
    """The Invoke API's answer to a call that went through."""
    headers = {"x-amzn-RequestId": answer.request_id, "X-Amz-Executed-Version": "$LATEST"}
    if answer.function_error:
        headers["X-Amz-Function-Error"] = answer.function_error
    return web.Response(
        status=answer.status, body=answer.payload, headers=headers, content_type="application/json"
    )


def queue_unavailable(reason: str) -> web.Response:
    """An Event the local queue cannot take: a local condition (AWS's queue does not go down),
    so it is refused rather than acknowledged."""
    return aws_error(503, "ServiceException", reason, message_key="Message")

"""AppSync's error types and the two shapes errors take in its answers.

A request AppSync refuses before running any GraphQL (no or bad credentials, a body that is not
a GraphQL request) is answered ``{"errors": [{"errorType", "message"}]}`` with an HTTP error
status and the ``x-amzn-ErrorType`` header. An error while running the operation is a GraphQL
error, ``{"path", "data", "errorType", "errorInfo", "locations", "message"}``, beside ``data``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "ERROR_TYPE_HEADER",
    "EXECUTION_TIMEOUT",
    "MALFORMED_REQUEST",
    "NOT_AUTHORIZED",
    "UNAUTHORIZED",
    "UNAUTHORIZED_EXCEPTION",
    "AppSyncRequestError",
    "FieldError",
    "graphql_error",
]

ERROR_TYPE_HEADER = "x-amzn-ErrorType"

UNAUTHORIZED_EXCEPTION = "UnauthorizedException"
NOT_AUTHORIZED = "You are not authorized to make this call."
MISSING_AUTHORIZATION = "Missing authorization header"
MALFORMED_REQUEST = "MalformedHttpRequestException"
BAD_REQUEST = "BadRequestException"
UNRECOGNIZED_CLIENT = "UnrecognizedClientException"
INVALID_SIGNATURE = "InvalidSignatureException"
PAYLOAD_TOO_LARGE = "PayloadTooLargeException"
UNAUTHORIZED = "Unauthorized"
"""The GraphQL error of a field the caller's auth mode may not use."""
EXECUTION_TIMEOUT = "ExecutionTimeout"
LAMBDA_UNHANDLED = "Lambda:Unhandled"
OPERATION_NOT_SUPPORTED = "OperationNotSupported"


class AppSyncRequestError(Exception):
    """A request refused before any GraphQL runs: an HTTP status and AppSync's error body."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.status = status
        self.error_type = error_type
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"errors": [{"errorType": self.error_type, "message": self.message}]}


class FieldError(Exception):
    """A field's resolver failed: the field is null and the answer carries this error."""

    def __init__(
        self,
        message: str,
        error_type: str | None = None,
        data: Any = None,
        error_info: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type
        self.data = data
        self.error_info = error_info


def unauthorized_field(field_name: str, type_name: str) -> FieldError:
    return FieldError(f"Not Authorized to access {field_name} on type {type_name}", UNAUTHORIZED)


def graphql_error(
    message: str,
    *,
    error_type: str | None = None,
    path: Sequence[str | int] | None = None,
    locations: Sequence[tuple[int, int]] | None = None,
    data: Any = None,
    error_info: Any = None,
) -> dict[str, Any]:
    """One entry of ``errors`` in AppSync's field order and with its ``sourceName: null``."""
    return {
        "path": list(path) if path is not None else None,
        "data": data,
        "errorType": error_type,
        "errorInfo": error_info,
        "locations": (
            [{"line": line, "column": column, "sourceName": None} for line, column in locations]
            if locations
            else None
        ),
        "message": message,
    }

"""API Gateway's gateway responses: the failures that stop a request with ``{"message": ...}``.

Any stage of the local REST gateway raises :class:`GatewayFailure`; the gateway turns it into the
HTTP answer. The helpers build the ones raised from more than one place, with AWS's wording.
"""

from __future__ import annotations

__all__ = [
    "GatewayFailure",
    "bad_request",
    "internal_server_error",
    "missing_authentication_token",
    "service_unavailable",
]


class GatewayFailure(Exception):
    """An API Gateway gateway response: the request stops here with ``{"message": ...}``."""

    def __init__(self, status: int, message: str, error_type: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type


def missing_authentication_token() -> GatewayFailure:
    """403, what AWS answers for an undeclared route and for an unsigned ``AWS_IAM`` request."""
    return GatewayFailure(
        403, "Missing Authentication Token", "MissingAuthenticationTokenException"
    )


def internal_server_error() -> GatewayFailure:
    return GatewayFailure(500, "Internal server error", "InternalServerErrorException")


def service_unavailable(reason: str) -> GatewayFailure:
    """503 when the local async engine refuses an ``Event`` invocation (a local condition,
    so the message gives the local reason rather than AWS's generic wording)."""
    return GatewayFailure(503, f"Service Unavailable: {reason}", "ServiceUnavailableException")


def bad_request(message: str) -> GatewayFailure:
    return GatewayFailure(400, message, "BadRequestException")

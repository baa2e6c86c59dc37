"""Bedrock runtime's errors, as the stand-in answers them.

Before the stream an error is an HTTP status, an ``x-amzn-ErrorType`` header with the
PascalCase name and a JSON ``{"message"}`` body; botocore raises a ``ClientError`` with that
code. Inside a ConverseStream it is an exception frame whose ``:exception-type`` is the
stream member's camelCase name; botocore raises ``EventStreamError`` with it.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "STREAM_ERROR_MEMBERS",
    "AccessDeniedException",
    "BedrockError",
    "IncompleteSignature",
    "InternalServerException",
    "MissingAuthorization",
    "ModelStreamErrorException",
    "ServiceUnavailableException",
    "ThrottlingException",
    "UnknownOperationException",
    "ValidationException",
    "stream_error",
]


class BedrockError(Exception):
    """An error Bedrock answers; subclasses name it and give its HTTP status."""

    status: ClassVar[int]
    error_type: ClassVar[str]
    """The PascalCase name in ``x-amzn-ErrorType`` (the operation's error shape)."""
    message_key: ClassVar[str] = "message"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @classmethod
    def stream_member(cls) -> str:
        """The camelCase member of the ConverseStream output union carrying this error."""
        return cls.error_type[0].lower() + cls.error_type[1:]

    def body(self) -> dict[str, str]:
        return {self.message_key: self.message}


class ValidationException(BedrockError):
    status = 400
    error_type = "ValidationException"


class AccessDeniedException(BedrockError):
    status = 403
    error_type = "AccessDeniedException"


class MissingAuthorization(AccessDeniedException):
    """What Bedrock answers a request with no ``Authorization`` header.

    Observed on bedrock-runtime: 403, ``x-amzn-ErrorType: AccessDeniedException:<coral
    namespace URL>`` and ``{"Message": "Authorization header is missing"}`` (capital M); the
    namespace suffix is left out here, botocore keeps only what precedes the colon.
    """

    message_key = "Message"

    def __init__(self) -> None:
        super().__init__("Authorization header is missing")


class IncompleteSignature(BedrockError):
    """An ``Authorization`` header that is neither SigV4 nor a Bedrock API key (bearer).

    The name and status are the Bedrock troubleshooting guide's; the exact message for a
    malformed header is unconfirmed.
    """

    status = 400
    error_type = "IncompleteSignature"

    def __init__(self) -> None:
        super().__init__("The request signature does not conform to AWS standards.")


class ThrottlingException(BedrockError):
    status = 429
    error_type = "ThrottlingException"
    DEFAULT_MESSAGE = "Too many requests, please wait before trying again."


class ModelStreamErrorException(BedrockError):
    """A model failure: ``modelStreamErrorException`` in a stream, ModelErrorException in
    Converse (both 424)."""

    status = 424
    error_type = "ModelErrorException"

    @classmethod
    def stream_member(cls) -> str:
        return "modelStreamErrorException"


class InternalServerException(BedrockError):
    status = 500
    error_type = "InternalServerException"


class ServiceUnavailableException(BedrockError):
    status = 503
    error_type = "ServiceUnavailableException"


class UnknownOperationException(BedrockError):
    """A path the stand-in does not serve (InvokeModel, ApplyGuardrail, ...)."""

    status = 404
    error_type = "UnknownOperationException"


_STREAM_ERRORS: dict[str, type[BedrockError]] = {
    error.stream_member(): error
    for error in (
        ModelStreamErrorException,
        InternalServerException,
        ValidationException,
        ThrottlingException,
        ServiceUnavailableException,
    )
}
STREAM_ERROR_MEMBERS = tuple(_STREAM_ERRORS)
"""The exception members of ConverseStream's output union, as botocore's model lists them."""


def stream_error(member: str) -> type[BedrockError]:
    """The error class behind a stream exception member, e.g. ``throttlingException``."""
    try:
        return _STREAM_ERRORS[member]
    except KeyError:
        raise ValueError(
            f"unknown stream exception {member!r}; one of: {', '.join(STREAM_ERROR_MEMBERS)}"
        ) from None

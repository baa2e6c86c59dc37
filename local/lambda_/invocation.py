"""The shapes passed between the local Lambda service, the async engine and the gateways."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = [
    "MAX_ASYNC_PAYLOAD_BYTES",
    "MAX_RESPONSE_BYTES",
    "MAX_SYNC_PAYLOAD_BYTES",
    "Executor",
    "InvocationResult",
    "InvocationType",
    "InvokeResponse",
    "Invoker",
    "Throttled",
]

InvocationType = Literal["RequestResponse", "Event", "DryRun"]

MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD_BYTES = 1_048_576
"""The Invoke API's payload limits: 6 MB synchronous, 1 MB asynchronous (``Event``)."""
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100
"""A function's largest result: AWS answers ``Function.ResponseSizeTooLarge`` above 6,291,556
bytes (the figure its error message and its runtime emulator's ``MaxPayloadSize`` give)."""


class Throttled(Exception):
    """No execution environment may start: the function's concurrency is used up."""


@dataclass(frozen=True)
class InvocationResult:
    """What one run of a function gave back."""

    request_id: str
    payload: bytes
    """The JSON result, or the error document ``{errorMessage, errorType, stackTrace}``."""
    function_error: str | None = None
    """``Unhandled`` when the function failed (an exception, a timeout, a crash)."""

    @property
    def succeeded(self) -> bool:
        return self.function_error is None


@dataclass(frozen=True)
class InvokeResponse:
    """The Invoke API's answer: 200 (RequestResponse), 202 (Event) or 204 (DryRun)."""

    status: int
    payload: bytes
    request_id: str
    function_error: str | None = None


class Executor(Protocol):
    """Runs a function once, now, and waits for its result (what the async engine needs)."""

    async def execute(
        self, function_name: str, payload: bytes, request_id: str
    ) -> InvocationResult:
        """Raises :class:`Throttled` when no execution environment is free."""
        ...


class Invoker(Protocol):
    """The Invoke API as the gateways call it, in process."""

    async def invoke(
        self,
        function_name: str,
        payload: bytes,
        invocation_type: InvocationType = "RequestResponse",
    ) -> InvokeResponse: ...

"""The shapes passed between the local Lambda service, the async engine and the gateways."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = [
    "MAX_ASYNC_PAYLOAD_BYTES",
    "MAX_SYNC_PAYLOAD_BYTES",
    "EventQueueUnavailable",
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


class Throttled(Exception):
    """No execution environment may start: the function's concurrency is used up."""


class EventQueueUnavailable(RuntimeError):
    """The async engine cannot take an ``Event`` invocation now; the message says why.

    Nothing was queued: the edges answer 503 with the reason instead of acknowledging an
    event that would not be run (a local condition: AWS's queue does not go down)."""


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

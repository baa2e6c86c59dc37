"""The shapes passed between the local Lambda service, the async engine and the gateways."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "ACCOUNT_LIMIT_EXCEEDED",
    "INVOCATION_TYPES",
    "MAX_ASYNC_PAYLOAD_BYTES",
    "MAX_RESPONSE_BYTES",
    "MAX_SYNC_PAYLOAD_BYTES",
    "RESERVED_LIMIT_EXCEEDED",
    "EnvironmentUnavailable",
    "EventCapacity",
    "EventQueueUnavailable",
    "Executor",
    "InvocationResult",
    "InvocationType",
    "InvokeResponse",
    "Invoker",
    "Throttled",
    "invalid_invocation_type",
    "payload_limit",
]

InvocationType = Literal["RequestResponse", "Event", "DryRun"]
INVOCATION_TYPES: tuple[InvocationType, ...] = ("Event", "RequestResponse", "DryRun")
"""The Invoke API's ``InvocationType`` enum, in botocore's order."""

MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD_BYTES = 1_048_576
"""The Invoke API's payload limits: 6 MB synchronous, 1 MB asynchronous (``Event``)."""
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100
"""A function's largest result: AWS answers ``Function.ResponseSizeTooLarge`` above 6,291,556
bytes (the figure its error message and its runtime emulator's ``MaxPayloadSize`` give)."""


def payload_limit(invocation_type: InvocationType) -> int:
    """The largest payload the Invoke API takes for ``invocation_type``."""
    return MAX_ASYNC_PAYLOAD_BYTES if invocation_type == "Event" else MAX_SYNC_PAYLOAD_BYTES


def invalid_invocation_type(value: str) -> str:
    """The Invoke API's refusal of an ``InvocationType`` outside its enum, in AWS's wording of
    an enum constraint (that Invoke words this one so is unconfirmed)."""
    return (
        f"1 validation error detected: Value '{value}' at 'invocationType' failed to satisfy "
        f"constraint: Member must satisfy enum value set: [{', '.join(INVOCATION_TYPES)}]"
    )


ACCOUNT_LIMIT_EXCEEDED = "ConcurrentInvocationLimitExceeded"
RESERVED_LIMIT_EXCEEDED = "ReservedFunctionConcurrentInvocationLimitExceeded"
"""The ``Reason`` of a 429 ``TooManyRequestsException``: the account's unreserved pool, or the
function's reserved concurrency, is used up."""


class Throttled(Exception):
    """A concurrency limit AWS enforces is used up: the Invoke API's 429 (TooManyRequests)."""

    def __init__(self, message: str, reason: str = ACCOUNT_LIMIT_EXCEEDED) -> None:
        super().__init__(message)
        self.reason = reason


class EnvironmentUnavailable(Exception):
    """No local execution environment became free within the function's timeout.

    A limit of this machine (``--max-environments``), not of AWS: the Invoke API answers it as
    Lambda's 500 ``ServiceException``, never as a throttle.
    """


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
        """Waits for an execution environment; raises :class:`Throttled` only where AWS would
        (reserved concurrency or the account's pool used up)."""
        ...


@runtime_checkable
class EventCapacity(Protocol):
    """An executor that says how many events it runs at once, so that the engine claims no more
    from its queue than can run (Lambda's pollers scale to the concurrency available)."""

    @property
    def max_running_events(self) -> int: ...


class Invoker(Protocol):
    """The Invoke API as the gateways call it, in process."""

    async def invoke(
        self,
        function_name: str,
        payload: bytes,
        invocation_type: InvocationType = "RequestResponse",
    ) -> InvokeResponse: ...

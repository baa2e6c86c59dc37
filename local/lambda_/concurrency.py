"""AWS's concurrency rules: one account pool, reserved concurrency carved out of it.

Concurrency is counted as AWS counts it: invocations in flight (from the moment the Lambda
service takes one until its result is in), whatever the number of local processes.

- A function with reserved concurrency ``R`` runs at most ``R`` invocations at once; one more
  is throttled with ``ReservedFunctionConcurrentInvocationLimitExceeded``.
- Every other function draws from the unreserved pool: the account's concurrency minus all
  reservations. When that pool is used up, one more is throttled with
  ``ConcurrentInvocationLimitExceeded``.
- AWS refuses reservations that leave the unreserved pool below 100 (below the account
  limit itself on accounts under 100: "decreases account's UnreservedConcurrentExecution below
  its minimum value of [10]" is what an account of 10 answers); ``ackflow up`` refuses such a
  stack the same way, as ``pulumi up`` would fail on ``PutFunctionConcurrency``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from local.cloud.functions import LocalFunction
from local.lambda_.invocation import (
    ACCOUNT_LIMIT_EXCEEDED,
    RESERVED_LIMIT_EXCEEDED,
    Throttled,
)

__all__ = [
    "DEFAULT_ACCOUNT_CONCURRENCY",
    "MIN_UNRESERVED_CONCURRENCY",
    "ConcurrencyLimits",
    "InvalidReservedConcurrency",
]

DEFAULT_ACCOUNT_CONCURRENCY = 1000
"""AWS's default concurrent executions per account and region."""
MIN_UNRESERVED_CONCURRENCY = 100
"""What AWS keeps unreserved for the functions that reserve nothing."""


class InvalidReservedConcurrency(ValueError):
    """The stack reserves more than the account may: AWS's InvalidParameterValueException."""


class ConcurrencyLimits:
    """Admits an invocation of a function, or throttles it as AWS would."""

    def __init__(self, functions: Mapping[str, LocalFunction], account_limit: int) -> None:
        if account_limit < 1:
            raise ValueError(f"account concurrency must be at least 1, got {account_limit}")
        self._reserved = {
            name: f.reserved_concurrency
            for name, f in functions.items()
            if f.reserved_concurrency is not None
        }
        minimum = min(MIN_UNRESERVED_CONCURRENCY, account_limit)
        self.unreserved_limit = account_limit - sum(self._reserved.values())
        if self._reserved and self.unreserved_limit < minimum:
            raise InvalidReservedConcurrency(
                f"the stack reserves {sum(self._reserved.values())} of the account's "
                f"{account_limit} concurrent executions ({_listing(self._reserved)}): "
                "Specified ReservedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{minimum}]."
            )
        self._in_flight: Counter[str] = Counter()
        self._unreserved_in_flight = 0

    def admit(self, function_name: str) -> None:
        """Count one more invocation in flight, or raise :class:`Throttled`."""
        reserved = self._reserved.get(function_name)
        if reserved is not None:
            if self._in_flight[function_name] >= reserved:
                raise Throttled(
                    f"{function_name}: reserved concurrency {reserved} in use",
                    RESERVED_LIMIT_EXCEEDED,
                )
        elif self._unreserved_in_flight >= self.unreserved_limit:
            raise Throttled(
                f"{function_name}: the account's {self.unreserved_limit} unreserved "
                "concurrent executions are in use",
                ACCOUNT_LIMIT_EXCEEDED,
            )
        else:
            self._unreserved_in_flight += 1
        self._in_flight[function_name] += 1

    def release(self, function_name: str) -> None:
        """One invocation of ``function_name`` is over."""
        self._in_flight[function_name] -= 1
        if function_name not in self._reserved:
            self._unreserved_in_flight -= 1

    def in_flight(self, function_name: str) -> int:
        return self._in_flight[function_name]


def _listing(reserved: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(reserved.items()))

"""How old an event is, locally: the rule that keeps a scaled clock giving AWS's answers.

Locally, AWS's delays run ``time_scale`` times faster (the 1 and 2 minute retries, throttle
backoff, destination retries) and so does the maximum event age, so a retry cycle takes
seconds. Three parts of an event's life are counted differently:

- **waiting** (in the queue, between retries, backing off) ages it at the time scale: one
  local second is ``1 / time_scale`` AWS seconds. Throughput keeps a burst within its age,
  as on AWS; a looser clock would hide a backlog;
- **running** ages it at its real length: function timeouts and run times are not scaled
  (the code really takes that long), so a 900 s timeout counts 900 s of age, as on AWS. A
  run that times out is retried whenever AWS would have retried it;
- **downtime** of the runtime (between a crash and the next ``ackflow up``, or while no
  engine runs the file) does not age it at all: AWS's queue does not go down.

So an event may start another attempt until its AWS-equivalent age, ``waiting / time_scale +
running``, reaches its ``MaximumEventAgeInSeconds``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from local.async_invoke.store import Event
    from local.cloud.functions import LocalFunction

__all__ = [
    "BACKOFF_FIRST_SECONDS",
    "BACKOFF_MAX_SECONDS",
    "FUNCTION_ERROR_RETRY_DELAYS",
    "backoff_seconds",
    "expiry",
    "retry_delay",
    "scaled_age",
    "timeout_notes",
]

FUNCTION_ERROR_RETRY_DELAYS = (60.0, 120.0)
"""AWS seconds after a failed invocation before the first and second retries."""
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 300.0
_BACKOFF_MAX_EXPONENT = 9
"""2 ** 9 s is past the 300 s cap: larger exponents change nothing (and would overflow)."""


def expiry(event: Event, function: LocalFunction, time_scale: float) -> float:
    """The engine-clock time from which ``event`` may not start another attempt."""
    age = function.max_event_age_seconds
    ran = event.ran_seconds
    return event.received_at + event.paused_seconds + ran + (age - ran) * time_scale


def retry_delay(attempts: int) -> float:
    """AWS seconds before the retry after the ``attempts``-th failed invocation."""
    return FUNCTION_ERROR_RETRY_DELAYS[min(attempts, len(FUNCTION_ERROR_RETRY_DELAYS)) - 1]


def backoff_seconds(tries: int) -> float:
    """AWS seconds to wait after the ``tries``-th refused try in a row (1 s doubling to 300 s)."""
    exponent = min(max(tries - 1, 0), _BACKOFF_MAX_EXPONENT)
    return min(BACKOFF_FIRST_SECONDS * 2**exponent, BACKOFF_MAX_SECONDS)


def scaled_age(function: LocalFunction, time_scale: float) -> float:
    """The function's maximum event age in local seconds, for an event that only waits."""
    return function.max_event_age_seconds * time_scale


def timeout_notes(functions: Mapping[str, LocalFunction], time_scale: float) -> list[str]:
    """A line for each function whose timeout is longer than its scaled maximum event age
    (for ``ackflow up``'s banner): such a run outlasts the age a waiting event gets."""
    return [
        f"{name}: its {function.timeout_seconds} s timeout outlasts its maximum event age at "
        f"time scale {time_scale:g} ({function.max_event_age_seconds} s → "
        f"{scaled_age(function, time_scale):g} s); running time counts at its real length, "
        "so a run that times out is still retried as on AWS"
        for name, function in sorted(functions.items())
        if function.timeout_seconds > scaled_age(function, time_scale)
    ]

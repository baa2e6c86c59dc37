"""Backpressure on accepts: take no more events than this machine can start within their age.

AWS's pollers scale a function to the account's concurrency, so a burst of events for an
unreserved function starts within seconds there. Locally the events share a few execution
environments, and a burst can come in faster than they drain: past some backlog, the last
events would wait longer than their (scaled) maximum event age and fail with
``EventAgeExceeded``, a failure AWS would not produce.

So before an event is received, :class:`Intake` predicts how long it would wait (the
function's events waiting for their first run, a backlog an earlier run left included, ÷ the
rate its events have been starting) and, while that is more than the event's age allows (the
engine's allowance: its scaled age less the delays of its retries, at most
:data:`WAIT_SHARE` of it), holds the caller's acknowledgement until the queue has drained
enough, for at most :data:`MAX_HOLD_SECONDS`. Behind a backlog an earlier run left, the wait
is unknown, so held, until enough of it has started to tell its rate. The event's age counts
from when it is received, after the hold, exactly as before: the clock is not loosened; what
changes under overload is that the 202 comes later instead of a failure record.

Functions whose reserved concurrency holds them below the local environments are not held:
their backlog is their own, on AWS too.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from local.async_invoke.aging import retry_delay, scaled_age

if TYPE_CHECKING:
    from local.cloud.functions import LocalFunction

__all__ = [
    "MAX_HOLD_SECONDS",
    "RATE_WINDOW_SECONDS",
    "STALL_MARGIN_SECONDS",
    "WAIT_SHARE",
    "Intake",
    "allowed_wait",
]

log = logging.getLogger(__name__)

MAX_HOLD_SECONDS = 1.0
"""The longest an acknowledgement is held: callers with a deadline of their own (a Slack front
answering within 3 s) still get their answer if the queue stops draining."""
RATE_WINDOW_SECONDS = 1.0
"""Starts counted for a function's drain rate: those of the last this many seconds..."""
MIN_STARTS = 20
"""...and no rate (so no hold) from fewer starts than this, or over less than a fifth of the
window: a handful of starts says little about how fast a backlog drains."""
LOG_EVERY_SECONDS = 10.0
"""A function's holds are logged at most this often."""
WAIT_SHARE = 0.85
"""At most this share of its age may an event be predicted to wait, whatever its retries. The
hold keeps a queue at its limit, so the drain's unevenness on a busy machine must fit in the
rest. At 95 %, a burst 4x faster than the drain lost its last events in 7 runs of 12
(tests/local/async_invoke/test_intake.py); at 90 %, an event of a 10,000-event burst on the
bench stack still finished 8.81 s into its 9 s."""
STALL_MARGIN_SECONDS = 0.5
"""...and at least this much under it (half the age, if that is shorter). A stall of the
machine delays every queued event at once, whatever its age: on this project's 2-core machine
the event store's commits (their fsync) stalled for 0.1-0.5 s now and then, accepts and starts
waiting together, and the intake's tests with their store on that disk and a 1.2 s age (15 %
is 0.18 s) aged out events in 3 runs of 5 beside a neighbour's load (two busy loops and a loop
of fsyncs), none in 10 with this margin."""
_MAX_SLEEP_SECONDS = 0.25


def allowed_wait(function: LocalFunction, time_scale: float, max_running: int) -> float | None:
    """How long a new event of ``function`` may be predicted to wait in the queue before its
    acknowledgement is held: its scaled age less the delays of the retries it may need (where
    they fit in it), at most :data:`WAIT_SHARE` of it and :data:`STALL_MARGIN_SECONDS` under
    it. None: never held, as its reserved concurrency (at most the ``max_running`` events the
    engine runs at once), not this machine, is what makes its events wait."""
    reserved = function.reserved_concurrency
    if reserved is not None and reserved <= max_running:
        return None
    age = scaled_age(function, time_scale)
    retries = sum(retry_delay(n) for n in range(1, function.retries + 1)) * time_scale
    margin = max((1 - WAIT_SHARE) * age, min(STALL_MARGIN_SECONDS, age / 2))
    return age - (max(retries, margin) if retries < age else margin)


class Intake:
    """The engine's queued events per function and how fast they start, and the hold that
    follows from them. ``clock`` is a monotonic clock in local seconds."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_hold: float = MAX_HOLD_SECONDS,
        window: float = RATE_WINDOW_SECONDS,
    ) -> None:
        self._clock = clock
        self._max_hold = max_hold
        self._window = window
        self._queued: Counter[str] = Counter()
        self._inherited: Counter[str] = Counter()
        """Of the queued events, those an earlier run left, until as many have started."""
        self._starts: dict[str, deque[float]] = {}
        self._logged_at: dict[str, float] = {}

    def received(self, function_name: str) -> None:
        """An event of ``function_name`` is in the queue."""
        self._queued[function_name] += 1

    def recount(self, queued: Mapping[str, int]) -> None:
        """The events waiting for their first run, per function, as the store has them when
        the engine starts: a backlog an earlier run left (a crash, a restart) drains here
        first, so a new event waits behind it."""
        self._queued = Counter(queued)
        self._inherited = Counter(queued)

    def started(self, function_name: str) -> None:
        """An event counted by :meth:`received` or :meth:`recount` left the queue for its
        first run."""
        if self._queued[function_name] > 0:
            self._queued[function_name] -= 1
        if self._inherited[function_name] > 0:
            self._inherited[function_name] -= 1
        now = self._clock()
        self._recent_starts(function_name, now).append(now)  # pruned here too: bounded

    def queued(self) -> dict[str, int]:
        """The events counted as queued, per function."""
        return {name: count for name, count in self._queued.items() if count}

    def drain_rate(self, function_name: str) -> float | None:
        """Events of ``function_name`` started per second lately, or None when too few did."""
        now = self._clock()
        starts = self._recent_starts(function_name, now)
        if len(starts) < MIN_STARTS or now - starts[0] < self._window / 5:
            return None
        return len(starts) / (now - starts[0])

    def _recent_starts(self, function_name: str, now: float) -> deque[float]:
        """The starts of the last window: older ones (a burst long before) are dropped."""
        starts = self._starts.setdefault(function_name, deque())
        while starts and starts[0] < now - self._window:
            starts.popleft()
        return starts

    def predicted_wait(self, function_name: str) -> float:
        """Seconds a new event of ``function_name`` would wait before it starts. Without a
        rate: 0, unless a backlog an earlier run left is still ahead of it; then infinite.
        That backlog can be deep, and starts on cold environments: an event admitted blind
        behind it could wait past its age (a burst at once behind 400 events a restart found
        aged out 212-244 of 1,200 in 4 runs of 4, tests/local/async_invoke/test_intake.py)."""
        queued = self._queued[function_name]
        if not queued:
            return 0.0
        if rate := self.drain_rate(function_name):
            return queued / rate
        return math.inf if self._inherited[function_name] else 0.0

    async def hold(self, function_name: str, allowed_wait: float) -> float:
        """Wait while a new event of ``function_name`` would wait over ``allowed_wait`` seconds
        in the queue, at most :data:`MAX_HOLD_SECONDS`; returns the seconds held."""
        excess = self.predicted_wait(function_name) - allowed_wait
        if excess <= 0:
            return 0.0
        began = self._clock()
        if began - self._logged_at.get(function_name, -LOG_EVERY_SECONDS) >= LOG_EVERY_SECONDS:
            self._logged_at[function_name] = began
            rate = self.drain_rate(function_name)
            log.warning(
                "%s: %d events queued, starting %s here; acknowledgements are held so that "
                "its events start within their age (AWS would run them at once). To keep "
                "acknowledgements fast under such a load, raise ackflow up's --time-scale",
                function_name,
                self._queued[function_name],
                f"{rate:.0f}/s" if rate else "at a rate not known yet (a backlog from before)",
            )
        while excess > 0:
            held = self._clock() - began
            if held >= self._max_hold:
                break
            await asyncio.sleep(min(excess, self._max_hold - held, _MAX_SLEEP_SECONDS))
            excess = self.predicted_wait(function_name) - allowed_wait
        return self._clock() - began

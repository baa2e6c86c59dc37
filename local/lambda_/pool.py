"""Execution environments on a machine that holds only so many processes.

AWS starts an environment for every concurrent invocation; here each is a process, so the
pool keeps at most ``max_environments`` alive (:func:`default_max_environments`) and makes
the rest wait instead of refusing them:

- Invocations wait in two first-in-first-out lanes: synchronous calls, and the async
  engine's events (Lambda's pollers). Sync waiters are always served first; events are served
  only when no sync call is waiting, and hold at most ``event_share`` environments at once
  (half the cap by default), so a backlog never takes the environments sync calls need.
- A waiter takes an idle environment of its function (the most recently used, so a burst
  stays on warm ones); else a new one starts for it if there is room; else, at the cap, the
  least recently used idle environment of another function is stopped to make room.
- No needless cold starts: while environments of its function are running, a waiter gives
  them as long as that function's cold start takes (measured) to come free before a new one
  is started for it. A burst of quick calls stays on a few warm environments; slow calls still
  scale out, one cold start's time later.
- At most ``max_starting`` environments are in their init phase at once (one per core, at
  least 2), so the cold starts a burst does need do not starve each other of CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import Counter, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Literal

from local.cloud.functions import LocalFunction
from local.lambda_.environment import INIT_TIMEOUT_SECONDS, ExecutionEnvironment
from local.lambda_.invocation import EnvironmentUnavailable

__all__ = [
    "ENVIRONMENTS_PER_CORE",
    "ENVIRONMENT_MEMORY_ESTIMATE",
    "EnvironmentPool",
    "Lane",
    "default_max_environments",
]

log = logging.getLogger(__name__)

Lane = Literal["sync", "event"]

ENVIRONMENTS_PER_CORE = 16
"""Most handlers wait on I/O far more than they compute, so a core carries many environments."""
ENVIRONMENT_MEMORY_ESTIMATE = 64 * 1024 * 1024
"""Resident memory of one environment: 25 MB for a stdlib handler, 55-70 MB with boto3 and
Powertools loaded (measured on this project's workers)."""
MEMORY_SHARE = 0.5
"""The part of the machine's memory that environments may fill."""
CLOCK_TICK_SECONDS = 0.001
"""uvloop's clock resolution: a waiter is looked at again no sooner than this."""


def default_max_environments() -> int:
    """min(16 per core, half the machine's memory / 64 MiB), and at least 2."""
    cores = os.cpu_count() or 1
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    by_memory = int(memory * MEMORY_SHARE) // ENVIRONMENT_MEMORY_ESTIMATE
    return max(2, min(ENVIRONMENTS_PER_CORE * cores, by_memory))


def default_max_starting() -> int:
    return max(2, os.cpu_count() or 1)


@dataclass(eq=False)
class _Waiter:
    function: LocalFunction
    lane: Lane
    granted: asyncio.Future[ExecutionEnvironment]
    since: float
    """Loop time when it started waiting."""


class EnvironmentPool:
    """Hands out execution environments, one invocation at a time each."""

    def __init__(
        self,
        new_environment: Callable[[LocalFunction], ExecutionEnvironment],
        *,
        max_environments: int | None = None,
        event_share: int | None = None,
        max_starting: int | None = None,
    ) -> None:
        self.max_environments = (
            default_max_environments() if max_environments is None else max_environments
        )
        if self.max_environments < 1:
            raise ValueError(f"max_environments must be at least 1, got {max_environments}")
        self.event_share = event_share or max(1, self.max_environments // 2)
        self._max_starting = max_starting or default_max_starting()
        self._new_environment = new_environment
        self._idle: list[ExecutionEnvironment] = []
        """Ordered from least to most recently used."""
        self._busy: dict[ExecutionEnvironment, Lane] = {}
        self._held: Counter[Lane] = Counter()
        self._busy_of: Counter[str] = Counter()
        self._starting_of: Counter[str] = Counter()
        self._starting = 0
        self._cold_start: dict[str, float] = {}
        """Seconds from spawn to the runtime's first poll, per function, smoothed."""
        self._recheck: asyncio.TimerHandle | None = None
        self._waiting: dict[Lane, deque[_Waiter]] = {"sync": deque(), "event": deque()}
        self._starts: set[asyncio.Future[None]] = set()
        self._stops: set[asyncio.Future[None]] = set()
        self._closed = False

    @property
    def size(self) -> int:
        """Environments alive or being started."""
        return len(self._idle) + len(self._busy)

    def held_by(self, lane: Lane) -> int:
        """Environments running (or starting for) an invocation of ``lane``."""
        return self._held[lane]

    async def acquire(
        self, function: LocalFunction, lane: Lane, timeout: float | None = None
    ) -> ExecutionEnvironment:
        """An environment for one invocation of ``function``, waiting in ``lane``'s line.

        Raises :class:`EnvironmentUnavailable` when none came within ``timeout`` seconds.
        """
        if self._closed:
            raise RuntimeError("the environment pool is closed")
        loop = asyncio.get_running_loop()
        waiter = _Waiter(function, lane, loop.create_future(), loop.time())
        self._waiting[lane].append(waiter)
        self._dispatch()
        try:
            return await asyncio.wait_for(waiter.granted, timeout)
        except BaseException as error:
            self._withdraw(waiter)
            if isinstance(error, TimeoutError):
                raise EnvironmentUnavailable(
                    f"no local execution environment for {function.name} came free within "
                    f"its {timeout:g} s timeout ({self.max_environments} environments at most "
                    "on this machine; raise --max-environments)"
                ) from None
            raise

    def release(self, environment: ExecutionEnvironment) -> None:
        """The invocation on ``environment`` is over: reuse it, or replace it if it failed."""
        if environment not in self._busy:
            return
        self._unhold(environment)
        if environment.reusable and not self._closed:
            self._idle.append(environment)
        else:
            self._stop_later(environment)
        self._dispatch()

    async def close(self) -> None:
        self._closed = True
        if self._recheck is not None:
            self._recheck.cancel()
        for lane in self._waiting.values():
            for waiter in lane:
                waiter.granted.cancel()
            lane.clear()
        for task in list(self._starts):
            task.cancel()
        await asyncio.gather(*self._starts, *self._stops, return_exceptions=True)
        environments = [*self._idle, *self._busy]
        self._idle.clear()
        self._busy.clear()
        await asyncio.gather(*(e.stop() for e in environments), return_exceptions=True)

    # -- matching waiters and environments ------------------------------------------------------

    def _dispatch(self) -> None:
        """Serve every waiter that can be served now, sync calls first, each line in order."""
        self._serve_line("sync")
        if not self._waiting["sync"]:  # events never take what a waiting sync call could use
            self._serve_line("event")

    def _serve_line(self, lane: Lane) -> None:
        line = self._waiting[lane]
        unserved: set[str] = set()  # a later waiter of such a function cannot be served either
        for waiter in list(line):
            if lane == "event" and self._held["event"] >= self.event_share:
                return
            if not self._idle and not self._may_start():
                return  # nobody in the line can be served until something changes
            if waiter.function.name in unserved:
                continue
            if self._serve(waiter):
                line.remove(waiter)
            else:
                unserved.add(waiter.function.name)

    def _serve(self, waiter: _Waiter) -> bool:
        """Grant ``waiter`` an environment or start one for it; False: it keeps waiting."""
        environment = self._take_idle(waiter.function.name)
        if environment is not None:
            self._hold(environment, waiter.lane)
            waiter.granted.set_result(environment)
            return True
        if self._starting >= self._max_starting or self._worth_waiting(waiter):
            return False
        if self.size >= self.max_environments:
            if not self._idle:
                return False
            self._stop_later(self._idle.pop(0))  # the least recently used, of another function
        self._start_for(waiter)
        return True

    def _may_start(self) -> bool:
        """Whether an environment may start now (stopping an idle one for room, if need be)."""
        return self._starting < self._max_starting and (
            self.size < self.max_environments or bool(self._idle)
        )

    def _worth_waiting(self, waiter: _Waiter) -> bool:
        """Whether a running environment of its function may come free before a cold start
        would be over; if so, look again when the cold start would have been."""
        name = waiter.function.name
        if self._busy_of[name] <= self._starting_of[name]:
            return False  # none running: nothing of its own comes free sooner than a new one
        ready_at = waiter.since + self._cold_start.get(name, 0.0)
        loop = asyncio.get_running_loop()
        if loop.time() >= ready_at:
            return False
        # At least a clock tick ahead: uvloop's clock counts milliseconds, and answers a timer
        # due sooner with a plain handle (no when()) that runs before the clock has moved, so
        # the waiter would be looked at again and again until it does.
        due = max(ready_at, loop.time() + CLOCK_TICK_SECONDS)
        if self._recheck is None or self._recheck.when() > due:
            if self._recheck is not None:
                self._recheck.cancel()
            self._recheck = loop.call_at(due, self._recheck_due)
        return True

    def _recheck_due(self) -> None:
        self._recheck = None
        self._dispatch()

    def _take_idle(self, function_name: str) -> ExecutionEnvironment | None:
        """The most recently used idle environment of the function; failed ones are dropped."""
        for index in range(len(self._idle) - 1, -1, -1):
            environment = self._idle[index]
            if not environment.reusable:
                del self._idle[index]
                self._stop_later(environment)
            elif environment.function.name == function_name:
                return self._idle.pop(index)
        return None

    def _withdraw(self, waiter: _Waiter) -> None:
        """``waiter`` gave up: out of its line; an environment granted meanwhile goes back."""
        with contextlib.suppress(ValueError):
            self._waiting[waiter.lane].remove(waiter)
        if not waiter.granted.done():
            waiter.granted.cancel()
        elif not waiter.granted.cancelled() and waiter.granted.exception() is None:
            self.release(waiter.granted.result())

    def _hold(self, environment: ExecutionEnvironment, lane: Lane) -> None:
        self._busy[environment] = lane
        self._held[lane] += 1
        self._busy_of[environment.function.name] += 1

    def _unhold(self, environment: ExecutionEnvironment) -> None:
        lane = self._busy.pop(environment, None)
        if lane is not None:
            self._held[lane] -= 1
            self._busy_of[environment.function.name] -= 1

    # -- starting and stopping ------------------------------------------------------------------

    def _start_for(self, waiter: _Waiter) -> None:
        """Start a new environment, bound to ``waiter`` (the cold start is its to wait for)."""
        environment = self._new_environment(waiter.function)
        self._hold(environment, waiter.lane)
        self._starting += 1
        self._starting_of[waiter.function.name] += 1
        self._in_background(self._starts, self._start(environment, waiter))

    async def _start(self, environment: ExecutionEnvironment, waiter: _Waiter) -> None:
        name = waiter.function.name
        spawned = asyncio.get_running_loop().time()
        try:
            try:
                await environment.start()
            except Exception as error:
                log.exception("could not start an environment for %s", waiter.function.name)
                self._unhold(environment)
                if not waiter.granted.done():
                    waiter.granted.set_exception(error)
                await environment.stop()
                return
            if waiter.granted.done():  # the caller gave up during the start: keep it warm
                self.release(environment)
            else:
                waiter.granted.set_result(environment)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(environment.initialized.wait(), INIT_TIMEOUT_SECONDS)
            if environment.initialized.is_set() and environment.reusable:
                took = asyncio.get_running_loop().time() - spawned
                before = self._cold_start.get(name, took)
                self._cold_start[name] = 0.5 * before + 0.5 * took
        finally:
            self._starting -= 1
            self._starting_of[name] -= 1
            self._dispatch()

    def _stop_later(self, environment: ExecutionEnvironment) -> None:
        self._in_background(self._stops, environment.stop())

    def _in_background(
        self, tasks: set[asyncio.Future[None]], work: Coroutine[object, object, None]
    ) -> None:
        task = asyncio.ensure_future(work)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("environment pool: %s", task.exception(), exc_info=task.exception())

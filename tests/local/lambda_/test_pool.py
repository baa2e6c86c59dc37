"""The environment pool: a machine cap, first-in-first-out waiting, sync calls before events.

The environments are fakes (starting a process is the real environment's job, tested in
test_service.py); the pool's matching of waiters and environments is all real.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import uvloop

from local.cloud.functions import LocalFunction
from local.lambda_.invocation import EnvironmentUnavailable
from local.lambda_.pool import EnvironmentPool, default_max_environments


def function(name: str) -> LocalFunction:
    return LocalFunction(
        name=name,
        arn=f"arn:aws:lambda:us-east-1:000000000000:function:{name}",
        handler="h.h",
        code_dir=Path("."),
    )


A, B, C = function("a"), function("b"), function("c")


class FakeEnvironment:
    """Starts in ``cold_start`` seconds and stops at once; ``failed`` makes it unfit for reuse,
    as a crash does."""

    def __init__(self, function: LocalFunction, *, initialize: bool, cold_start: float) -> None:
        self.function = function
        self.initialized = asyncio.Event()
        self._initialize = initialize
        self._cold_start = cold_start
        self.started = self.stopped = self.failed = False

    @property
    def reusable(self) -> bool:
        return self.started and not self.stopped and not self.failed

    async def start(self) -> None:
        await asyncio.sleep(self._cold_start)
        self.started = True
        if self._initialize:
            self.initialized.set()

    async def stop(self) -> None:
        self.stopped = True


class Pool:
    """An :class:`EnvironmentPool` of fakes, with the environments it made."""

    def __init__(
        self, *, initialize: bool = True, cold_start: float = 0.0, **settings: int
    ) -> None:
        self.made: list[FakeEnvironment] = []

        def new(function: LocalFunction) -> FakeEnvironment:
            made = FakeEnvironment(function, initialize=initialize, cold_start=cold_start)
            self.made.append(made)
            return made

        self.pool = EnvironmentPool(new, **settings)  # type: ignore[arg-type]

    def acquire(self, function: LocalFunction, lane: str = "sync", timeout: float | None = None):
        return asyncio.ensure_future(self.pool.acquire(function, lane, timeout))  # type: ignore[arg-type]


async def settle() -> None:
    """Let started environments, granted waiters and due re-checks run."""
    for _ in range(10):
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)


def run(scenario) -> None:
    asyncio.run(scenario())


def test_above_the_cap_waiters_are_served_in_order_by_the_environment_set_free():
    async def scenario():
        pools = Pool(max_environments=1)
        first = await pools.acquire(A)
        second, third = pools.acquire(A), pools.acquire(A)
        await settle()
        assert not second.done() and not third.done()  # waiting, not refused

        pools.pool.release(first)
        await settle()
        assert second.done() and not third.done()
        pools.pool.release(await second)
        await settle()

        assert await third is first  # the one warm environment served all three
        assert len(pools.made) == 1

    run(scenario)


def test_a_sync_call_is_served_before_events_that_waited_longer():
    async def scenario():
        pools = Pool(max_environments=1)
        held = await pools.acquire(A)
        event = pools.acquire(A, "event")
        await settle()
        sync = pools.acquire(A, "sync")
        await settle()

        pools.pool.release(held)
        await settle()
        assert sync.done() and not event.done()
        pools.pool.release(await sync)
        await settle()
        assert event.done()

    run(scenario)


def test_events_hold_no_more_than_their_share_and_sync_calls_keep_the_rest():
    async def scenario():
        pools = Pool(max_environments=4, event_share=2)
        events = [pools.acquire(A, "event") for _ in range(4)]
        await settle()
        assert sum(e.done() for e in events) == 2
        assert pools.pool.held_by("event") == 2

        syncs = [pools.acquire(A, "sync") for _ in range(2)]
        await settle()
        assert all(s.done() for s in syncs)
        assert pools.pool.size == 4

    run(scenario)


def test_at_the_cap_the_least_recently_used_idle_environment_of_another_function_is_replaced():
    async def scenario():
        pools = Pool(max_environments=2)
        a = await pools.acquire(A)
        b = await pools.acquire(B)
        pools.pool.release(a)  # a is now the least recently used
        pools.pool.release(b)

        c = await pools.acquire(C)

        assert c.function is C
        assert a.stopped and not b.stopped
        assert pools.pool.size == 2

    run(scenario)


def test_a_sync_wait_ends_at_its_timeout_and_the_waiter_leaves_the_line():
    async def scenario():
        pools = Pool(max_environments=1)
        held = await pools.acquire(A)
        with pytest.raises(EnvironmentUnavailable, match=r"within its 0\.05 s timeout"):
            await pools.acquire(B, timeout=0.05)

        pools.pool.release(held)
        await settle()
        assert not held.stopped  # nobody is waiting for b: a stays warm
        assert await pools.acquire(A) is held

    run(scenario)


def test_an_environment_that_failed_is_stopped_and_replaced():
    async def scenario():
        pools = Pool(max_environments=1)
        broken = await pools.acquire(A)
        broken.failed = True
        pools.pool.release(broken)

        replacement = await pools.acquire(A)

        assert broken.stopped
        assert replacement is not broken and replacement.reusable

    run(scenario)


def test_a_burst_starts_at_most_max_starting_environments_at_once():
    async def scenario():
        pools = Pool(max_environments=10, max_starting=2, initialize=False)
        burst = [pools.acquire(A) for _ in range(5)]
        await settle()
        assert len(pools.made) == 2  # the other three wait for these or for more room

        pools.made[0].initialized.set()  # its init phase is over: one more may start
        await settle()
        assert len(pools.made) == 3
        pools.pool.release(await burst[0])  # warm and free: the next waiter takes it
        await settle()
        assert sum(b.done() for b in burst) == 4
        assert len(pools.made) == 3

    run(scenario)


def test_a_burst_of_quick_calls_is_served_by_the_warm_environment_without_cold_starts():
    async def scenario():
        pools = Pool(max_environments=10, cold_start=1.0)
        warm = await pools.acquire(A)  # its cold start took 1 s
        await settle()
        burst = [pools.acquire(A) for _ in range(5)]
        for waiter in burst:
            await settle()
            pools.pool.release(warm)  # each call is quick: the warm one is free long before 1 s
            await settle()
            assert await waiter is warm
        assert len(pools.made) == 1

    run(scenario)


def test_a_waiter_not_served_within_a_cold_start_gets_a_new_environment():
    async def scenario():
        pools = Pool(max_environments=10, cold_start=0.2)
        slow = await pools.acquire(A)  # a long call: it stays busy
        waiter = pools.acquire(A)
        await settle()
        assert not waiter.done()  # it first gives the running one a cold start's time
        granted = await asyncio.wait_for(waiter, 10)
        assert granted is not slow and len(pools.made) == 2

    run(scenario)


def test_waiters_of_two_functions_rechecked_within_a_millisecond_are_served_on_uvloop():
    """uvloop answers a timer due within half a millisecond with a plain handle, which has no
    ``when()`` and runs before uvloop's millisecond clock has moved: a second function's waiter
    in the same dispatch asked it for ``when()`` (seen under load: a Slack command answered 500
    while squaring events waited), and the waiter was looked at again and again."""

    async def scenario():
        pools = Pool(max_environments=10)
        busy = [await pools.acquire(A), await pools.acquire(B)]
        for f in (A, B):  # as measured: each waiter's re-check comes 0.3 ms after it asks
            pools.pool._cold_start[f.name] = 0.0003
        dispatches = 0
        dispatch = pools.pool._dispatch

        def counted() -> None:
            nonlocal dispatches
            dispatches += 1
            dispatch()

        pools.pool._dispatch = counted  # type: ignore[method-assign]
        waiters = [pools.acquire(A), pools.acquire(B, "event")]
        await settle()
        for environment in busy:
            pools.pool.release(environment)
        granted = await asyncio.wait_for(asyncio.gather(*waiters), 10)
        assert [g.function for g in granted] == [A, B]
        # two acquires, two releases and a re-check or two; not the loop spinning on a re-check
        # that comes due before its clock has moved (hundreds)
        assert dispatches <= 10

    uvloop.run(scenario())


def test_an_environment_granted_to_a_caller_that_gave_up_goes_back_to_the_pool():
    async def scenario():
        pools = Pool(max_environments=1)
        held = await pools.acquire(A)
        waiting = pools.acquire(A)
        await settle()
        waiting.cancel()
        await settle()

        pools.pool.release(held)
        await settle()
        assert await pools.acquire(A) is held

    run(scenario)


def test_the_default_cap_is_derived_from_cores_and_memory(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    page, pages = 4096, (24 * 1024**3) // 4096  # 24 GiB
    monkeypatch.setattr("os.sysconf", lambda name: page if name == "SC_PAGE_SIZE" else pages)
    assert default_max_environments() == 32  # 16 per core; memory would allow 192

    pages = (1 * 1024**3) // 4096  # 1 GiB: half of it holds 8 environments of 64 MiB
    assert default_max_environments() == 8

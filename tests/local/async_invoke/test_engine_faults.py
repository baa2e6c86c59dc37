"""The engine when its store fails: it keeps going, says why, and acknowledges nothing it
would not run."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from local.lambda_.invocation import EventQueueUnavailable
from tests.local.async_invoke.helpers import accept, function, run_until


def test_loop_survives_a_write_lock_held_elsewhere_and_then_runs_what_it_took(
    make_engine, tmp_path
):
    engine = make_engine(function(), busy_timeout=0.1, unrecoverable_after=0.3)
    before = [accept(engine, "worker", b'{"n": 1}') for _ in range(3)]

    async def scenario() -> str:
        blocker = sqlite3.connect(tmp_path / "q.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # as a stray `sqlite3` shell might
        runner = asyncio.create_task(engine.run())
        try:
            deadline = time.monotonic() + 5
            while engine.unavailable is None:
                assert not runner.done(), "the engine's loop died on a locked database"
                assert time.monotonic() < deadline, "the engine never said it is stuck"
                await asyncio.sleep(0.02)
            with pytest.raises(EventQueueUnavailable, match="event store") as refused:
                await engine.accept("worker", b'{"n": 2}')
            assert not runner.done()
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        while engine.unavailable is not None:  # it reaches the store again by itself
            assert not runner.done()
            assert time.monotonic() < deadline + 5, "the engine did not recover"
            await asyncio.sleep(0.02)
        after = await engine.accept("worker", b'{"n": 3}')
        engine.stop()
        await runner
        return str(refused.value), after

    reason, after = asyncio.run(scenario())
    assert "database is locked" in reason
    run_until(engine)
    assert {engine.status(r).condition for r in [*before, after]} == {"Success"}


def test_a_stopped_loop_refuses_events_with_the_reason(make_engine):
    engine = make_engine(function())

    async def broken(*args, **kwargs):
        raise RuntimeError("the disk is on fire")

    engine._store.take_work = broken  # a failure the loop does not expect

    async def scenario() -> None:
        with pytest.raises(RuntimeError, match="on fire"):
            await engine.run()
        with pytest.raises(EventQueueUnavailable, match="engine stopped: RuntimeError"):
            await engine.accept("worker", b"{}")

    asyncio.run(scenario())
    assert engine.pending_count() == 0  # nothing was acknowledged that would not run

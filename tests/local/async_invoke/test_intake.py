"""Backpressure on accepts (local/async_invoke/intake.py): the predicted wait of a new event,
the hold it causes, and the engine's use of it in a burst it could not start within the age."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from local.async_invoke.intake import MIN_STARTS, Intake, allowed_wait
from local.async_invoke.records import EVENT_AGE_EXCEEDED, SUCCESS
from tests.local.async_invoke.helpers import ScriptedExecutor, accept_all, function, run_until

if TYPE_CHECKING:
    from pathlib import Path

    from local.cloud.functions import LocalFunction


class Clock:
    """The monotonic clock, or a time set by the test."""

    def __init__(self) -> None:
        self.fixed: float | None = None

    def __call__(self) -> float:
        return time.monotonic() if self.fixed is None else self.fixed


def _started(intake: Intake, clock: Clock, name: str, count: int, over: float) -> None:
    """``count`` starts of ``name``, spread evenly over the last ``over`` seconds."""
    began = time.monotonic() - over
    for i in range(count):
        clock.fixed = began + i * over / count
        intake.started(name)
    clock.fixed = None


def test_the_allowed_wait_leaves_room_for_the_retries_and_a_margin():
    # 900 s and two retries, at time scale 0.01: 9 s less the retries' 0.6 + 1.2 s.
    two_retries = function(max_event_age_seconds=900, retries=2)
    assert allowed_wait(two_retries, 0.01, max_running=16) == pytest.approx(7.2)
    # The dev stack's squaring worker, one retry: 9 s - 0.6 s is over 85 % of 9 s, the margin
    # left for the prediction.
    squaring = function(max_event_age_seconds=900, retries=1)
    assert allowed_wait(squaring, 0.01, 16) == pytest.approx(7.65)
    # A short age keeps a margin of 0.5 s for the machine's stalls (half the age, if shorter):
    # 1.2 s leaves 0.7 s. Retries that do not fit in the age (60 + 120 s in 0.6 s) leave the
    # age to the first try, less half of it.
    assert allowed_wait(function(max_event_age_seconds=60), 0.02, 16) == pytest.approx(0.7)
    short_age = function(max_event_age_seconds=60, retries=2)
    assert allowed_wait(short_age, 0.01, 16) == pytest.approx(0.3)
    # Reserved concurrency under what the engine runs at once: never held; above it: held.
    assert allowed_wait(function(reserved_concurrency=16), 0.01, 16) is None
    assert allowed_wait(function(reserved_concurrency=100), 0.01, 16) is not None


def test_no_rate_from_a_handful_of_starts_so_no_hold():
    clock = Clock()
    intake = Intake(clock=clock)
    for _ in range(1000):
        intake.received("f")
    _started(intake, clock, "f", MIN_STARTS - 1, over=0.5)
    assert intake.drain_rate("f") is None
    assert intake.predicted_wait("f") == 0.0
    assert asyncio.run(intake.hold("f", allowed_wait=0.01)) == 0.0


def test_starts_of_an_earlier_burst_give_no_rate_so_a_new_burst_is_not_held():
    clock = Clock()
    intake = Intake(clock=clock)
    _started(intake, clock, "f", 100, over=0.5)
    clock.fixed = time.monotonic() + 600  # ten minutes idle, then a new burst arrives
    for _ in range(50):
        intake.received("f")

    assert intake.drain_rate("f") is None
    assert asyncio.run(intake.hold("f", allowed_wait=0.01)) == 0.0


def test_predicted_wait_is_the_queue_over_the_rate_its_events_start():
    clock = Clock()
    intake = Intake(clock=clock)
    for _ in range(500):
        intake.received("f")
    _started(intake, clock, "f", 100, over=0.5)  # about 200/s; 400 left in the queue

    rate = intake.drain_rate("f")
    assert rate is not None and 150 < rate < 250
    assert 1.6 < intake.predicted_wait("f") < 2.7
    assert asyncio.run(intake.hold("f", allowed_wait=5.0)) == 0.0
    assert intake.predicted_wait("other") == 0.0


def test_a_backlog_over_its_allowance_is_held_until_enough_has_started():
    clock = Clock()
    intake = Intake(clock=clock)
    for _ in range(2000):
        intake.received("f")
    _started(intake, clock, "f", 100, over=0.5)  # 1,900 queued at ~200/s: ~9.5 s

    async def main() -> float:
        async def drain() -> None:
            await asyncio.sleep(0.3)
            for _ in range(1800):
                intake.started("f")

        drained = asyncio.create_task(drain())
        held = await intake.hold("f", allowed_wait=1.0)
        await drained
        return held

    held = asyncio.run(main())
    assert 0.3 <= held < 0.9
    assert intake.predicted_wait("f") <= 1.0


def test_a_hold_ends_after_its_maximum_when_nothing_drains():
    clock = Clock()
    intake = Intake(clock=clock, max_hold=0.2)
    for _ in range(2000):
        intake.received("f")
    _started(intake, clock, "f", 100, over=0.5)

    held = asyncio.run(intake.hold("f", allowed_wait=0.5))
    assert 0.2 <= held < 0.45
    assert intake.predicted_wait("f") > 0.5


def test_behind_a_backlog_an_earlier_run_left_a_new_event_is_held_until_its_rate_is_known():
    clock = Clock()
    intake = Intake(clock=clock, max_hold=0.2)
    intake.recount({"f": 500})
    for _ in range(100):
        intake.received("f")

    assert intake.predicted_wait("f") == math.inf
    assert 0.2 <= asyncio.run(intake.hold("f", allowed_wait=5.0)) < 0.45
    assert intake.predicted_wait("other") == 0.0  # another function's queue is its own

    _started(intake, clock, "f", 100, over=0.5)  # about 200/s, 500 queued: about 2.5 s
    assert 2.0 < intake.predicted_wait("f") < 3.3


def test_once_the_backlog_an_earlier_run_left_has_started_no_rate_means_no_hold_again():
    clock = Clock()
    intake = Intake(clock=clock)
    intake.recount({"f": 50})
    for _ in range(100):
        intake.received("f")
    clock.fixed = time.monotonic()
    for _ in range(50):  # at once: too short a time to tell a rate
        intake.started("f")

    assert intake.drain_rate("f") is None
    assert intake.predicted_wait("f") == 0.0


class FourAtATime(ScriptedExecutor):
    """Runs four events at once (the engine claims no more), each for ``delay``."""

    max_running_events = 4


def _closed_loop_burst(
    engine: Any, name: str, clients: int = 8, each: int = 100, after: float = 0.0
) -> tuple[list[str], float]:
    """``clients`` callers, each accepting ``each`` events one after the other, 5 ms apart, while
    the engine runs (as a load client's connections do, with the time a request takes), from
    ``after`` seconds after it starts; returns the request ids and how long the accepts took."""
    request_ids: list[str] = []

    async def main() -> float:
        runner = asyncio.create_task(engine.run())
        await asyncio.sleep(after)

        async def client(c: int) -> None:
            for i in range(each):
                payload = json.dumps({"n": c * each + i}).encode()
                request_ids.append(await engine.accept(name, payload))
                await asyncio.sleep(0.005)

        started = time.monotonic()
        await asyncio.gather(*(client(c) for c in range(clients)))
        took = time.monotonic() - started
        engine.stop()
        await runner
        return took

    took = asyncio.run(main())
    return request_ids, took


def _conditions(engine: Any, request_ids: list[str]) -> Counter[str | None]:
    return Counter(engine.status(request_id).condition for request_id in request_ids)


def test_a_burst_faster_than_the_drain_is_held_and_every_event_starts_within_its_age(
    make_engine,
    memory_folder,
):
    # Four at a time, 10 ms each: ~400 events/s. A 60 s age at this scale is 1.2 s, so a queue
    # over ~480 events would age its last ones out; the callers send ~1,600/s, so unheld they
    # would queue ~600 in half a second.
    worker = function(max_event_age_seconds=60, retries=0)
    engine = make_engine(worker, executor=FourAtATime(delay=0.01), scale=0.02, folder=memory_folder)

    request_ids, took = _closed_loop_burst(engine, worker.name)
    run_until(engine, timeout=30)

    assert _conditions(engine, request_ids) == {SUCCESS: 800}
    assert took > 1.0  # the 800 accepts came at about the drain's pace, not the callers'


def _restarted_with_a_backlog(
    make_engine: Any, folder: Path, events: int = 400
) -> tuple[Any, LocalFunction, list[str]]:
    """An engine started on a store an earlier one left ``events`` queued in (a 1.8 s age,
    four at a time for 10 ms); returns it, its function and the queued request ids."""
    worker = function(max_event_age_seconds=60, retries=0)
    before_the_restart = make_engine(worker, scale=0.03, folder=folder)
    backlog = accept_all(before_the_restart, worker.name, [b"{}"] * events)
    before_the_restart.close()
    engine = make_engine(worker, executor=FourAtATime(delay=0.01), scale=0.03, folder=folder)
    return engine, worker, backlog


def test_a_backlog_left_by_an_earlier_run_counts_so_a_burst_behind_it_starts_within_its_age(
    make_engine,
    memory_folder,
):
    # A 1.8 s age here (allowance 1.3 s: about 520 events of this drain). The runtime went
    # down with 400 events queued; after the restart they start first, and 0.3 s later a
    # burst queues behind the ~280 left. Counted from the burst's events alone, the queue
    # would look 0.7 s shorter than it is, more than the 0.5 s margin, and the burst's last
    # events would age out.
    engine, worker, backlog = _restarted_with_a_backlog(make_engine, memory_folder)

    request_ids, _ = _closed_loop_burst(engine, worker.name, after=0.3)
    run_until(engine, timeout=30)

    assert _conditions(engine, backlog + request_ids) == {SUCCESS: 1200}


def test_a_burst_at_once_after_a_restart_waits_until_the_backlog_before_it_shows_its_rate(
    make_engine,
    memory_folder,
):
    # As above, but the burst comes as soon as the engine runs, from twice the callers: until
    # enough of the backlog has started to tell its rate (0.2 s), their ~3,000/s would be
    # admitted unheld, ~600 events behind the 400, to wait over 2 s.
    engine, worker, backlog = _restarted_with_a_backlog(make_engine, memory_folder)

    request_ids, _ = _closed_loop_burst(engine, worker.name, clients=16, each=50)
    run_until(engine, timeout=30)

    assert _conditions(engine, backlog + request_ids) == {SUCCESS: 1200}


def test_a_function_held_back_by_its_reserved_concurrency_is_not_held(make_engine, memory_folder):
    # Reserved concurrency 2 of the engine's 4: its backlog is its own, as on AWS, so its
    # acknowledgements are not held and its last events age out as they would there.
    worker = function(max_event_age_seconds=60, retries=0, reserved_concurrency=2)
    engine = make_engine(worker, executor=FourAtATime(delay=0.01), scale=0.02, folder=memory_folder)

    request_ids, took = _closed_loop_burst(engine, worker.name)
    run_until(engine, timeout=30)

    conditions = _conditions(engine, request_ids)
    assert conditions[EVENT_AGE_EXCEEDED] > 0
    assert conditions[EVENT_AGE_EXCEEDED] + conditions[SUCCESS] == 800
    assert took < 1.0

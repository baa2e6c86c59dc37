"""How old an event is locally: waiting is scaled, running counts in full, downtime not at all."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

from local.async_invoke.aging import timeout_notes
from local.async_invoke.store import Event, EventStore
from tests.local.async_invoke.helpers import (
    ScriptedExecutor,
    accept_all,
    error,
    function,
    one_record,
    run_until,
)


class Clock:
    """Epoch seconds, running with the real clock from an offset the test moves."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def test_time_no_engine_ran_does_not_age_the_waiting_events(make_engine, new_queue, sqs):
    queue = new_queue()
    worker = function(max_event_age_seconds=60, on_success=queue.arn)  # 0.6 s at 0.01
    clock = Clock()
    first = make_engine(worker, scale=0.01, clock=clock)
    ids = accept_all(first, "worker", [b"{}"] * 3)
    first.close()

    clock.offset = 1000.0  # the runtime was down for 1000 s: far past the scaled age
    restarted = make_engine(worker, scale=0.01, clock=clock)
    run_until(restarted)

    assert {restarted.status(i).condition for i in ids} == {"Success"}
    assert restarted.status(ids[0]).attempts == 1


def test_a_crash_pauses_ages_from_the_last_heartbeat(tmp_path: Path):
    store = EventStore(tmp_path / "s.db")

    async def scenario() -> list[tuple[str, float]]:
        await store.add_event("before", "worker", b"{}", 100.0)
        await store.heartbeat(110.0)  # the engine's last sign of life, then a kill -9
        await store.add_event("meanwhile", "worker", b"{}", 500.0)  # taken by another process
        recovery = await store.start(1110.0)
        assert recovery.down_seconds == 1000.0
        work = await store.take_work(1110.0, events=10, room={}, default_room=10, deliveries=0)
        return [(event.request_id, event.paused_seconds) for event in work.events]

    assert sorted(asyncio.run(scenario())) == [("before", 1000.0), ("meanwhile", 610.0)]
    store.close()


def test_a_start_counts_the_events_still_waiting_for_their_first_run(tmp_path: Path):
    # What the intake needs to predict a new event's wait after a restart: neither retries
    # nor throttled events (their delays are their own), nor finished ones.
    store = EventStore(tmp_path / "s.db")

    async def scenario() -> dict[str, int]:
        for request_id, name in [("a1", "a"), ("a2", "a"), ("a3", "a"), ("a4", "a"), ("b1", "b")]:
            await store.add_event(request_id, name, b"{}", 100.0)
        work = await store.take_work(101.0, events=4, room={}, default_room=4, deliveries=0)
        running = {event.request_id: event for event in work.events}
        assert sorted(running) == ["a1", "a2", "a3", "a4"]
        await store.reschedule(replace(running["a1"], attempts=1), 161.0)  # to be retried
        await store.reschedule(replace(running["a2"], backoffs=1), 102.0)  # throttled
        await store.finish(running["a3"], "Success", [], 102.0)
        # a4 is left running by a kill -9: it runs again, for the first time as far as it knows
        return (await store.start(200.0)).awaiting_first_run

    assert asyncio.run(scenario()) == {"a": 1, "b": 1}
    store.close()


def test_a_run_counts_at_its_real_length_so_a_long_timeout_is_still_retried_as_on_aws(
    make_engine, new_queue, sqs
):
    # On AWS: 0.3 s runs, retries after 60 s and 120 s, all within a 200 s age: 3 attempts.
    # At time scale 0.001 the age is 0.2 s, shorter than one run; counting the run at its
    # real length keeps AWS's answer.
    queue = new_queue()
    executor = ScriptedExecutor(error("slow and failing"), delay=0.3)
    worker = function(retries=2, max_event_age_seconds=200, on_failure=queue.arn)
    engine = make_engine(worker, executor=executor, scale=0.001)
    accept_all(engine, "worker", [b"{}"])

    run_until(engine)

    record = one_record(sqs, queue)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3


def test_waiting_still_ages_at_the_time_scale(make_engine, new_queue, sqs):
    # Waiting is measured from receipt at the time scale, however long the runs ahead take:
    # 300 s of AWS age at 0.001 is 0.3 s, so an event waiting 0.5 s behind a run (reserved
    # concurrency 1) ages out. Throughput, not a looser clock, keeps a backlog in its age.
    queue = new_queue()
    executor = ScriptedExecutor(delay=0.5)
    worker = function(max_event_age_seconds=300, reserved_concurrency=1, on_failure=queue.arn)
    engine = make_engine(worker, executor=executor, scale=0.001)
    first, second = accept_all(engine, "worker", [b"{}", b"{}"])

    run_until(engine)

    assert engine.status(first).condition == "Success"
    assert engine.status(second).condition == "EventAgeExceeded"


def test_the_banner_names_functions_whose_timeout_outlasts_their_scaled_age():
    slow = function("slow", timeout_seconds=900, max_event_age_seconds=1800)
    quick = function("quick", timeout_seconds=3, max_event_age_seconds=900)
    (note,) = timeout_notes({"slow": slow, "quick": quick}, 0.01)
    assert note.startswith("slow: its 900 s timeout outlasts its maximum event age")
    assert "1800 s → 18 s" in note
    assert timeout_notes({"slow": slow}, 1.0) == []


def test_event_defaults_count_no_pause_and_no_run():
    event = Event("r", "f", b"{}", 0.0, 0, 0, None, None, None)
    assert (event.paused_seconds, event.ran_seconds) == (0.0, 0.0)

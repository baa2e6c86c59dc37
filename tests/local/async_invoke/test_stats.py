"""``ackflow events``' counts, read on a read-only connection that never locks the engine out."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from io import StringIO

import pytest
from rich.console import Console

from local.async_invoke.inbox import INBOX_FILE, Inbox
from local.async_invoke.stats import open_read_only, read_snapshot, snapshot_table
from tests.local.async_invoke.helpers import (
    ScriptedExecutor,
    accept_all,
    error,
    function,
    ok,
    run_until,
)


def test_counts_per_function_by_state_and_condition(make_engine, new_queue, tmp_path):
    failures = new_queue()
    executor = ScriptedExecutor(ok(1), error("no"))
    worker = function(retries=0, on_failure=failures.arn)
    idle = function("idle")
    engine = make_engine(worker, idle, executor=executor)
    accept_all(engine, "worker", [b"{}", b"{}"])
    run_until(engine)
    accepted_by = time.time()
    accept_all(engine, "worker", [b"{}"] * 3)  # queued, not run yet

    db = open_read_only(tmp_path / "q.db")
    snapshot = read_snapshot(db, functions=["worker", "idle"], window=200, now=accepted_by + 100)
    db.close()

    stats = snapshot.functions["worker"]
    assert (stats.queued, stats.running, stats.retrying) == (3, 0, 0)
    assert stats.done == {"Success": 1, "RetriesExhausted": 1}
    assert stats.deliveries_pending == 0
    assert stats.drain_rate == pytest.approx(2 / 200)
    assert stats.eta_seconds == pytest.approx(3 / (2 / 200))
    assert 99 < stats.longest_wait_seconds <= 100  # the first of the three, from its receipt
    assert snapshot.functions["idle"].backlog == 0  # listed though nothing ran
    assert snapshot.functions["idle"].longest_wait_seconds is None
    assert snapshot.conditions() == ["Success", "RetriesExhausted"]
    as_json = snapshot.as_json()["functions"]["worker"]
    assert as_json["done"] == {"Success": 1, "RetriesExhausted": 1}
    assert as_json["eta_seconds"] == pytest.approx(300.0)
    assert as_json["longest_wait_seconds"] == stats.longest_wait_seconds

    out = StringIO()
    Console(file=out, width=200).print(snapshot_table(snapshot))
    row = next(line for line in out.getvalue().splitlines() if "worker" in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    wait = f"{stats.longest_wait_seconds:.1f} s"
    assert cells == ["worker", "3", "0", "0", "1", "1", "0", "0.0", "300 s", wait]


def test_events_still_in_the_fronts_inbox_count_as_queued_once(make_engine, tmp_path):
    inbox_path = tmp_path / INBOX_FILE
    inbox = Inbox(inbox_path)
    now = time.time()

    async def add(ids: range) -> None:
        await asyncio.gather(*(inbox.add(f"id-{n}", "worker", b"{}", now - 50) for n in ids))

    asyncio.run(add(range(3)))
    executor = ScriptedExecutor()
    run_until(make_engine(function(), executor=executor, inbox_path=inbox_path))
    assert len(executor.calls) == 3  # done, and still in the inbox: the front was not told
    asyncio.run(add(range(3, 5)))  # not taken yet

    db = open_read_only(tmp_path / "q.db", inbox_path)
    stats = read_snapshot(db, now=now).functions["worker"]
    db.close()
    inbox.close()
    assert (stats.queued, stats.done) == (2, {"Success": 3})
    assert 49 < stats.longest_wait_seconds <= 50


def test_the_reader_cannot_write(make_engine, tmp_path):
    make_engine(function())  # creates the file
    db = open_read_only(tmp_path / "q.db")
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.execute("DELETE FROM events")
    db.close()


def test_reading_all_the_time_never_locks_the_busy_engine_out(make_engine, tmp_path):
    # A short busy timeout: if the reader ever held the write lock, accepts and the loop's
    # own writes would fail within 50 ms.
    engine = make_engine(function(), executor=ScriptedExecutor(delay=0.001), busy_timeout=0.05)
    accept_all(engine, "worker", [b"{}"])  # the file exists before the reader opens it
    stop = threading.Event()
    snapshots: list[int] = []

    def read_constantly() -> None:
        db = open_read_only(tmp_path / "q.db")
        while not stop.is_set():
            stats = read_snapshot(db).functions.get("worker")
            snapshots.append(stats.backlog if stats else 0)
        db.close()

    reader = threading.Thread(target=read_constantly)
    reader.start()
    try:

        async def busy() -> None:
            runner = asyncio.create_task(engine.run())
            for _ in range(20):
                await asyncio.gather(*(engine.accept("worker", b"{}") for _ in range(25)))
            while await asyncio.to_thread(engine.pending_count):
                assert not runner.done()
                await asyncio.sleep(0.01)
            engine.stop()
            await runner

        asyncio.run(busy())
    finally:
        stop.set()
        reader.join()

    assert engine.unavailable is None
    assert len(snapshots) > 10
    db = open_read_only(tmp_path / "q.db")
    assert read_snapshot(db).functions["worker"].done == {"Success": 501}
    db.close()

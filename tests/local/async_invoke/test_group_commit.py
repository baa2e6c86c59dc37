"""Group commit: concurrent work shares one transaction; a caller's result means it is on disk.

The kill -9 test runs an engine in a subprocess that accepts events as fast as it can and
prints each request id once ``accept`` returned (what the Invoke API answers 202 for), and
kills it mid-stream.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from local.async_invoke.group_commit import GroupCommitter
from local.async_invoke.store import connect

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "g.db"
    with connect(path) as db:
        db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    return path


def rows(db_path: Path) -> list[int]:
    with sqlite3.connect(db_path) as db:
        return [n for (n,) in db.execute("SELECT n FROM t ORDER BY n")]


def test_work_queued_while_a_commit_runs_shares_the_next_commit(db_path):
    batches: list[int] = []
    writer = GroupCommitter(lambda: connect(db_path), on_batch=batches.append)
    inside, release = threading.Event(), threading.Event()

    def slow_insert(db: sqlite3.Connection) -> None:
        inside.set()
        release.wait(5)
        db.execute("INSERT INTO t VALUES (0)")

    try:
        first = writer.submit(slow_insert)
        assert inside.wait(5)
        rest = [
            writer.submit(lambda db, n=n: db.execute("INSERT INTO t VALUES (?)", (n,)))
            for n in range(1, 50)
        ]
        release.set()
        for future in [first, *rest]:
            assert future.result(5) is None  # a cursor never leaves the writer's thread
    finally:
        writer.close()

    assert batches == [1, 49]
    assert rows(db_path) == list(range(50))


def test_a_failing_piece_of_work_undoes_only_its_own_changes(db_path):
    writer = GroupCommitter(lambda: connect(db_path))
    inside, release = threading.Event(), threading.Event()

    def hold(db: sqlite3.Connection) -> None:
        inside.set()
        release.wait(5)

    def insert_then_fail(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO t VALUES (2)")
        raise ValueError("bad input")

    try:
        held = writer.submit(hold)
        assert inside.wait(5)
        good = writer.submit(lambda db: db.execute("INSERT INTO t VALUES (1)"))
        bad = writer.submit(insert_then_fail)
        after = writer.submit(lambda db: db.execute("INSERT INTO t VALUES (3)"))
        release.set()
        held.result(5), good.result(5), after.result(5)
        with pytest.raises(ValueError, match="bad input"):
            bad.result(5)
    finally:
        writer.close()

    assert rows(db_path) == [1, 3]


def test_a_commit_that_fails_fails_every_caller_and_keeps_nothing(db_path):
    writer = GroupCommitter(lambda: connect(db_path, busy_timeout=0.1))
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another connection holds the write lock
    try:
        futures = [
            writer.submit(lambda db, n=n: db.execute("INSERT INTO t VALUES (?)", (n,)))
            for n in range(5)
        ]
        for future in futures:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                future.result(5)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    # The writer is still usable once the lock is gone.
    assert asyncio.run(writer.run(lambda db: db.execute("INSERT INTO t VALUES (9)").rowcount)) == 1
    writer.close()
    assert rows(db_path) == [9]


ACCEPTING_RUNTIME = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    from local.async_invoke.engine import AsyncEngine
    from local.async_invoke.destinations import DestinationSender
    from local.cloud.functions import LocalFunction

    arn = "arn:aws:lambda:us-east-1:000000000000:function:worker"
    functions = {"worker": LocalFunction(name="worker", arn=arn, handler="h.h", code_dir=Path("."))}
    engine = AsyncEngine(Path(sys.argv[1]), functions, None, DestinationSender())
    filler = "x" * 20_000  # big enough that a commit takes a while

    async def client(first):
        for n in range(first, 10**9, 32):
            payload = json.dumps({"n": n, "filler": filler}).encode()
            request_id = await engine.accept("worker", payload)
            sys.stdout.write(f"{n} {request_id}\\n")
            sys.stdout.flush()

    async def main():
        await asyncio.gather(*(client(first) for first in range(32)))

    asyncio.run(main())
    """
)


def test_kill_9_while_accepts_are_in_flight_loses_no_answered_event_and_half_writes_none(
    tmp_path,
):
    db_path = tmp_path / "events.sqlite3"
    runtime = subprocess.Popen(
        [sys.executable, "-c", ACCEPTING_RUNTIME, str(db_path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    answered: dict[str, int] = {}
    try:
        assert runtime.stdout is not None
        deadline = time.monotonic() + 30
        while len(answered) < 300:
            line = runtime.stdout.readline()
            assert line, "the runtime exited by itself"
            assert time.monotonic() < deadline, "too slow to accept"
            n, request_id = line.split()
            answered[request_id] = int(n)
    finally:
        runtime.send_signal(signal.SIGKILL)
        runtime.wait()
    # Answers already written to the pipe before the kill count too.
    for line in runtime.stdout.read().splitlines():
        n, request_id = line.split()
        answered[request_id] = int(n)

    with connect(db_path) as db:  # opening recovers the WAL, as the next ackflow up does
        stored = {
            request_id: json.loads(payload)
            for request_id, payload in db.execute("SELECT request_id, payload FROM events")
        }
    missing = set(answered) - set(stored)
    assert not missing, f"{len(missing)} answered events are not in the store"
    for request_id, payload in stored.items():  # answered or not, every row is whole
        assert payload["filler"] == "x" * 20_000
        if request_id in answered:
            assert payload["n"] == answered[request_id]
    assert len(stored) >= len(answered)

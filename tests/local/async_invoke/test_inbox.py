"""The inbox: events acknowledged in another process become the engine's events, none lost,
none run twice, whether the engine runs meanwhile or starts after a crash."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import textwrap
import time

from local.async_invoke.engine import QueueObserver
from local.async_invoke.inbox import INBOX_FILE, Inbox, create_inbox, read_inbox
from local.async_invoke.store import connect
from tests.local.async_invoke.helpers import REPO, ScriptedExecutor, function, run_until


def add_all(inbox: Inbox, rows: list[tuple[str, bytes]]) -> list[int]:
    async def main() -> list[int]:
        now = time.time()
        return list(
            await asyncio.gather(*(inbox.add(rid, "worker", body, now) for rid, body in rows))
        )

    return asyncio.run(main())


def test_events_a_killed_front_acknowledged_run_once_when_the_engine_starts(tmp_path, make_engine):
    # The front commits its inbox and is killed -9 before any engine imports a row.
    script = textwrap.dedent(
        f"""
        import asyncio, os, signal, sys, time
        sys.path.insert(0, {str(REPO)!r})
        from pathlib import Path
        from local.async_invoke.inbox import Inbox

        async def main():
            inbox = Inbox(Path({str(tmp_path / INBOX_FILE)!r}))
            await asyncio.gather(
                *(inbox.add(f"id-{{n}}", "worker", b'{{"n": %d}}' % n, time.time())
                  for n in range(50))
            )
            print("acknowledged", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

        asyncio.run(main())
        """
    )
    front = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert front.returncode == -signal.SIGKILL, front.stderr
    assert front.stdout.strip() == "acknowledged"

    executor = ScriptedExecutor()
    engine = make_engine(function(), executor=executor, inbox_path=tmp_path / INBOX_FILE)
    assert engine.pending_count() == 50  # counted while still in the inbox only
    run_until(engine)

    assert sorted(c.request_id for c in executor.calls) == sorted(f"id-{n}" for n in range(50))
    assert sorted(json.loads(c.payload)["n"] for c in executor.calls) == list(range(50))


def test_rows_taken_but_not_yet_forgotten_are_not_run_again_by_the_next_engine(
    tmp_path, make_engine
):
    path = tmp_path / INBOX_FILE
    inbox = Inbox(path)
    add_all(inbox, [(f"id-{n}", b"{}") for n in range(10)])
    first_calls = ScriptedExecutor()
    run_until(make_engine(function(), executor=first_calls, inbox_path=path))
    assert len(first_calls.calls) == 10

    # The front died before it heard how far the engine got: every row is still there.
    db = connect(path)
    assert len(read_inbox(db, 0)[0]) == 10
    db.close()
    again = ScriptedExecutor()
    engine = make_engine(function(), executor=again, inbox_path=path)
    assert engine.pending_count() == 0
    run_until(engine)
    assert again.calls == []
    inbox.close()


def test_a_running_engine_takes_new_rows_when_told_and_reports_how_far_it_got(
    tmp_path, make_engine
):
    path = tmp_path / INBOX_FILE
    executor = ScriptedExecutor()
    engine = make_engine(function(), executor=executor, inbox_path=path)
    inbox = Inbox(path)
    imported: list[int] = []

    class Imports(QueueObserver):
        def imported(self, through_seq: int) -> None:
            imported.append(through_seq)

    engine.observer = Imports()

    async def main() -> None:
        runner = asyncio.create_task(engine.run())
        for batch in range(3):
            seqs = await asyncio.gather(
                *(inbox.add(f"id-{batch}-{n}", "worker", b"{}", time.time()) for n in range(5))
            )
            engine.inbox_arrived()
            while not imported or imported[-1] < max(seqs):
                await asyncio.sleep(0.005)
            await inbox.forget_through(imported[-1])
        while len(executor.calls) < 15:
            await asyncio.sleep(0.005)
        engine.stop()
        await runner

    asyncio.run(asyncio.wait_for(main(), 10))
    assert sorted(c.request_id for c in executor.calls) == sorted(
        f"id-{b}-{n}" for b in range(3) for n in range(5)
    )
    db = connect(path)
    assert read_inbox(db, 0) == ([], False)  # the front forgot what the engine took
    db.close()
    inbox.close()


def test_a_read_stops_at_its_byte_budget_and_says_more_follows(tmp_path):
    path = tmp_path / INBOX_FILE
    create_inbox(path)
    inbox = Inbox(path)
    add_all(inbox, [(f"id-{n}", b"x" * 1000) for n in range(10)])
    db = connect(path)
    rows, more = read_inbox(db, 0, max_bytes=3000)
    assert [r.request_id for r in rows] == ["id-0", "id-1", "id-2"] and more
    rows, more = read_inbox(db, rows[-1].seq, limit=7)
    assert len(rows) == 7 and more  # a full batch: there may be more
    assert read_inbox(db, rows[-1].seq) == ([], False)
    db.close()
    inbox.close()

"""Group commit for one SQLite file: a writer thread that commits concurrent work together.

Every piece of work is a function of the connection (``op(db) -> result``; a cursor it
returns is closed and becomes None). The writer
thread takes all the work waiting for it, runs it in one ``BEGIN IMMEDIATE`` transaction,
each function inside its own savepoint (so one that raises undoes only its own changes),
commits once, so that one fsync covers them all, and only then hands each caller its result.
A caller that has its result knows the work is on disk; one whose commit failed gets the
error and nothing of its work was kept.

No SQLite call happens on the caller's thread: an event loop awaits :meth:`run`, other
threads call :meth:`call`.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, NamedTuple, TypeVar

__all__ = ["MAX_BATCH", "GroupCommitter", "WriterClosed"]

T = TypeVar("T")
Op = Callable[[sqlite3.Connection], T]

MAX_BATCH = 1000
"""Most pieces of work in one transaction: bounds how long the write lock is held."""


class WriterClosed(RuntimeError):
    """The writer was closed: it takes no more work."""


class _Work(NamedTuple):
    op: Op[Any]
    future: Future[Any] | asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop | None
    """The loop that awaits ``future``; None for a thread's :class:`Future`."""


class GroupCommitter:
    """Runs work on one connection in its own thread, many callers per commit.

    ``connect`` opens the connection in the writer thread (SQLite connections belong to the
    thread that uses them). ``on_batch`` (for tests) is called with the size of each batch.
    """

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        *,
        name: str = "sqlite-writer",
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._work: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._on_batch = on_batch
        self._closed = False
        opened: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._serve, args=(connect, opened), name=name, daemon=True
        )
        self._thread.start()
        opened.result()  # the connection's own errors (a bad path, a broken file) surface here

    def submit(self, op: Op[T]) -> Future[T]:
        """Queue ``op``; its future resolves once the transaction holding it has committed."""
        future: Future[T] = Future()
        self._put(_Work(op, future, None))
        return future

    async def run(self, op: Op[T]) -> T:
        """:meth:`submit` for a coroutine: waits without blocking its event loop. (The
        results of one commit reach each loop in one wake-up.)"""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._put(_Work(op, future, loop))
        return await future

    def call(self, op: Op[T]) -> T:
        """:meth:`submit` and wait: for threads that are not an event loop."""
        return self.submit(op).result()

    def close(self) -> None:
        """Finish the work already queued, then close the connection and the thread."""
        if self._closed:
            return
        self._closed = True
        self._work.put(None)
        self._thread.join()

    def _put(self, work: _Work) -> None:
        if self._closed:
            raise WriterClosed("the event store is closed")
        self._work.put(work)

    # -- the writer thread -------------------------------------------------------------------

    def _serve(self, connect: Callable[[], sqlite3.Connection], opened: Future[None]) -> None:
        try:
            db = connect()
        except BaseException as error:
            opened.set_exception(error)
            return
        opened.set_result(None)
        try:
            while True:
                batch, closing = self._take()
                if batch:
                    self._commit(db, batch)
                if closing:
                    return
        finally:
            db.close()

    def _take(self) -> tuple[list[_Work], bool]:
        """Wait for work, then take all that is waiting (up to :data:`MAX_BATCH`); the work
        of callers that gave up (cancelled) is skipped."""
        batch: list[_Work] = []
        item = self._work.get()
        while True:
            if item is None:
                return batch, True
            if _still_wanted(item):
                batch.append(item)
            if len(batch) >= MAX_BATCH:
                return batch, False
            try:
                item = self._work.get_nowait()
            except queue.Empty:
                return batch, False

    def _commit(self, db: sqlite3.Connection, batch: list[_Work]) -> None:
        if self._on_batch is not None:
            self._on_batch(len(batch))
        outcomes: list[tuple[bool, Any]] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                for work in batch:
                    outcomes.append(_in_savepoint(db, work.op))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except Exception as error:  # the transaction failed: none of its work was kept
            outcomes = [(False, error)] * len(batch)
        _settle(batch, outcomes)


def _still_wanted(work: _Work) -> bool:
    if work.loop is None:
        return work.future.set_running_or_notify_cancel()  # type: ignore[union-attr]
    return not work.future.cancelled()


def _settle(batch: list[_Work], outcomes: list[tuple[bool, Any]]) -> None:
    """Hand each caller its outcome: a thread's future directly, each loop's in one call."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, bool, Any]]] = {}
    for work, (ok, value) in zip(batch, outcomes, strict=True):
        if work.loop is None:
            if ok:
                work.future.set_result(value)
            else:
                work.future.set_exception(value)
        else:
            by_loop.setdefault(work.loop, []).append((work.future, ok, value))
    for loop, results in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            loop.call_soon_threadsafe(_settle_on_loop, results)


def _settle_on_loop(results: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in results:
        if future.done():  # cancelled meanwhile
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def _in_savepoint(db: sqlite3.Connection, op: Op[Any]) -> tuple[bool, Any]:
    """Run ``op``; if it raises, undo its changes alone. A failure of SQLite itself (the
    savepoint statements) propagates and fails the whole transaction."""
    db.execute("SAVEPOINT op")
    try:
        value = op(db)
    except Exception as error:
        db.execute("ROLLBACK TO op")
        db.execute("RELEASE op")
        return False, error
    if isinstance(value, sqlite3.Cursor):
        # A cursor must not leave this thread: freed in another one, it resets a prepared
        # statement that this thread may be running again (SQLITE_MISUSE).
        value.close()
        value = None
    db.execute("RELEASE op")
    return True, value

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
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["MAX_BATCH", "GroupCommitter", "WriterClosed"]

log = logging.getLogger(__name__)

T = TypeVar("T")
Op = Callable[[sqlite3.Connection], T]

MAX_BATCH = 1000
"""Most pieces of work in one transaction: bounds how long the write lock is held."""


class WriterClosed(RuntimeError):
    """The writer was closed: it takes no more work."""


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
        self._work: queue.SimpleQueue[tuple[Op[Any], Future[Any]] | None] = queue.SimpleQueue()
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
        if self._closed:
            raise WriterClosed("the event store is closed")
        future: Future[T] = Future()
        self._work.put((op, future))
        return future

    async def run(self, op: Op[T]) -> T:
        """:meth:`submit` for a coroutine: waits without blocking its event loop."""
        return await asyncio.wrap_future(self.submit(op))

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

    def _take(self) -> tuple[list[tuple[Op[Any], Future[Any]]], bool]:
        """Wait for work, then take all that is waiting (up to :data:`MAX_BATCH`)."""
        batch: list[tuple[Op[Any], Future[Any]]] = []
        item = self._work.get()
        while True:
            if item is None:
                return batch, True
            op, future = item
            if future.set_running_or_notify_cancel():  # a cancelled caller's work is skipped
                batch.append((op, future))
            if len(batch) >= MAX_BATCH:
                return batch, False
            try:
                item = self._work.get_nowait()
            except queue.Empty:
                return batch, False

    def _commit(self, db: sqlite3.Connection, batch: list[tuple[Op[Any], Future[Any]]]) -> None:
        if self._on_batch is not None:
            self._on_batch(len(batch))
        outcomes: list[tuple[bool, Any]] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                for op, _ in batch:
                    outcomes.append(_in_savepoint(db, op))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except Exception as error:  # the transaction failed: none of its work was kept
            for _, future in batch:
                future.set_exception(error)
            return
        for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
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

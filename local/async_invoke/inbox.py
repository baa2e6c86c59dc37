"""The inbox: events acknowledged by the front process, until the engine takes them.

The front (:mod:`local.front.server`) answers the ``Event`` calls of the Invoke API and of
the REST gateway in a process of its own, so that a drain running in the engine's process
does not delay the 202. It writes each event to this SQLite file, fsync'ed before the 202 and
with concurrent accepts in one commit, and wakes the engine. The file is the front's alone: a
second writer on the engine's file would wait behind its locks (SQLite's busy handler sleeps).

The engine copies new rows into its event store, in one transaction that is idempotent by
request id (:meth:`~local.async_invoke.store.EventStore.import_events`), and tells the front
how far it got; the front then deletes those rows. A crash between the 202 and the copy loses
nothing: the engine copies what it finds when it starts.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, NamedTuple

from local.async_invoke.group_commit import GroupCommitter
from local.async_invoke.store import connect

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["INBOX_FILE", "Inbox", "InboxRow", "create_inbox", "read_inbox"]

INBOX_FILE = "inbox.sqlite3"
"""Its name, beside the engine's ``events.sqlite3``."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,     -- never reused: the engine copies seq > mark
    request_id TEXT NOT NULL UNIQUE,
    function_name TEXT NOT NULL,
    payload BLOB NOT NULL,
    received_at REAL NOT NULL
);
"""
_INSERT = "INSERT INTO inbox (request_id, function_name, payload, received_at) VALUES (?, ?, ?, ?)"


class InboxRow(NamedTuple):
    seq: int
    request_id: str
    function_name: str
    payload: bytes
    received_at: float


def create_inbox(path: Path) -> None:
    """Create the file and its table if they are missing."""
    db = connect(path)
    try:
        db.executescript(_SCHEMA)
    finally:
        db.close()


def read_inbox(
    db: sqlite3.Connection, after_seq: int, *, limit: int = 1000, max_bytes: int = 16 << 20
) -> tuple[list[InboxRow], bool]:
    """The rows after ``after_seq``, in order: up to ``limit`` of them, and no more once their
    payloads (up to 1 MB each) reach ``max_bytes``; and whether more may follow them."""
    rows: list[InboxRow] = []
    size = 0
    cursor = db.execute(
        "SELECT seq, request_id, function_name, payload, received_at FROM inbox"
        " WHERE seq > ? ORDER BY seq LIMIT ?",
        (after_seq, limit),
    )
    try:
        for row in cursor:
            rows.append(InboxRow(*row))
            size += len(row[3])
            if size >= max_bytes:
                return rows, True
    finally:
        cursor.close()
    return rows, len(rows) == limit


class Inbox:
    """The front's side: adds events, and forgets those the engine has taken."""

    def __init__(self, path: Path) -> None:
        create_inbox(path)
        self._writer = GroupCommitter(lambda: connect(path), name=f"inbox:{path.name}")

    async def add(
        self, request_id: str, function_name: str, payload: bytes, received_at: float
    ) -> int:
        """Store an event; returns its sequence number once it is on disk."""
        row = (request_id, function_name, payload, received_at)
        return await self._writer.run(lambda db: db.execute(_INSERT, row).lastrowid)

    async def forget_through(self, seq: int) -> None:
        """Delete the rows up to ``seq``: the engine has them."""
        await self._writer.run(lambda db: db.execute("DELETE FROM inbox WHERE seq <= ?", (seq,)))

    def close(self) -> None:
        self._writer.close()

"""The async engine's SQLite file: queued events and the outbox of their destination messages.

Every write is one ``BEGIN IMMEDIATE`` ... ``COMMIT`` transaction, in ``synchronous=FULL``
mode, so what a method wrote survives a crash once it returns. Any thread may call it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["Delivery", "Event", "EventState", "EventStatus", "EventStore", "Send"]

EventState = Literal["queued", "running", "done"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    request_id TEXT PRIMARY KEY,
    function_name TEXT NOT NULL,
    payload BLOB NOT NULL,
    received_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done')),
    next_attempt_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,       -- invocations that ran
    backoffs INTEGER NOT NULL DEFAULT 0,       -- refusals (throttles) since the last run
    last_payload BLOB,                         -- the last invocation's result or error
    last_function_error TEXT,
    last_refusal INTEGER,                      -- 429 / 500 when the last try was refused
    condition TEXT,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS events_due ON events (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('record', 'dead_letter')),
    target_arn TEXT NOT NULL,
    body BLOB NOT NULL,                        -- the record JSON, or the event for a DLQ
    attributes TEXT,                           -- a DLQ message's attributes, JSON
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sending', 'sent', 'rejected')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX IF NOT EXISTS deliveries_by_event ON deliveries (request_id);
"""


@dataclass(frozen=True)
class EventStatus:
    """Where one accepted event stands."""

    request_id: str
    function_name: str
    state: EventState
    attempts: int
    """Invocations that ran (throttles are not attempts)."""
    condition: str | None
    """``Success``, ``RetriesExhausted`` or ``EventAgeExceeded`` once done."""
    received_at: float
    next_attempt_at: float
    undelivered: int
    """Destination and DLQ messages for this event not yet taken by their target."""
    last_delivery_error: str | None


@dataclass(frozen=True)
class Event:
    """A queued event as the engine runs it."""

    request_id: str
    function_name: str
    payload: bytes
    received_at: float
    attempts: int
    backoffs: int
    last_payload: bytes | None
    last_function_error: str | None
    last_refusal: int | None


@dataclass(frozen=True)
class Delivery:
    """One outbox message: a destination record or a DLQ message."""

    id: int
    request_id: str
    kind: str
    target_arn: str
    body: bytes
    attributes: str | None
    attempts: int


class Send(NamedTuple):
    """An outbox message to queue when an event finishes."""

    kind: Literal["record", "dead_letter"]
    target_arn: str
    body: bytes
    attributes: str | None


class EventStore:
    """Events and their outbox in one SQLite file, created if missing."""

    def __init__(self, db_path: Path) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # Autocommit mode: every write happens inside an explicit BEGIN IMMEDIATE ... COMMIT.
        self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- events ------------------------------------------------------------------------------

    def add_event(self, request_id: str, function_name: str, payload: bytes, now: float) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO events (request_id, function_name, payload, received_at,"
                " next_attempt_at) VALUES (?, ?, ?, ?, ?)",
                (request_id, function_name, payload, now, now),
            )

    def recover(self) -> tuple[int, int]:
        """Put back what a crash left running or sending; returns (events, messages) put back."""
        with self._transaction() as db:
            events = db.execute("UPDATE events SET state = 'queued' WHERE state = 'running'")
            sends = db.execute("UPDATE deliveries SET state = 'pending' WHERE state = 'sending'")
        return events.rowcount, sends.rowcount

    def claim_events(
        self, now: float, limit: int, *, skip: list[str], admit: Callable[[str], bool]
    ) -> list[Event]:
        """Mark up to ``limit`` due queued events running, soonest due first, and return them.

        Events of the functions in ``skip`` stay queued, and so does each event that ``admit``
        (asked with its function's name, in due order, inside the transaction) turns down.
        """
        with self._transaction() as db:
            candidates = db.execute(
                "SELECT request_id, function_name, payload, received_at, attempts, backoffs,"
                " last_payload, last_function_error, last_refusal FROM events"
                f" WHERE state = 'queued' AND next_attempt_at <= ? AND {_not_in(skip)}"
                " ORDER BY next_attempt_at LIMIT ?",
                (now, *skip, limit),
            ).fetchall()
            rows = [row for row in candidates if admit(row[1])]
            db.executemany(
                "UPDATE events SET state = 'running' WHERE request_id = ?",
                [(row[0],) for row in rows],
            )
        return [Event(*row) for row in rows]

    def requeue(self, request_id: str) -> None:
        """A running event goes back to the queue unchanged (its run was cut short)."""
        with self._transaction() as db:
            db.execute(
                "UPDATE events SET state = 'queued' WHERE request_id = ? AND state = 'running'",
                (request_id,),
            )

    def reschedule(self, event: Event, next_at: float) -> None:
        """Queue ``event`` again, due at ``next_at``, with its counters and last outcome."""
        with self._transaction() as db:
            db.execute(
                "UPDATE events SET state = 'queued', next_attempt_at = ?, attempts = ?,"
                " backoffs = ?, last_payload = ?, last_function_error = ?, last_refusal = ?"
                " WHERE request_id = ?",
                (
                    next_at,
                    event.attempts,
                    event.backoffs,
                    event.last_payload,
                    event.last_function_error,
                    event.last_refusal,
                    event.request_id,
                ),
            )

    def finish(self, event: Event, condition: str, sends: list[Send], now: float) -> None:
        """Mark the event done and queue its outbox messages, in one transaction."""
        with self._transaction() as db:
            db.execute(
                "UPDATE events SET state = 'done', condition = ?, finished_at = ?, attempts = ?,"
                " last_payload = ?, last_function_error = ?, last_refusal = ?"
                " WHERE request_id = ?",
                (
                    condition,
                    now,
                    event.attempts,
                    event.last_payload,
                    event.last_function_error,
                    event.last_refusal,
                    event.request_id,
                ),
            )
            db.executemany(
                "INSERT INTO deliveries (request_id, kind, target_arn, body, attributes,"
                " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
                [(event.request_id, *send, now) for send in sends],
            )

    def next_event_at(self, *, skip: list[str]) -> float | None:
        """When the soonest queued event not of a function in ``skip`` is due; None: none."""
        with self._lock:
            (next_at,) = self._db.execute(
                "SELECT min(next_attempt_at) FROM events"
                f" WHERE state = 'queued' AND {_not_in(skip)}",
                skip,
            ).fetchone()
        return next_at

    # -- the outbox --------------------------------------------------------------------------

    def claim_deliveries(self, now: float, limit: int) -> list[Delivery]:
        """Mark up to ``limit`` due pending messages sending, soonest due first; return them."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT id, request_id, kind, target_arn, body, attributes, attempts"
                " FROM deliveries WHERE state = 'pending' AND next_attempt_at <= ?"
                " ORDER BY next_attempt_at LIMIT ?",
                (now, limit),
            ).fetchall()
            db.executemany(
                "UPDATE deliveries SET state = 'sending' WHERE id = ?", [(row[0],) for row in rows]
            )
        return [Delivery(*row) for row in rows]

    def release_delivery(self, delivery_id: int) -> None:
        """A message whose send was cut short is pending again, its attempts unchanged."""
        with self._transaction() as db:
            db.execute("UPDATE deliveries SET state = 'pending' WHERE id = ?", (delivery_id,))

    def delivery_tried(
        self,
        delivery_id: int,
        state: Literal["pending", "sent", "rejected"],
        attempts: int,
        error: str | None,
        next_at: float | None = None,
    ) -> None:
        """Record a send's outcome; ``next_at`` (when given) is when to try a pending one again."""
        with self._transaction() as db:
            db.execute(
                "UPDATE deliveries SET state = ?, attempts = ?, last_error = ?,"
                " next_attempt_at = coalesce(?, next_attempt_at) WHERE id = ?",
                (state, attempts, error, next_at, delivery_id),
            )

    def next_delivery_at(self) -> float | None:
        """When the soonest pending message is due; None: none is pending."""
        with self._lock:
            (next_at,) = self._db.execute(
                "SELECT min(next_attempt_at) FROM deliveries WHERE state = 'pending'"
            ).fetchone()
        return next_at

    # -- queries -----------------------------------------------------------------------------

    def status(self, request_id: str) -> EventStatus:
        with self._lock:
            row = self._db.execute(
                "SELECT function_name, state, attempts, condition, received_at, next_attempt_at"
                " FROM events WHERE request_id = ?",
                (request_id,),
            ).fetchone()
            if row is None:
                raise KeyError(f"no event with request id {request_id}")
            deliveries = self._db.execute(
                "SELECT state, last_error FROM deliveries WHERE request_id = ? ORDER BY id",
                (request_id,),
            ).fetchall()
        function_name, state, attempts, condition, received_at, next_attempt_at = row
        return EventStatus(
            request_id=request_id,
            function_name=function_name,
            state=state,
            attempts=attempts,
            condition=condition,
            received_at=received_at,
            next_attempt_at=next_attempt_at,
            undelivered=sum(sending in ("pending", "sending") for sending, _ in deliveries),
            last_delivery_error=next((error for _, error in reversed(deliveries) if error), None),
        )

    def pending_count(self, function_name: str | None = None) -> int:
        """Events not done yet (queued or running), for one function or all."""
        query = "SELECT count(*) FROM events WHERE state != 'done'"
        args: tuple[str, ...] = ()
        if function_name is not None:
            query, args = query + " AND function_name = ?", (function_name,)
        with self._lock:
            return self._db.execute(query, args).fetchone()[0]

    def undelivered_count(self) -> int:
        """Destination and DLQ messages not yet taken by their target."""
        with self._lock:
            return self._db.execute(
                "SELECT count(*) FROM deliveries WHERE state IN ('pending', 'sending')"
            ).fetchone()[0]

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken before its first read, committed on leaving."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")


def _not_in(names: list[str]) -> str:
    """A SQL condition excluding ``names`` (bound as parameters)."""
    return f"function_name NOT IN ({', '.join('?' * len(names))})" if names else "1"

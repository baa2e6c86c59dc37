"""The async engine's SQLite file: queued events and the outbox of their destination messages.

Writes go through a :class:`~local.async_invoke.group_commit.GroupCommitter`: concurrent
writes share one ``BEGIN IMMEDIATE`` ... ``COMMIT`` in ``synchronous=FULL`` mode, so what an
awaited method wrote survives a crash once it returns, and no SQLite call runs on the event
loop. The blocking queries at the end (:meth:`EventStore.status` and the counts) read on a
connection of their own, for threads other than the loop (the tests, the CLI).

Besides the events and the outbox, the file keeps when the runtime was last alive, so that
the time it was down does not age an event (see :meth:`EventStore.start`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple

from local.async_invoke.group_commit import GroupCommitter

if TYPE_CHECKING:
    from pathlib import Path

    from local.async_invoke.inbox import InboxRow

__all__ = [
    "AWAITING_FIRST_RUN",
    "BUSY_TIMEOUT_SECONDS",
    "NOT_IMPORTED",
    "Delivery",
    "DeliveryOutcome",
    "Event",
    "EventState",
    "EventStatus",
    "EventStore",
    "Recovery",
    "Send",
    "Work",
    "connect",
]

EventState = Literal["queued", "running", "done"]
DeliveryState = Literal["pending", "sending", "sent", "rejected"]

BUSY_TIMEOUT_SECONDS = 5.0
"""How long a connection waits for another one's write lock before it gives up."""
AWAITING_FIRST_RUN = "state = 'queued' AND attempts = 0 AND backoffs = 0"
"""The events still waiting for their first run (not retries, not throttled), in SQL: the
queue ``ackflow events`` shows and the async engine's intake counts (:attr:`Event.first_try`)."""
NOT_IMPORTED = "inbox.inbox WHERE request_id NOT IN (SELECT request_id FROM main.events)"
"""The rows of an inbox attached as ``inbox`` (:mod:`local.async_invoke.inbox`) that are not
events yet, in SQL: they count as queued."""
WAL_LIMIT_BYTES = 64 * 1024 * 1024
"""The write-ahead log is truncated to this size after a checkpoint (it grows with bursts)."""

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
CREATE TABLE IF NOT EXISTS runtime (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    alive_at REAL NOT NULL                     -- the last heartbeat of a running engine
);
"""

# Columns added since the first schema: (table, column, declaration). Added to older files.
_ADDED_COLUMNS = (
    ("events", "paused_seconds", "REAL NOT NULL DEFAULT 0"),  # the runtime was down meanwhile
    ("events", "ran_seconds", "REAL NOT NULL DEFAULT 0"),  # spent in invocations
    ("events", "started_at", "REAL"),  # when its current run started
    ("deliveries", "done_at", "REAL"),  # when it was sent or rejected
)
_LATER_INDEXES = """
CREATE INDEX IF NOT EXISTS events_by_function ON events (function_name, state, condition);
CREATE INDEX IF NOT EXISTS events_finished ON events (finished_at) WHERE state = 'done';
CREATE INDEX IF NOT EXISTS deliveries_done ON deliveries (done_at)
    WHERE state IN ('sent', 'rejected');
"""

_EVENT_COLUMNS = (
    "request_id, function_name, payload, received_at, attempts, backoffs, last_payload,"
    " last_function_error, last_refusal, paused_seconds, ran_seconds"
)
_DELIVERY_COLUMNS = "id, request_id, kind, target_arn, body, attributes, attempts"


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
    paused_seconds: float = 0.0
    """Time the runtime was down since the event arrived: it does not age the event."""
    ran_seconds: float = 0.0
    """Time spent in invocations so far."""

    @property
    def first_try(self) -> bool:
        """Claimed for its first run: one of the :data:`AWAITING_FIRST_RUN` until now."""
        return self.attempts == 0 and self.backoffs == 0


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


class DeliveryOutcome(NamedTuple):
    """What became of one send: ``sent``, ``rejected`` for good, or ``pending`` again at
    ``next_at``. ``error`` says why (for a sent message: what was changed to send it)."""

    delivery_id: int
    state: Literal["pending", "sent", "rejected"]
    attempts: int
    error: str | None = None
    next_at: float | None = None


class Work(NamedTuple):
    """What :meth:`EventStore.take_work` claimed, and when more will be due."""

    events: list[Event]
    deliveries: list[Delivery]
    next_event_at: float | None
    """When the soonest queued event of a function with room left is due (None: none)."""
    next_delivery_at: float | None
    """When the soonest pending message is due, if there is room for more (None: none)."""


class Recovery(NamedTuple):
    """What :meth:`EventStore.start` found: work a crash left in flight, and downtime."""

    events: int
    messages: int
    down_seconds: float | None
    """How long no engine ran before this start; None when none ever ran on this file."""
    awaiting_first_run: dict[str, int]
    """Per function, the queued events that have not run yet, nor been throttled."""


def connect(db_path: Path, *, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, fsync on commit."""
    db = sqlite3.connect(
        db_path, timeout=busy_timeout, check_same_thread=False, isolation_level=None
    )
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT_BYTES}")
    return db


class EventStore:
    """Events and their outbox in one SQLite file, created (or brought up to date) if needed."""

    def __init__(
        self,
        db_path: Path,
        *,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
        inbox_path: Path | None = None,
    ) -> None:
        """``inbox_path``: an inbox whose rows the queries count as queued until imported."""
        db_path.parent.mkdir(parents=True, exist_ok=True)

        def open_writer() -> sqlite3.Connection:
            db = connect(db_path, busy_timeout=busy_timeout)
            _create_schema(db)
            return db

        self._writer = GroupCommitter(open_writer, name=f"event-store:{db_path.name}")
        self._reader = connect(db_path, busy_timeout=busy_timeout)
        self._inbox_attached = inbox_path is not None
        if inbox_path is not None:
            self._reader.execute("ATTACH DATABASE ? AS inbox", (str(inbox_path),))
        self._read_lock = threading.Lock()

    def close(self) -> None:
        self._writer.close()
        with self._read_lock:
            self._reader.close()

    # -- accepting ---------------------------------------------------------------------------

    async def add_event(
        self, request_id: str, function_name: str, payload: bytes, now: float
    ) -> None:
        """Store a new event; returns once it is on disk."""
        row = (request_id, function_name, payload, now, now)
        await self._writer.run(lambda db: db.execute(_INSERT_EVENT, row))

    async def import_events(
        self, read: Callable[[], tuple[Sequence[InboxRow], bool]]
    ) -> tuple[list[tuple[int, str]], bool]:
        """Copy in events another process acknowledged: ``read`` (rows, and whether more may
        follow) runs inside the transaction that stores them. An event already here is left
        as it is. Returns each event's inbox sequence number and function, and ``read``'s
        "more"."""

        def copy(db: sqlite3.Connection) -> tuple[list[tuple[int, str]], bool]:
            rows, more = read()
            db.executemany(
                _IMPORT_EVENT,
                [
                    (r.request_id, r.function_name, r.payload, r.received_at, r.received_at)
                    for r in rows
                ],
            )
            return [(r.seq, r.function_name) for r in rows], more

        return await self._writer.run(copy)

    # -- the engine's lifecycle --------------------------------------------------------------

    async def start(self, now: float) -> Recovery:
        """Take over the file as its running engine.

        Events and messages a crash left running or sending are put back (AWS runs such
        events again: at least once), a running event's run counting until the runtime was
        last alive. The time no engine ran, since each waiting event arrived, is added to
        its ``paused_seconds``: the runtime's downtime does not age an event.
        """
        return await self._writer.run(lambda db: _start(db, now))

    async def heartbeat(self, now: float) -> None:
        """Note that the engine is alive (the start after a crash counts downtime from here)."""
        await self._writer.run(lambda db: _set_alive(db, now))

    async def stop(self, now: float) -> int:
        """Put the running events back in the queue (their run so far counted) and the
        messages being sent back in the outbox, as the engine stops; returns the events."""

        def stop(db: sqlite3.Connection) -> int:
            _set_alive(db, now)
            db.execute("UPDATE deliveries SET state = 'pending' WHERE state = 'sending'")
            return _requeue_running(db, now)

        return await self._writer.run(stop)

    # -- events ------------------------------------------------------------------------------

    async def reschedule(self, event: Event, next_at: float) -> None:
        """Queue ``event`` again, due at ``next_at``, with its counters and last outcome."""
        row = (
            next_at,
            event.attempts,
            event.backoffs,
            event.last_payload,
            event.last_function_error,
            event.last_refusal,
            event.ran_seconds,
            event.request_id,
        )
        await self._writer.run(
            lambda db: db.execute(
                "UPDATE events SET state = 'queued', next_attempt_at = ?, attempts = ?,"
                " backoffs = ?, last_payload = ?, last_function_error = ?, last_refusal = ?,"
                " ran_seconds = ?, started_at = NULL WHERE request_id = ?",
                row,
            )
        )

    async def finish(self, event: Event, condition: str, sends: list[Send], now: float) -> None:
        """Mark the event done and queue its outbox messages, in one transaction."""
        row = (
            condition,
            now,
            event.attempts,
            event.last_payload,
            event.last_function_error,
            event.last_refusal,
            event.ran_seconds,
            event.request_id,
        )
        messages = [(event.request_id, *send, now) for send in sends]

        def finish(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE events SET state = 'done', condition = ?, finished_at = ?, attempts = ?,"
                " last_payload = ?, last_function_error = ?, last_refusal = ?, ran_seconds = ?,"
                " started_at = NULL WHERE request_id = ?",
                row,
            )
            db.executemany(
                "INSERT INTO deliveries (request_id, kind, target_arn, body, attributes,"
                " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
                messages,
            )

        await self._writer.run(finish)

    # -- claiming work -----------------------------------------------------------------------

    async def take_work(
        self,
        now: float,
        *,
        events: int,
        room: Mapping[str, int],
        default_room: int,
        deliveries: int,
        target_room: Mapping[str, int] | None = None,
        default_target_room: int | None = None,
    ) -> Work:
        """Claim what is due, in one transaction: up to ``events`` queued events, soonest due
        first, at most ``room[name]`` of a function (``default_room`` for one not named),
        marked running; up to ``deliveries`` pending messages, as many of a target as
        ``target_room`` (or ``default_target_room``) allows, marked sending. Also says when
        the next of each will be due (of those with room)."""
        functions = _Room(dict(room), default_room)
        targets = _Room(dict(target_room or {}), default_target_room or deliveries)
        return await self._writer.run(
            lambda db: _take_work(db, now, events, functions, deliveries, targets)
        )

    # -- the outbox --------------------------------------------------------------------------

    async def deliveries_tried(self, outcomes: Sequence[DeliveryOutcome], now: float) -> None:
        """Record what became of sends (one transaction for a whole batch)."""
        rows = [
            (o.state, o.attempts, o.error, o.next_at, _done_at(o, now), o.delivery_id)
            for o in outcomes
        ]
        if rows:
            await self._writer.run(
                lambda db: db.executemany(
                    "UPDATE deliveries SET state = ?, attempts = ?, last_error = ?,"
                    " next_attempt_at = coalesce(?, next_attempt_at), done_at = ? WHERE id = ?",
                    rows,
                )
            )

    async def release_deliveries(self, delivery_ids: Iterable[int]) -> None:
        """Messages whose send was cut short are pending again, their attempts unchanged."""
        rows = [(delivery_id,) for delivery_id in delivery_ids]
        if rows:
            await self._writer.run(
                lambda db: db.executemany(
                    "UPDATE deliveries SET state = 'pending' WHERE id = ? AND state = 'sending'",
                    rows,
                )
            )

    # -- retention ---------------------------------------------------------------------------

    async def prune(self, finished_before: float, limit: int) -> tuple[int, int]:
        """Delete up to ``limit`` events finished before ``finished_before`` (once none of their
        messages is owed) and as many messages sent or rejected before it; returns the counts."""

        def prune(db: sqlite3.Connection) -> tuple[int, int]:
            messages = db.execute(
                "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries"
                " WHERE state IN ('sent', 'rejected') AND done_at < ? LIMIT ?)",
                (finished_before, limit),
            ).rowcount
            events = db.execute(
                "DELETE FROM events WHERE request_id IN (SELECT request_id FROM events AS e"
                " WHERE state = 'done' AND finished_at < ? AND NOT EXISTS (SELECT 1 FROM"
                " deliveries AS d WHERE d.request_id = e.request_id"
                " AND d.state IN ('pending', 'sending')) LIMIT ?)",
                (finished_before, limit),
            ).rowcount
            return events, messages

        return await self._writer.run(prune)

    # -- blocking queries (not for the event loop) -------------------------------------------

    def status(self, request_id: str) -> EventStatus:
        with self._read_lock:
            row = self._reader.execute(
                "SELECT function_name, state, attempts, condition, received_at, next_attempt_at"
                " FROM events WHERE request_id = ?",
                (request_id,),
            ).fetchone()
            if row is None and self._inbox_attached:  # acknowledged, not imported yet
                row = self._reader.execute(
                    "SELECT function_name, 'queued', 0, NULL, received_at, received_at"
                    f" FROM {NOT_IMPORTED} AND request_id = ?",
                    (request_id,),
                ).fetchone()
            if row is None:
                raise KeyError(f"no event with request id {request_id}")
            deliveries = self._reader.execute(
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
        """Events not done yet (queued, running, or in the inbox), for one function or all."""
        counts = ["SELECT count(*) FROM events WHERE state != 'done'"]
        if self._inbox_attached:
            counts.append(f"SELECT count(*) FROM {NOT_IMPORTED}")
        args: tuple[str, ...] = ()
        if function_name is not None:
            counts = [count + " AND function_name = ?" for count in counts]
            args = (function_name,) * len(counts)
        query = "SELECT " + " + ".join(f"({count})" for count in counts)
        with self._read_lock:
            return self._reader.execute(query, args).fetchone()[0]

    def undelivered_count(self) -> int:
        """Destination and DLQ messages not yet taken by their target."""
        with self._read_lock:
            return self._reader.execute(
                "SELECT count(*) FROM deliveries WHERE state IN ('pending', 'sending')"
            ).fetchone()[0]


_INSERT_EVENT = (
    "INSERT INTO events (request_id, function_name, payload, received_at, next_attempt_at)"
    " VALUES (?, ?, ?, ?, ?)"
)
_IMPORT_EVENT = _INSERT_EVENT.replace("INSERT", "INSERT OR IGNORE", 1)


def _done_at(outcome: DeliveryOutcome, now: float) -> float | None:
    return None if outcome.state == "pending" else now


def _create_schema(db: sqlite3.Connection) -> None:
    db.executescript(_SCHEMA)
    for table, column, declaration in _ADDED_COLUMNS:
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
    db.executescript(_LATER_INDEXES)


def _start(db: sqlite3.Connection, now: float) -> Recovery:
    alive = db.execute("SELECT alive_at FROM runtime").fetchone()
    alive_at = alive[0] if alive else None
    events = _requeue_running(db, alive_at if alive_at is not None else now)
    messages = db.execute(
        "UPDATE deliveries SET state = 'pending' WHERE state = 'sending'"
    ).rowcount
    # Downtime: from the last heartbeat (or the event's arrival, if later) until now.
    down_since = "received_at" if alive_at is None else "max(?, received_at)"
    db.execute(
        f"UPDATE events SET paused_seconds = paused_seconds + max(0, ? - {down_since})"
        " WHERE state != 'done'",
        (now,) if alive_at is None else (now, alive_at),
    )
    _set_alive(db, now)
    down = None if alive_at is None else max(0.0, now - alive_at)
    awaiting = db.execute(
        f"SELECT function_name, count(*) FROM events WHERE {AWAITING_FIRST_RUN}"
        " GROUP BY function_name"
    ).fetchall()
    return Recovery(events, messages, down, dict(awaiting))


@dataclass
class _Room:
    """How many more of each kind (a function's events, a target's messages) may be claimed."""

    left: dict[str, int]
    default: int

    def full(self) -> list[str]:
        return [name for name, left in self.left.items() if left <= 0]

    def take(self, name: str) -> bool:
        left = self.left.get(name, self.default)
        if left > 0:
            self.left[name] = left - 1
        return left > 0


def _take_work(
    db: sqlite3.Connection,
    now: float,
    limit: int,
    room: _Room,
    delivery_limit: int,
    target_room: _Room,
) -> Work:
    claimed: list[Event] = []
    if limit > 0:
        full = room.full()
        rows = db.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events"
            f" WHERE state = 'queued' AND next_attempt_at <= ? AND {_not_in('function_name', full)}"
            " ORDER BY next_attempt_at LIMIT ?",
            (now, *full, limit),
        ).fetchall()
        events = (Event(*row) for row in rows)
        claimed = [event for event in events if room.take(event.function_name)]
        db.executemany(
            "UPDATE events SET state = 'running', started_at = ? WHERE request_id = ?",
            [(now, event.request_id) for event in claimed],
        )
    next_event_at = None
    if len(claimed) < limit:
        full = room.full()
        (next_event_at,) = db.execute(
            "SELECT min(next_attempt_at) FROM events"
            f" WHERE state = 'queued' AND {_not_in('function_name', full)}",
            full,
        ).fetchone()
    messages: list[Delivery] = []
    next_delivery_at = None
    if delivery_limit > 0:
        full = target_room.full()
        rows = db.execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries"
            f" WHERE state = 'pending' AND next_attempt_at <= ? AND {_not_in('target_arn', full)}"
            " ORDER BY next_attempt_at LIMIT ?",
            (now, *full, delivery_limit),
        ).fetchall()
        deliveries = (Delivery(*row) for row in rows)
        messages = [m for m in deliveries if target_room.take(m.target_arn)]
        db.executemany(
            "UPDATE deliveries SET state = 'sending' WHERE id = ?", [(m.id,) for m in messages]
        )
        if len(messages) < delivery_limit:
            full = target_room.full()
            (next_delivery_at,) = db.execute(
                "SELECT min(next_attempt_at) FROM deliveries"
                f" WHERE state = 'pending' AND {_not_in('target_arn', full)}",
                full,
            ).fetchone()
    return Work(claimed, messages, next_event_at, next_delivery_at)


def _requeue_running(db: sqlite3.Connection, ran_until: float) -> int:
    return db.execute(
        "UPDATE events SET state = 'queued',"
        " ran_seconds = ran_seconds + max(0, ? - coalesce(started_at, ?)), started_at = NULL"
        " WHERE state = 'running'",
        (ran_until, ran_until),
    ).rowcount


def _set_alive(db: sqlite3.Connection, now: float) -> None:
    db.execute("INSERT OR REPLACE INTO runtime (id, alive_at) VALUES (1, ?)", (now,))


def _not_in(column: str, names: Sequence[str]) -> str:
    """A SQL condition excluding ``names`` from ``column`` (bound as parameters)."""
    return f"{column} NOT IN ({', '.join('?' * len(names))})" if names else "1"

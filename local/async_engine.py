"""The durable asynchronous invocation queue: AWS Lambda's ``Event`` invocations, locally.

:meth:`AsyncEngine.accept` stores an event in SQLite and commits before it returns, so the
Lambda service answers 202 only for an event that survives a crash. :meth:`AsyncEngine.run`
then runs due events with AWS's semantics:

- a function error is retried 60 s, then 120 s, after the failed attempt, up to the
  function's ``retries``; then the event fails with ``RetriesExhausted``;
- a throttle (:class:`~local.invocation.Throttled`) or a system error puts the event back
  with exponential backoff (1 s doubling, at most 300 s), not counted as an attempt;
- an event as old as its maximum event age fails with ``EventAgeExceeded`` instead of
  being run again;
- a function with reserved concurrency 0 fails every event at once, without running it:
  AWS sends those straight to the failure destination / DLQ. The record then says
  ``RetriesExhausted`` with ``approximateInvokeCount`` 0.

A finished event's records are written to an outbox in the same transaction that finishes
it; each is sent by the :class:`~local.destinations.DestinationSender` and retried with
backoff until the destination takes it, across restarts too. A failed event goes to its
on-failure destination *and* its dead-letter queue when both are set: AWS documents that
destinations can be configured "in addition to or instead of" a DLQ.

Delivery is at least once, like AWS's: events left running by a crash run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from local.destinations import DeliveryRejected
from local.invocation import Throttled

if TYPE_CHECKING:
    from pathlib import Path

    from local.destinations import DestinationSender
    from local.invocation import Executor, InvocationResult
    from local.model import LocalFunction

__all__ = [
    "DEFAULT_TIME_SCALE",
    "EVENT_AGE_EXCEEDED",
    "MAX_ASYNC_PAYLOAD_BYTES",
    "RETRIES_EXHAUSTED",
    "SUCCESS",
    "AsyncEngine",
    "EventState",
    "EventStatus",
    "PayloadTooLarge",
    "invocation_record",
]

log = logging.getLogger(__name__)

DEFAULT_TIME_SCALE = 0.01
"""Local seconds per AWS second: AWS's 1 min + 2 min retry schedule takes 0.6 s + 1.2 s,
throttle backoff starts at 10 ms, and a maximum event age of 1 hour lasts 36 s."""

MAX_ASYNC_PAYLOAD_BYTES = 1_048_576
FUNCTION_ERROR_RETRY_DELAYS = (60.0, 120.0)
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 300.0
MAX_RUNNING_EVENTS = 64
MAX_RUNNING_DELIVERIES = 16

SUCCESS = "Success"
RETRIES_EXHAUSTED = "RetriesExhausted"
EVENT_AGE_EXCEEDED = "EventAgeExceeded"
FUNCTION_NOT_FOUND = "FunctionNotFound"
"""Condition of an event whose function left the stack between two runs (no record sent)."""

LATEST = "$LATEST"
THROTTLED_STATUS = 429
SYSTEM_ERROR_STATUS = 500
FUNCTION_ERROR_STATUS = 200
"""A function error is an invocation that answered 200; the DLQ's ``ErrorCode`` says so."""
# Design assumption (AWS does not document these): when no invocation ran, the record's
# responseContext carries the refusal's status (429 throttled, 500 system error), no
# functionError, and responsePayload is the error document Invoke would have answered.
_REFUSALS = {
    THROTTLED_STATUS: {"errorMessage": "Rate Exceeded.", "errorType": "TooManyRequestsException"},
    SYSTEM_ERROR_STATUS: {
        "errorMessage": "The Lambda service could not run the function.",
        "errorType": "ServiceException",
    },
}

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


class PayloadTooLarge(ValueError):
    """An asynchronous payload over 1 MB (the Invoke API's 413 RequestEntityTooLargeException)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.limit = MAX_ASYNC_PAYLOAD_BYTES
        super().__init__(
            f"{size} byte payload is over the {MAX_ASYNC_PAYLOAD_BYTES} byte limit "
            "for the Event invocation type"
        )


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
class _Event:
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
class _Delivery:
    id: int
    request_id: str
    kind: str
    target_arn: str
    body: bytes
    attributes: str | None
    attempts: int


def invocation_record(
    *,
    request_id: str,
    function_arn: str,
    condition: str,
    invoke_count: int,
    request_payload: bytes,
    response_payload: bytes | None,
    function_error: str | None,
    refusal: int | None = None,
    at: float,
) -> dict[str, Any]:
    """AWS's destination record. ``response_payload`` is None when no invocation ran."""
    if response_payload is None:
        status = refusal or THROTTLED_STATUS
        response_context: dict[str, Any] = {"statusCode": status, "executedVersion": LATEST}
        response: Any = _REFUSALS.get(status, _REFUSALS[THROTTLED_STATUS])
    else:
        response_context = {"statusCode": 200, "executedVersion": LATEST}
        if function_error:
            response_context["functionError"] = function_error
        response = _json_or_text(response_payload) if response_payload else None
    return {
        "version": "1.0",
        "timestamp": _iso_millis(at),
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{function_arn}:{LATEST}",
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": _json_or_text(request_payload),
        "responseContext": response_context,
        "responsePayload": response,
    }


class AsyncEngine:
    """A durable queue of asynchronous invocations, run with AWS's retry and age rules.

    Every delay (retries, throttle backoff, destination retries) and the maximum event age
    are multiplied by ``time_scale`` (see :data:`DEFAULT_TIME_SCALE`); ``clock`` gives epoch
    seconds. ``accept`` may be called from any thread; ``run`` runs in one event loop.
    """

    def __init__(
        self,
        db_path: Path,
        functions: Mapping[str, LocalFunction],
        executor: Executor,
        destinations: DestinationSender,
        *,
        time_scale: float = DEFAULT_TIME_SCALE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be above 0, got {time_scale}")
        self._functions = functions
        self._executor = executor
        self._destinations = destinations
        self._scale = time_scale
        self._clock = clock
        if destinations.invoke_async is None:
            destinations.invoke_async = self.invoke_async
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # Autocommit mode: every write happens inside an explicit BEGIN IMMEDIATE ... COMMIT.
        self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False
        self._events: dict[str, asyncio.Task[None]] = {}
        self._running: Counter[str] = Counter()
        self._deliveries: dict[int, asyncio.Task[None]] = {}

    # -- accepting ---------------------------------------------------------------------------

    def accept(self, function_name: str, payload: bytes) -> str:
        """Queue an event for ``function_name``, durably; returns its request id."""
        if function_name not in self._functions:
            raise KeyError(f"Function not found: {function_name}")
        payload = bytes(payload)
        if len(payload) > MAX_ASYNC_PAYLOAD_BYTES:
            raise PayloadTooLarge(len(payload))
        request_id = str(uuid.uuid4())
        now = self._clock()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO events (request_id, function_name, payload, received_at,"
                " next_attempt_at) VALUES (?, ?, ?, ?, ?)",
                (request_id, function_name, payload, now, now),
            )
        self._notify()
        return request_id

    async def invoke_async(self, function_name: str, payload: bytes) -> str:
        """:meth:`accept` for awaiting callers: how a Lambda destination is invoked."""
        return self.accept(function_name, payload)

    # -- running -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Run due events and send pending records until :meth:`stop`."""
        if self._loop is not None:
            raise RuntimeError("this engine is already running")
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        try:
            self._recover()
            while not self._stopping:
                self._wake.clear()
                self._start_due_events()
                self._start_due_deliveries()
                delay = self._seconds_to_next_due()
                if delay is None:
                    await self._wake.wait()
                elif delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), delay)
        finally:
            tasks = [*self._events.values(), *self._deliveries.values()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._loop = self._wake = None

    def stop(self) -> None:
        """Make :meth:`run` return; events being run go back to the queue."""
        self._stopping = True
        self._notify()

    def close(self) -> None:
        with self._lock:
            self._db.close()

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

    def is_idle(self) -> bool:
        """Nothing left to run or to send."""
        return self.pending_count() == 0 and self.undelivered_count() == 0

    # -- the loop's steps --------------------------------------------------------------------

    def _recover(self) -> None:
        """Put back what a crash left in flight: AWS runs such events again (at least once)."""
        with self._transaction() as db:
            events = db.execute("UPDATE events SET state = 'queued' WHERE state = 'running'")
            sends = db.execute("UPDATE deliveries SET state = 'pending' WHERE state = 'sending'")
        if events.rowcount or sends.rowcount:
            log.info(
                "requeued %d event(s) and %d destination message(s) left in flight",
                events.rowcount,
                sends.rowcount,
            )

    def _start_due_events(self) -> None:
        free = MAX_RUNNING_EVENTS - len(self._events)
        if free <= 0:
            return
        busy = self._busy_functions()
        with self._transaction() as db:
            candidates = db.execute(
                "SELECT request_id, function_name, payload, received_at, attempts, backoffs,"
                " last_payload, last_function_error, last_refusal FROM events"
                f" WHERE state = 'queued' AND next_attempt_at <= ? AND {_not_in(busy)}"
                " ORDER BY next_attempt_at LIMIT ?",
                (self._clock(), *busy, free),
            ).fetchall()
            rows = []
            for row in candidates:
                if self._running[row[1]] < self._poller_limit(row[1]):
                    self._running[row[1]] += 1
                    rows.append(row)
            db.executemany(
                "UPDATE events SET state = 'running' WHERE request_id = ?",
                [(row[0],) for row in rows],
            )
        for row in rows:
            event = _Event(*row)
            self._events[event.request_id] = asyncio.create_task(
                self._run_event(event), name=f"async-event-{event.request_id}"
            )

    def _start_due_deliveries(self) -> None:
        free = MAX_RUNNING_DELIVERIES - len(self._deliveries)
        if free <= 0:
            return
        with self._transaction() as db:
            rows = db.execute(
                "SELECT id, request_id, kind, target_arn, body, attributes, attempts"
                " FROM deliveries WHERE state = 'pending' AND next_attempt_at <= ?"
                " ORDER BY next_attempt_at LIMIT ?",
                (self._clock(), free),
            ).fetchall()
            db.executemany(
                "UPDATE deliveries SET state = 'sending' WHERE id = ?", [(row[0],) for row in rows]
            )
        for row in rows:
            delivery = _Delivery(*row)
            self._deliveries[delivery.id] = asyncio.create_task(
                self._deliver(delivery), name=f"async-delivery-{delivery.id}"
            )

    def _poller_limit(self, function_name: str) -> int:
        """Like Lambda's pollers, run no more of a function's events than it may run at once:
        the rest wait in the queue (their age still counting) instead of being throttled."""
        function = self._functions.get(function_name)
        reserved = function.reserved_concurrency if function else None
        return reserved if reserved else MAX_RUNNING_EVENTS

    def _busy_functions(self) -> list[str]:
        return [name for name, n in self._running.items() if n >= self._poller_limit(name)]

    def _seconds_to_next_due(self) -> float | None:
        """Time until the next queued item the loop has room to start; None: wait for a wake."""
        due: list[float] = []
        with self._lock:
            if len(self._events) < MAX_RUNNING_EVENTS:
                busy = self._busy_functions()
                (next_event,) = self._db.execute(
                    "SELECT min(next_attempt_at) FROM events"
                    f" WHERE state = 'queued' AND {_not_in(busy)}",
                    busy,
                ).fetchone()
                due.append(next_event)
            if len(self._deliveries) < MAX_RUNNING_DELIVERIES:
                (next_send,) = self._db.execute(
                    "SELECT min(next_attempt_at) FROM deliveries WHERE state = 'pending'"
                ).fetchone()
                due.append(next_send)
        times = [t for t in due if t is not None]
        return max(0.0, min(times) - self._clock()) if times else None

    # -- one event ---------------------------------------------------------------------------

    async def _run_event(self, event: _Event) -> None:
        try:
            await self._attempt(event)
        except asyncio.CancelledError:
            self._requeue(event.request_id)
            raise
        except Exception:
            log.exception("async event %s: engine error; back to the queue", event.request_id)
            self._back_off(event, self._functions.get(event.function_name), SYSTEM_ERROR_STATUS)
        finally:
            self._events.pop(event.request_id, None)
            self._running[event.function_name] -= 1
            self._notify()

    async def _attempt(self, event: _Event) -> None:
        function = self._functions.get(event.function_name)
        if function is None:
            log.warning(
                "async event %s: function %s is no longer in the stack; event dropped",
                event.request_id,
                event.function_name,
            )
            self._finish(event, FUNCTION_NOT_FOUND, [])
            return
        if function.reserved_concurrency == 0:
            # AWS: with reserved concurrency 0, async events fail at once, no retries.
            self._fail(event, function, RETRIES_EXHAUSTED, refusal=THROTTLED_STATUS)
            return
        if self._clock() >= self._expiry(event, function):
            self._fail(event, function, EVENT_AGE_EXCEEDED)
            return
        try:
            result = await self._executor.execute(
                event.function_name, event.payload, event.request_id
            )
        except Throttled:
            self._back_off(event, function, THROTTLED_STATUS)
            return
        except Exception:
            log.exception("async event %s: the function could not be run", event.request_id)
            self._back_off(event, function, SYSTEM_ERROR_STATUS)
            return
        self._after_invocation(event, function, result)

    def _after_invocation(
        self, event: _Event, function: LocalFunction, result: InvocationResult
    ) -> None:
        attempts = event.attempts + 1
        ran = _replace_event(
            event,
            attempts=attempts,
            backoffs=0,
            last_payload=result.payload,
            last_function_error=result.function_error,
            last_refusal=None,
        )
        if result.succeeded:
            self._succeed(ran, function)
        elif attempts > function.retries:
            self._fail(ran, function, RETRIES_EXHAUSTED)
        else:
            delay = FUNCTION_ERROR_RETRY_DELAYS[min(attempts, 2) - 1] * self._scale
            next_at = min(self._clock() + delay, self._expiry(event, function))
            self._requeue(ran.request_id, next_at, ran)

    def _back_off(self, event: _Event, function: LocalFunction | None, refusal: int) -> None:
        """A refused try (throttle, system error): back to the queue, 1 s doubling to 300 s."""
        delay = min(BACKOFF_FIRST_SECONDS * 2**event.backoffs, BACKOFF_MAX_SECONDS) * self._scale
        next_at = self._clock() + delay
        if function is not None:
            next_at = min(next_at, self._expiry(event, function))
        refused = _replace_event(event, backoffs=event.backoffs + 1, last_refusal=refusal)
        self._requeue(event.request_id, next_at, refused)

    def _succeed(self, event: _Event, function: LocalFunction) -> None:
        sends = []
        if function.on_success:
            record = self._record(event, function, SUCCESS)
            sends.append(("record", function.on_success, _dump(record), None))
        self._finish(event, SUCCESS, sends)

    def _fail(
        self, event: _Event, function: LocalFunction, condition: str, refusal: int | None = None
    ) -> None:
        if refusal is not None:
            event = _replace_event(event, last_refusal=refusal)
        sends = []
        if function.on_failure:
            record = self._record(event, function, condition)
            sends.append(("record", function.on_failure, _dump(record), None))
        if function.dead_letter:
            code, message = _dead_letter_error(event)
            attributes = {
                "request_id": event.request_id,
                "error_code": code,
                "error_message": message,
            }
            sends.append(
                ("dead_letter", function.dead_letter, event.payload, json.dumps(attributes))
            )
        log.info(
            "async event %s for %s failed: %s after %d invocation(s)",
            event.request_id,
            function.name,
            condition,
            event.attempts,
        )
        self._finish(event, condition, sends)

    def _record(self, event: _Event, function: LocalFunction, condition: str) -> dict[str, Any]:
        ran = event.attempts > 0
        return invocation_record(
            request_id=event.request_id,
            function_arn=function.arn,
            condition=condition,
            invoke_count=event.attempts,
            request_payload=event.payload,
            response_payload=(event.last_payload or b"") if ran else None,
            function_error=event.last_function_error if ran else None,
            refusal=event.last_refusal,
            at=self._clock(),
        )

    def _expiry(self, event: _Event, function: LocalFunction) -> float:
        return event.received_at + function.max_event_age_seconds * self._scale

    # -- the database ------------------------------------------------------------------------

    def _requeue(
        self, request_id: str, next_at: float | None = None, event: _Event | None = None
    ) -> None:
        with self._transaction() as db:
            if event is None:
                db.execute(
                    "UPDATE events SET state = 'queued' WHERE request_id = ? AND state = 'running'",
                    (request_id,),
                )
                return
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
                    request_id,
                ),
            )

    def _finish(
        self, event: _Event, condition: str, sends: list[tuple[str, str, bytes, str | None]]
    ) -> None:
        """Mark the event done and queue its records, in one transaction."""
        now = self._clock()
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

    def _notify(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None:
            return
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if current is loop:
            wake.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(wake.set)

    # -- one destination message -------------------------------------------------------------

    async def _deliver(self, delivery: _Delivery) -> None:
        attempts = delivery.attempts + 1
        try:
            if delivery.kind == "record":
                await self._destinations.send_record(delivery.target_arn, json.loads(delivery.body))
            else:
                attributes = json.loads(delivery.attributes or "{}")
                await self._destinations.send_dead_letter(
                    delivery.target_arn, delivery.body, **attributes
                )
        except asyncio.CancelledError:
            with self._transaction() as db:
                db.execute("UPDATE deliveries SET state = 'pending' WHERE id = ?", (delivery.id,))
            raise
        except DeliveryRejected as error:
            log.error(
                "destination %s rejects event %s: %s",
                delivery.target_arn,
                delivery.request_id,
                error,
            )
            self._delivery_tried(delivery, "rejected", attempts, str(error))
        except Exception as error:
            (log.warning if attempts == 1 else log.debug)(
                "destination %s unreachable for event %s (try %d), retrying: %s",
                delivery.target_arn,
                delivery.request_id,
                attempts,
                error,
            )
            delay = min(BACKOFF_FIRST_SECONDS * 2 ** (attempts - 1), BACKOFF_MAX_SECONDS)
            error_text = f"{type(error).__name__}: {error}"
            next_at = self._clock() + delay * self._scale
            self._delivery_tried(delivery, "pending", attempts, error_text, next_at)
        else:
            self._delivery_tried(delivery, "sent", attempts, None)
        finally:
            self._deliveries.pop(delivery.id, None)
            self._notify()

    def _delivery_tried(
        self,
        delivery: _Delivery,
        state: str,
        attempts: int,
        error: str | None,
        next_at: float | None = None,
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE deliveries SET state = ?, attempts = ?, last_error = ?,"
                " next_attempt_at = coalesce(?, next_attempt_at) WHERE id = ?",
                (state, attempts, error, next_at, delivery.id),
            )


def _not_in(names: list[str]) -> str:
    """A SQL condition excluding ``names`` (bound as parameters)."""
    return f"function_name NOT IN ({', '.join('?' * len(names))})" if names else "1"


def _replace_event(event: _Event, **changes: Any) -> _Event:
    return _Event(**{**event.__dict__, **changes})


def _dead_letter_error(event: _Event) -> tuple[int, str]:
    """The DLQ's ``ErrorCode`` and ``ErrorMessage`` for a failed event."""
    if event.attempts == 0:
        status = event.last_refusal or THROTTLED_STATUS
        return status, _REFUSALS.get(status, _REFUSALS[THROTTLED_STATUS])["errorMessage"]
    error = _json_or_text(event.last_payload or b"")
    if isinstance(error, dict) and isinstance(error.get("errorMessage"), str):
        return FUNCTION_ERROR_STATUS, error["errorMessage"]
    return FUNCTION_ERROR_STATUS, (event.last_payload or b"").decode("utf-8", errors="replace")


def _json_or_text(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", errors="replace")


def _dump(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":")).encode()


def _iso_millis(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

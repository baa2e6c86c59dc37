"""The durable asynchronous invocation queue: AWS Lambda's ``Event`` invocations, locally.

:meth:`AsyncEngine.accept` stores an event in SQLite and returns once it is on disk, so the
Lambda service answers 202 only for an event that survives a crash; concurrent accepts share
one commit (see :mod:`local.async_invoke.group_commit`). :meth:`AsyncEngine.run` then runs
due events with AWS's semantics:

- a function error is retried 60 s, then 120 s, after the failed attempt, up to the
  function's ``retries``; then the event fails with ``RetriesExhausted``;
- a throttle (:class:`~local.lambda_.invocation.Throttled`) or a system error puts the event back
  with exponential backoff (1 s doubling, at most 300 s), not counted as an attempt;
- an event as old as its maximum event age fails with ``EventAgeExceeded`` instead of
  being run again (how a local age is counted: :mod:`local.async_invoke.aging`);
- a function with reserved concurrency 0 fails every event at once, without running it:
  AWS sends those straight to the failure destination / DLQ. The record then says
  ``RetriesExhausted`` with ``approximateInvokeCount`` 0.

Where this machine could not start a burst's events within their age (AWS would scale to run
them at once), :meth:`AsyncEngine.accept` holds the acknowledgement instead, for at most a
second: see :mod:`local.async_invoke.intake`.

A finished event's records are written to an outbox in the same transaction that finishes
it; the :class:`~local.async_invoke.outbox.Outbox` sends them and retries them with backoff
until the destination takes them, across restarts too. A failed event goes to its
on-failure destination *and* its dead-letter queue when both are set: AWS documents that
destinations can be configured "in addition to or instead of" a DLQ.

Delivery is at least once, like AWS's: events left running by a crash run again.

The loop survives its store's errors (a lock held elsewhere, a full disk): it logs them and
tries again. If it cannot get through for :data:`UNRECOVERABLE_AFTER_SECONDS`, or if it
stops for any other reason, :attr:`AsyncEngine.unavailable` says why and :meth:`accept`
refuses events (:class:`~local.lambda_.invocation.EventQueueUnavailable`) rather than
acknowledge what would not run. Finished events are kept for ``retention_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Protocol

from local.async_invoke.aging import backoff_seconds, expiry, retry_delay
from local.async_invoke.group_commit import WriterClosed
from local.async_invoke.inbox import create_inbox, read_inbox
from local.async_invoke.intake import Intake, allowed_wait
from local.async_invoke.outbox import MAX_HELD_PER_TARGET, Outbox
from local.async_invoke.records import (
    EVENT_AGE_EXCEEDED,
    RETRIES_EXHAUSTED,
    SUCCESS,
    SYSTEM_ERROR_STATUS,
    THROTTLED_STATUS,
    dead_letter_attributes,
    invocation_record,
    record_body,
)
from local.async_invoke.store import BUSY_TIMEOUT_SECONDS, EventStore, Send, connect
from local.lambda_.invocation import (
    MAX_ASYNC_PAYLOAD_BYTES,
    EventCapacity,
    EventQueueUnavailable,
    Throttled,
)
from local.request_ids import new_request_id

if TYPE_CHECKING:
    from pathlib import Path

    from local.async_invoke.destinations import DestinationSender
    from local.async_invoke.store import Event, EventStatus
    from local.cloud.functions import LocalFunction
    from local.lambda_.invocation import Executor, InvocationResult

__all__ = [
    "DEFAULT_RETENTION_SECONDS",
    "DEFAULT_TIME_SCALE",
    "MAX_ASYNC_PAYLOAD_BYTES",
    "AsyncEngine",
    "PayloadTooLarge",
    "QueueObserver",
]

log = logging.getLogger(__name__)

DEFAULT_TIME_SCALE = 0.01
"""Local seconds per AWS second: AWS's 1 min + 2 min retry schedule takes 0.6 s + 1.2 s,
throttle backoff starts at 10 ms, and a maximum event age of 1 hour lasts 36 s."""
DEFAULT_RETENTION_SECONDS = 3600.0
"""How long a finished event and its sent messages stay in the store (local seconds)."""
MAX_RUNNING_EVENTS = 64
HEARTBEAT_SECONDS = 0.5
"""How often the engine notes that it is alive: a crash's downtime is counted from there."""
PRUNE_EVERY_SECONDS = 60.0
PRUNE_BATCH = 1000
UNRECOVERABLE_AFTER_SECONDS = 30.0
"""How long the loop may fail to reach its store before accepts are refused."""
_RETRY_FIRST_SECONDS = 0.05
_RETRY_MAX_SECONDS = 2.0

FUNCTION_NOT_FOUND = "FunctionNotFound"
"""Condition of an event whose function left the stack between two runs (no record sent)."""


class PayloadTooLarge(ValueError):
    """An asynchronous payload over 1 MB (the Invoke API's 413 RequestEntityTooLargeException)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.limit = MAX_ASYNC_PAYLOAD_BYTES
        super().__init__(
            f"{size} byte payload is over the {MAX_ASYNC_PAYLOAD_BYTES} byte limit "
            "for the Event invocation type"
        )


class QueueObserver(Protocol):
    """Told how the queue moves: the front process (:mod:`local.front`) keeps its own intake
    (:mod:`local.async_invoke.intake`) in step with the engine's from these, and forgets the
    inbox rows the engine has taken."""

    def recounted(self, queued: Mapping[str, int]) -> None:
        """The events waiting for their first run when the engine started, per function."""

    def received(self, function_name: str) -> None:
        """An event was accepted in the engine's own process (not from the inbox)."""

    def started(self, function_name: str) -> None:
        """A queued event left the queue for its first run."""

    def imported(self, through_seq: int) -> None:
        """The inbox's rows up to ``through_seq`` are events now."""


class AsyncEngine:
    """A durable queue of asynchronous invocations, run with AWS's retry and age rules.

    Every delay (retries, throttle backoff, destination retries) and the maximum event age
    are multiplied by ``time_scale`` (see :data:`DEFAULT_TIME_SCALE` and
    :mod:`local.async_invoke.aging`); ``clock`` gives epoch seconds. ``accept`` may be
    awaited from any event loop; ``run`` runs in one.

    ``inbox_path``: the inbox (:mod:`local.async_invoke.inbox`) of events acknowledged in
    another process; the engine takes its new rows when :meth:`inbox_arrived` says there are
    some, and all of them when it starts. ``observer`` hears how the queue moves.
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
        retention_seconds: float = DEFAULT_RETENTION_SECONDS,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
        unrecoverable_after: float = UNRECOVERABLE_AFTER_SECONDS,
        inbox_path: Path | None = None,
    ) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be above 0, got {time_scale}")
        self._functions = functions
        self._executor = executor
        # Claim no more events than the Lambda service will run at once: the rest wait in the
        # queue, not in the service's line for an environment.
        self._max_running = MAX_RUNNING_EVENTS
        if isinstance(executor, EventCapacity):
            self._max_running = min(MAX_RUNNING_EVENTS, executor.max_running_events)
        self._scale = time_scale
        self._clock = clock
        self._allowed_waits = {
            name: allowed_wait(function, time_scale, self._max_running)
            for name, function in functions.items()
        }
        self._retention = retention_seconds
        self._unrecoverable_after = unrecoverable_after
        if destinations.invoke_async is None:
            destinations.invoke_async = self.invoke_async
        self._inbox: sqlite3.Connection | None = None
        if inbox_path is not None:
            create_inbox(inbox_path)
            # Read in the store's writer thread, inside the transaction that imports the rows.
            self._inbox = connect(inbox_path, busy_timeout=busy_timeout)
        self._inbox_mark = 0
        self._inbox_new = inbox_path is not None
        self.observer: QueueObserver | None = None
        self._store = EventStore(db_path, busy_timeout=busy_timeout, inbox_path=inbox_path)
        self._outbox = Outbox(
            self._store,
            destinations,
            time_scale=time_scale,
            clock=clock,
            persist=self._persist,
            notify=self._notify,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False
        self._events: dict[str, asyncio.Task[None]] = {}
        self._running: Counter[str] = Counter()
        self._failing: str | None = None
        self._stopped: str | None = None
        self._intake = Intake()

    # -- accepting ---------------------------------------------------------------------------

    async def accept(self, function_name: str, payload: bytes, *, backpressure: bool = True) -> str:
        """Queue an event for ``function_name``, durably; returns its request id.

        With ``backpressure``, the caller is first held while this machine could not start
        the event within its age (:mod:`local.async_invoke.intake`).

        Raises ``KeyError`` for an unknown function, :class:`PayloadTooLarge`, and
        :class:`~local.lambda_.invocation.EventQueueUnavailable` when the event could not be
        stored or the engine would not run it.
        """
        if function_name not in self._functions:
            raise KeyError(f"Function not found: {function_name}")
        if len(payload) > MAX_ASYNC_PAYLOAD_BYTES:
            raise PayloadTooLarge(len(payload))
        reason = self.unavailable
        if reason is not None:
            raise EventQueueUnavailable(reason)
        allowance = self._allowed_waits[function_name]
        if backpressure and allowance is not None:
            await self._intake.hold(function_name, allowance)
        request_id = new_request_id()
        try:
            await self._store.add_event(request_id, function_name, bytes(payload), self._clock())
        except (sqlite3.Error, WriterClosed) as error:
            reason = f"the event store did not take the event: {error}"
            raise EventQueueUnavailable(reason) from error
        self._intake.received(function_name)
        if self.observer is not None:
            self.observer.received(function_name)
        self._notify()
        return request_id

    def inbox_arrived(self) -> None:
        """New rows are in the inbox: take them (call on the engine's loop)."""
        self._inbox_new = True
        self._notify()

    async def invoke_async(self, function_name: str, payload: bytes) -> str:
        """:meth:`accept`, under the name a Lambda destination calls: never held, as the
        outbox's other records wait behind it."""
        return await self.accept(function_name, payload, backpressure=False)

    @property
    def allowed_waits(self) -> dict[str, float | None]:
        """Per function, how long a new event may be predicted to wait in the queue before
        its acceptance is held (None: never held): see :mod:`local.async_invoke.intake`."""
        return dict(self._allowed_waits)

    def queued_first_runs(self) -> dict[str, int]:
        """The events waiting for their first run, per function, as the intake counts them."""
        return self._intake.queued()

    @property
    def unavailable(self) -> str | None:
        """Why events are refused now, or None while they are taken."""
        return self._stopped or self._failing

    # -- running -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Run due events and send pending records until :meth:`stop`."""
        if self._loop is not None:
            raise RuntimeError("this engine is already running")
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        try:
            await self._serve()
        except BaseException as error:
            if not self._stopping:
                self._stopped = f"the async engine stopped: {type(error).__name__}: {error}"
                log.critical("%s; Event invocations are refused from now on", self._stopped)
            raise
        finally:
            tasks = list(self._events.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._outbox.cancel()
            with contextlib.suppress(sqlite3.Error, WriterClosed):
                requeued = await self._store.stop(self._clock())
                if requeued:
                    log.info("%d running event(s) back in the queue for the next run", requeued)
            self._loop = self._wake = None
            self._stopping = False  # a later run() starts afresh

    def stop(self) -> None:
        """Make :meth:`run` return; events being run go back to the queue.

        A stop that comes before :meth:`run` has started (Ctrl-C during ``ackflow up``'s
        start-up) makes it return as soon as it starts.
        """
        self._stopping = True
        self._notify()

    def close(self) -> None:
        self._store.close()
        if self._inbox is not None:
            self._inbox.close()

    # -- queries (blocking: for threads other than the event loop) ---------------------------

    def status(self, request_id: str) -> EventStatus:
        return self._store.status(request_id)

    def pending_count(self, function_name: str | None = None) -> int:
        """Events not done yet (queued or running), for one function or all."""
        return self._store.pending_count(function_name)

    def undelivered_count(self) -> int:
        """Destination and DLQ messages not yet taken by their target."""
        return self._store.undelivered_count()

    def is_idle(self) -> bool:
        """Nothing left to run or to send."""
        return self.pending_count() == 0 and self.undelivered_count() == 0

    # -- the loop ----------------------------------------------------------------------------

    async def _serve(self) -> None:
        assert self._wake is not None
        started = False
        next_heartbeat = next_prune = 0.0
        failing_since: float | None = None
        failures = 0
        while not self._stopping:
            self._wake.clear()
            try:
                now = self._clock()
                if not started:
                    await self._start()
                    started = True
                if now >= next_heartbeat:
                    await self._store.heartbeat(now)
                    next_heartbeat = now + HEARTBEAT_SECONDS
                if now >= next_prune:
                    await self._prune(now)
                    next_prune = now + PRUNE_EVERY_SECONDS
                if self._inbox_new:
                    await self._import_inbox()
                delay = await self._start_due_work(min(next_heartbeat, next_prune))
            except (sqlite3.Error, WriterClosed) as error:
                failures += 1
                failing_since = failing_since or self._clock()
                self._store_failed(error, failures, self._clock() - failing_since)
                delay = min(_RETRY_FIRST_SECONDS * 2 ** min(failures - 1, 6), _RETRY_MAX_SECONDS)
            else:
                if failing_since is not None:
                    log.warning("the async engine reaches its event store again")
                failing_since, failures, self._failing = None, 0, None
            if delay is None:
                await self._wake.wait()
            elif delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)

    def _store_failed(self, error: Exception, failures: int, failing_for: float) -> None:
        if failures == 1:
            log.error("the async engine cannot use its event store, retrying: %s", error)
        if failing_for >= self._unrecoverable_after and self._failing is None:
            self._failing = (
                f"the async engine has not reached its event store for {failing_for:.0f} s: {error}"
            )
            log.critical("%s; Event invocations are refused until it does", self._failing)

    async def _start(self) -> None:
        """Take over the store: what a crash left in flight goes back in the queue, and the
        intake counts what an earlier run left queued (the inbox's rows first among it)."""
        await self._import_inbox()
        recovery = await self._store.start(self._clock())
        self._intake.recount(recovery.awaiting_first_run)
        if self.observer is not None:
            self.observer.recounted(recovery.awaiting_first_run)
        if recovery.events or recovery.messages:
            log.info(
                "requeued %d event(s) and %d destination message(s) left in flight",
                recovery.events,
                recovery.messages,
            )
        if recovery.down_seconds:
            log.info(
                "the runtime was down for %.1f s: that time does not age the queued events",
                recovery.down_seconds,
            )

    async def _import_inbox(self) -> None:
        """Make the inbox's new rows events, a batch per transaction, until none is left."""
        inbox = self._inbox
        if inbox is None:
            return
        self._inbox_new = False  # a wake-up during the import sets it again
        try:
            more = True
            while more:
                read = functools.partial(read_inbox, inbox, self._inbox_mark)
                imported, more = await self._store.import_events(read)
                for _, function_name in imported:
                    self._intake.received(function_name)
                if imported:
                    self._inbox_mark = imported[-1][0]
                    if self.observer is not None:
                        self.observer.imported(self._inbox_mark)
        except BaseException:
            self._inbox_new = True
            raise

    async def _prune(self, now: float) -> None:
        cutoff = now - self._retention
        while True:
            events, messages = await self._store.prune(cutoff, PRUNE_BATCH)
            if events < PRUNE_BATCH and messages < PRUNE_BATCH:
                return

    async def _start_due_work(self, housekeeping_at: float) -> float | None:
        """Start the due events there is room for and send the due messages, claimed in one
        transaction; returns the time until more will be due (or the next housekeeping)."""
        now = self._clock()
        names = set(self._functions) | set(self._running)
        work = await self._store.take_work(
            now,
            events=self._max_running - len(self._events),
            room={name: self._poller_limit(name) - self._running[name] for name in names},
            default_room=self._max_running,
            deliveries=self._outbox.room,
            target_room=self._outbox.room_by_target,
            default_target_room=MAX_HELD_PER_TARGET,
        )
        for event in work.events:
            if event.first_try:
                self._intake.started(event.function_name)
                if self.observer is not None:
                    self.observer.started(event.function_name)
            if not self._admit(event.function_name):  # not expected: room was counted above
                await self._persist(lambda e=event: self._store.reschedule(e, now), "a requeue")
                continue
            self._events[event.request_id] = asyncio.create_task(
                self._run_event(event), name=f"async-event-{event.request_id}"
            )
        self._outbox.start(work.deliveries)
        due = (housekeeping_at, work.next_event_at, work.next_delivery_at)
        times = [t for t in due if t is not None]
        return max(0.0, min(times) - self._clock())

    def _poller_limit(self, function_name: str) -> int:
        """Like Lambda's pollers, run no more of a function's events than it may run at once:
        the rest wait in the queue (their age still counting) instead of being throttled."""
        function = self._functions.get(function_name)
        reserved = function.reserved_concurrency if function else None
        return min(reserved, self._max_running) if reserved else self._max_running

    def _admit(self, function_name: str) -> bool:
        """Count one more running event of ``function_name``, if its poller limit allows."""
        if self._running[function_name] >= self._poller_limit(function_name):
            return False
        self._running[function_name] += 1
        return True

    async def _persist(self, write: Callable[[], Awaitable[None]], what: str) -> None:
        """Record an outcome, trying again while the store refuses (a lock held elsewhere);
        until the engine stops (then what was running runs again, at least once)."""
        delay = _RETRY_FIRST_SECONDS
        while True:
            try:
                await write()
                return
            except (sqlite3.Error, WriterClosed) as error:
                if self._stopping:
                    raise
                log.warning("could not record %s yet, retrying: %s", what, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX_SECONDS)

    # -- one event ---------------------------------------------------------------------------

    async def _run_event(self, event: Event) -> None:
        running = True

        def free_slot() -> None:
            """The invocation is over: its slot is free while the outcome is recorded."""
            nonlocal running
            if running:
                running = False
                self._running[event.function_name] -= 1
                self._notify()

        try:
            await self._attempt(event, free_slot)
        except asyncio.CancelledError:
            raise  # the store's stop puts it back in the queue
        except Exception:
            log.exception("async event %s: engine error; back to the queue", event.request_id)
            with contextlib.suppress(sqlite3.Error, WriterClosed):
                await self._back_off(
                    event, self._functions.get(event.function_name), SYSTEM_ERROR_STATUS
                )
        finally:
            free_slot()
            self._events.pop(event.request_id, None)
            self._notify()

    async def _attempt(self, event: Event, free_slot: Callable[[], None]) -> None:
        function = self._functions.get(event.function_name)
        if function is None:
            log.warning(
                "async event %s: function %s is no longer in the stack; event dropped",
                event.request_id,
                event.function_name,
            )
            await self._finish(event, FUNCTION_NOT_FOUND, [])
            return
        if function.reserved_concurrency == 0:
            # AWS: with reserved concurrency 0, async events fail at once, no retries.
            await self._fail(event, function, RETRIES_EXHAUSTED, refusal=THROTTLED_STATUS)
            return
        if self._clock() >= self._expiry(event, function):
            await self._fail(event, function, EVENT_AGE_EXCEEDED)
            return
        started = self._clock()
        try:
            result = await self._executor.execute(
                event.function_name, event.payload, event.request_id
            )
        except Throttled:
            free_slot()
            await self._back_off(self._ran(event, started), function, THROTTLED_STATUS)
            return
        except Exception:
            free_slot()
            log.exception("async event %s: the function could not be run", event.request_id)
            await self._back_off(self._ran(event, started), function, SYSTEM_ERROR_STATUS)
            return
        free_slot()
        await self._after_invocation(self._ran(event, started), function, result)

    def _ran(self, event: Event, started: float) -> Event:
        """``event`` with the run that started at ``started`` counted in its age."""
        ran = max(0.0, self._clock() - started)
        return dataclasses.replace(event, ran_seconds=event.ran_seconds + ran)

    async def _after_invocation(
        self, event: Event, function: LocalFunction, result: InvocationResult
    ) -> None:
        attempts = event.attempts + 1
        ran = dataclasses.replace(
            event,
            attempts=attempts,
            backoffs=0,
            last_payload=result.payload,
            last_function_error=result.function_error,
            last_refusal=None,
        )
        if result.succeeded:
            await self._succeed(ran, function)
        elif attempts > function.retries:
            await self._fail(ran, function, RETRIES_EXHAUSTED)
        else:
            next_at = min(
                self._clock() + retry_delay(attempts) * self._scale, self._expiry(ran, function)
            )
            await self._persist(lambda: self._store.reschedule(ran, next_at), "a retry")

    async def _back_off(self, event: Event, function: LocalFunction | None, refusal: int) -> None:
        """A refused try (throttle, system error): back to the queue, 1 s doubling to 300 s."""
        next_at = self._clock() + backoff_seconds(event.backoffs + 1) * self._scale
        if function is not None:
            next_at = min(next_at, self._expiry(event, function))
        refused = dataclasses.replace(event, backoffs=event.backoffs + 1, last_refusal=refusal)
        await self._persist(lambda: self._store.reschedule(refused, next_at), "a backoff")

    async def _succeed(self, event: Event, function: LocalFunction) -> None:
        sends = []
        if function.on_success:
            record = self._record(event, function, SUCCESS)
            sends.append(Send("record", function.on_success, record, None))
        await self._finish(event, SUCCESS, sends)

    async def _fail(
        self, event: Event, function: LocalFunction, condition: str, refusal: int | None = None
    ) -> None:
        if refusal is not None:
            event = dataclasses.replace(event, last_refusal=refusal)
        sends = []
        if function.on_failure:
            record = self._record(event, function, condition)
            sends.append(Send("record", function.on_failure, record, None))
        if function.dead_letter:
            attributes = dead_letter_attributes(
                request_id=event.request_id,
                invoke_count=event.attempts,
                last_payload=event.last_payload,
                refusal=event.last_refusal,
            )
            sends.append(
                Send("dead_letter", function.dead_letter, event.payload, json.dumps(attributes))
            )
        log.info(
            "async event %s for %s failed: %s after %d invocation(s)",
            event.request_id,
            function.name,
            condition,
            event.attempts,
        )
        await self._finish(event, condition, sends)

    def _record(self, event: Event, function: LocalFunction, condition: str) -> bytes:
        """The destination record for ``event``, as sent."""
        ran = event.attempts > 0
        return record_body(
            invocation_record(
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
        )

    async def _finish(self, event: Event, condition: str, sends: list[Send]) -> None:
        """Mark the event done and queue its records, in one transaction."""
        now = self._clock()
        await self._persist(
            lambda: self._store.finish(event, condition, sends, now), f"event {event.request_id}"
        )

    def _expiry(self, event: Event, function: LocalFunction) -> float:
        return expiry(event, function, self._scale)

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

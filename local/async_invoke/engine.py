"""The durable asynchronous invocation queue: AWS Lambda's ``Event`` invocations, locally.

:meth:`AsyncEngine.accept` stores an event in SQLite and commits before it returns, so the
Lambda service answers 202 only for an event that survives a crash. :meth:`AsyncEngine.run`
then runs due events with AWS's semantics:

- a function error is retried 60 s, then 120 s, after the failed attempt, up to the
  function's ``retries``; then the event fails with ``RetriesExhausted``;
- a throttle (:class:`~local.lambda_.invocation.Throttled`) or a system error puts the event back
  with exponential backoff (1 s doubling, at most 300 s), not counted as an attempt;
- an event as old as its maximum event age fails with ``EventAgeExceeded`` instead of
  being run again;
- a function with reserved concurrency 0 fails every event at once, without running it:
  AWS sends those straight to the failure destination / DLQ. The record then says
  ``RetriesExhausted`` with ``approximateInvokeCount`` 0.

A finished event's records are written to an outbox in the same transaction that finishes
it; each is sent by the :class:`~local.async_invoke.destinations.DestinationSender` and retried with
backoff until the destination takes it, across restarts too. A failed event goes to its
on-failure destination *and* its dead-letter queue when both are set: AWS documents that
destinations can be configured "in addition to or instead of" a DLQ.

Delivery is at least once, like AWS's: events left running by a crash run again.

The SQLite file is kept by :mod:`local.async_invoke.store`; the records and DLQ attributes are
built by :mod:`local.async_invoke.records`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from local.async_invoke.destinations import DeliveryRejected
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
from local.async_invoke.store import EventStore, Send
from local.lambda_.invocation import MAX_ASYNC_PAYLOAD_BYTES, EventCapacity, Throttled

if TYPE_CHECKING:
    from pathlib import Path

    from local.async_invoke.destinations import DestinationSender
    from local.async_invoke.store import Delivery, Event, EventStatus
    from local.cloud.functions import LocalFunction
    from local.lambda_.invocation import Executor, InvocationResult

__all__ = [
    "DEFAULT_TIME_SCALE",
    "MAX_ASYNC_PAYLOAD_BYTES",
    "AsyncEngine",
    "PayloadTooLarge",
]

log = logging.getLogger(__name__)

DEFAULT_TIME_SCALE = 0.01
"""Local seconds per AWS second: AWS's 1 min + 2 min retry schedule takes 0.6 s + 1.2 s,
throttle backoff starts at 10 ms, and a maximum event age of 1 hour lasts 36 s."""

FUNCTION_ERROR_RETRY_DELAYS = (60.0, 120.0)
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 300.0
MAX_RUNNING_EVENTS = 64
MAX_RUNNING_DELIVERIES = 16

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
        # Claim no more events than the Lambda service will run at once: the rest wait in the
        # queue, not in the service's line for an environment.
        self._max_running = MAX_RUNNING_EVENTS
        if isinstance(executor, EventCapacity):
            self._max_running = min(MAX_RUNNING_EVENTS, executor.max_running_events)
        self._destinations = destinations
        self._scale = time_scale
        self._clock = clock
        if destinations.invoke_async is None:
            destinations.invoke_async = self.invoke_async
        self._store = EventStore(db_path)
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
        self._store.add_event(request_id, function_name, payload, self._clock())
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

    # -- queries -----------------------------------------------------------------------------

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

    # -- the loop's steps --------------------------------------------------------------------

    def _recover(self) -> None:
        """Put back what a crash left in flight: AWS runs such events again (at least once)."""
        events, sends = self._store.recover()
        if events or sends:
            log.info(
                "requeued %d event(s) and %d destination message(s) left in flight",
                events,
                sends,
            )

    def _start_due_events(self) -> None:
        free = self._max_running - len(self._events)
        if free <= 0:
            return
        events = self._store.claim_events(
            self._clock(), free, skip=self._busy_functions(), admit=self._admit
        )
        for event in events:
            self._events[event.request_id] = asyncio.create_task(
                self._run_event(event), name=f"async-event-{event.request_id}"
            )

    def _start_due_deliveries(self) -> None:
        free = MAX_RUNNING_DELIVERIES - len(self._deliveries)
        if free <= 0:
            return
        for delivery in self._store.claim_deliveries(self._clock(), free):
            self._deliveries[delivery.id] = asyncio.create_task(
                self._deliver(delivery), name=f"async-delivery-{delivery.id}"
            )

    def _poller_limit(self, function_name: str) -> int:
        """Like Lambda's pollers, run no more of a function's events than it may run at once:
        the rest wait in the queue (their age still counting) instead of being throttled."""
        function = self._functions.get(function_name)
        reserved = function.reserved_concurrency if function else None
        return min(reserved, self._max_running) if reserved else self._max_running

    def _busy_functions(self) -> list[str]:
        return [name for name, n in self._running.items() if n >= self._poller_limit(name)]

    def _admit(self, function_name: str) -> bool:
        """Count one more running event of ``function_name``, if its poller limit allows."""
        if self._running[function_name] >= self._poller_limit(function_name):
            return False
        self._running[function_name] += 1
        return True

    def _seconds_to_next_due(self) -> float | None:
        """Time until the next queued item the loop has room to start; None: wait for a wake."""
        due: list[float | None] = []
        if len(self._events) < self._max_running:
            due.append(self._store.next_event_at(skip=self._busy_functions()))
        if len(self._deliveries) < MAX_RUNNING_DELIVERIES:
            due.append(self._store.next_delivery_at())
        times = [t for t in due if t is not None]
        return max(0.0, min(times) - self._clock()) if times else None

    # -- one event ---------------------------------------------------------------------------

    async def _run_event(self, event: Event) -> None:
        try:
            await self._attempt(event)
        except asyncio.CancelledError:
            self._store.requeue(event.request_id)
            raise
        except Exception:
            log.exception("async event %s: engine error; back to the queue", event.request_id)
            self._back_off(event, self._functions.get(event.function_name), SYSTEM_ERROR_STATUS)
        finally:
            self._events.pop(event.request_id, None)
            self._running[event.function_name] -= 1
            self._notify()

    async def _attempt(self, event: Event) -> None:
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
            self._succeed(ran, function)
        elif attempts > function.retries:
            self._fail(ran, function, RETRIES_EXHAUSTED)
        else:
            delay = FUNCTION_ERROR_RETRY_DELAYS[min(attempts, 2) - 1] * self._scale
            next_at = min(self._clock() + delay, self._expiry(event, function))
            self._store.reschedule(ran, next_at)

    def _back_off(self, event: Event, function: LocalFunction | None, refusal: int) -> None:
        """A refused try (throttle, system error): back to the queue, 1 s doubling to 300 s."""
        delay = min(BACKOFF_FIRST_SECONDS * 2**event.backoffs, BACKOFF_MAX_SECONDS) * self._scale
        next_at = self._clock() + delay
        if function is not None:
            next_at = min(next_at, self._expiry(event, function))
        refused = dataclasses.replace(event, backoffs=event.backoffs + 1, last_refusal=refusal)
        self._store.reschedule(refused, next_at)

    def _succeed(self, event: Event, function: LocalFunction) -> None:
        sends = []
        if function.on_success:
            record = self._record(event, function, SUCCESS)
            sends.append(Send("record", function.on_success, record, None))
        self._finish(event, SUCCESS, sends)

    def _fail(
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
        self._finish(event, condition, sends)

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

    def _finish(self, event: Event, condition: str, sends: list[Send]) -> None:
        """Mark the event done and queue its records, in one transaction."""
        self._store.finish(event, condition, sends, self._clock())

    def _expiry(self, event: Event, function: LocalFunction) -> float:
        return event.received_at + function.max_event_age_seconds * self._scale

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

    async def _deliver(self, delivery: Delivery) -> None:
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
            self._store.release_delivery(delivery.id)
            raise
        except DeliveryRejected as error:
            log.error(
                "destination %s rejects event %s: %s",
                delivery.target_arn,
                delivery.request_id,
                error,
            )
            self._store.delivery_tried(delivery.id, "rejected", attempts, str(error))
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
            self._store.delivery_tried(delivery.id, "pending", attempts, error_text, next_at)
        else:
            self._store.delivery_tried(delivery.id, "sent", attempts, None)
        finally:
            self._deliveries.pop(delivery.id, None)
            self._notify()

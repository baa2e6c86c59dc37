"""The async engine's outbox: destination records and DLQ messages, sent in batches.

Finished events leave their messages in the store (in the transaction that finishes them).
The engine claims the due ones (as much as :attr:`Outbox.room` allows) and
:meth:`Outbox.start` lines them up by target, then sends each target's line in batches of up
to :data:`~local.async_invoke.destinations.MAX_BATCH_ENTRIES`, each in a task of its own, at
most :data:`MAX_BATCHES_PER_TARGET` at a time. While a target's batches are on their way,
its next messages wait in line, so under load batches fill (fewer calls for the same
records: a call costs about as much as the ten records in it) and an idle target's message
still leaves at once. Each message's outcome is recorded: sent; rejected for good (logged:
AWS counts those as ``DestinationDeliveryFailures``); or pending again after a backoff of 1 s
doubling to 300 s (scaled), across restarts too. In a batch only the failed messages are
retried.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from local.async_invoke.aging import backoff_seconds
from local.async_invoke.destinations import MAX_BATCH_ENTRIES, Message, Outcome
from local.async_invoke.store import DeliveryOutcome

if TYPE_CHECKING:
    from local.async_invoke.destinations import DestinationSender
    from local.async_invoke.store import Delivery, EventStore

__all__ = ["MAX_BATCHES_PER_TARGET", "MAX_HELD_MESSAGES", "MAX_HELD_PER_TARGET", "Outbox"]

log = logging.getLogger(__name__)

MAX_BATCHES_PER_TARGET = 2
"""Batches on their way to one target at once: two keep a call in flight while the next
fills, and a slow or unreachable target holds up none of the others."""
MAX_HELD_MESSAGES = 16 * MAX_BATCH_ENTRIES
"""Claimed messages the outbox holds at once, sending or in line."""
MAX_HELD_PER_TARGET = 2 * MAX_BATCHES_PER_TARGET * MAX_BATCH_ENTRIES
"""Claimed messages of one target it holds at once: its batches in flight and as many in
line. The rest wait in the store, so a target that does not answer holds up no other."""

Persist = Callable[[Callable[[], Awaitable[None]], str], Awaitable[None]]


class Outbox:
    """Sends the store's due messages through a :class:`DestinationSender`."""

    def __init__(
        self,
        store: EventStore,
        sender: DestinationSender,
        *,
        time_scale: float,
        clock: Callable[[], float],
        persist: Persist,
        notify: Callable[[], None],
    ) -> None:
        self._store = store
        self._sender = sender
        self._scale = time_scale
        self._clock = clock
        self._persist = persist
        self._notify = notify
        self._batches: dict[int, asyncio.Task[None]] = {}
        self._numbers = itertools.count()
        self._lines: dict[str, list[Delivery]] = {}
        self._sending_to: Counter[str] = Counter()
        self._held_for: Counter[str] = Counter()

    @property
    def room(self) -> int:
        """How many more messages it can take now."""
        return max(0, MAX_HELD_MESSAGES - self._held_for.total())

    @property
    def room_by_target(self) -> dict[str, int]:
        """How many more messages of each target it holds some of can take now (others:
        :data:`MAX_HELD_PER_TARGET`)."""
        return {target: MAX_HELD_PER_TARGET - held for target, held in self._held_for.items()}

    def start(self, claimed: list[Delivery]) -> None:
        """Line up messages the engine claimed (marked ``sending`` in the store) and send what
        their targets have room for."""
        for delivery in claimed:
            self._held_for[delivery.target_arn] += 1
            self._lines.setdefault(delivery.target_arn, []).append(delivery)
        for target_arn in {delivery.target_arn for delivery in claimed}:
            self._send_next(target_arn)

    def _send_next(self, target_arn: str) -> None:
        line = self._lines.get(target_arn)
        while line and self._sending_to[target_arn] < MAX_BATCHES_PER_TARGET:
            batch, line[:] = line[:MAX_BATCH_ENTRIES], line[MAX_BATCH_ENTRIES:]
            self._sending_to[target_arn] += 1
            number = next(self._numbers)
            self._batches[number] = asyncio.create_task(
                self._send(number, target_arn, batch), name=f"async-delivery-{number}"
            )
        if not line:
            self._lines.pop(target_arn, None)

    async def cancel(self) -> None:
        """Stop every send in flight and drop the lines (their messages stay ``sending`` for
        the store's stop)."""
        for line in self._lines.values():
            self._forget(line)
        self._lines.clear()
        tasks = list(self._batches.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _send(self, number: int, target_arn: str, batch: list[Delivery]) -> None:
        try:
            messages = [_message(delivery) for delivery in batch]
            outcomes = await self._sender.send(target_arn, messages)
            now = self._clock()
            results = [
                self._result(target_arn, delivery, outcome, now)
                for delivery, outcome in zip(batch, outcomes, strict=True)
            ]
            await self._persist(
                lambda: self._store.deliveries_tried(results, now), f"sends to {target_arn}"
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sending to %s failed in the engine; the messages wait", target_arn)
            ids = [delivery.id for delivery in batch]
            await self._persist(lambda: self._store.release_deliveries(ids), "a release")
        finally:
            self._batches.pop(number, None)
            self._forget(batch)
            self._sending_to[target_arn] -= 1
            self._send_next(target_arn)
            self._notify()

    def _forget(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            self._held_for[delivery.target_arn] -= 1
        self._held_for = +self._held_for  # targets holding none have the default room again

    def _result(
        self, target_arn: str, delivery: Delivery, outcome: Outcome, now: float
    ) -> DeliveryOutcome:
        attempts = delivery.attempts + 1
        if outcome.state == "sent":
            if outcome.detail:
                log.warning(
                    "destination %s, event %s: %s", target_arn, delivery.request_id, outcome.detail
                )
            return DeliveryOutcome(delivery.id, "sent", attempts, outcome.detail)
        if outcome.state == "rejected":
            log.error(
                "destination %s rejects the %s of event %s for good: %s",
                target_arn,
                "record" if delivery.kind == "record" else "dead-letter message",
                delivery.request_id,
                outcome.detail,
            )
            return DeliveryOutcome(delivery.id, "rejected", attempts, outcome.detail)
        (log.warning if attempts == 1 else log.debug)(
            "destination %s unreachable for event %s (try %d), retrying: %s",
            target_arn,
            delivery.request_id,
            attempts,
            outcome.detail,
        )
        next_at = now + backoff_seconds(attempts) * self._scale
        return DeliveryOutcome(delivery.id, "pending", attempts, outcome.detail, next_at)


def _message(delivery: Delivery) -> Message:
    dead_letter = json.loads(delivery.attributes or "{}") if delivery.kind != "record" else None
    return Message(delivery.id, delivery.body, dead_letter)

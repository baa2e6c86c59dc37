"""The async engine's outbox: destination records and DLQ messages, sent in batches.

Finished events leave their messages in the store (in the transaction that finishes them).
The engine claims the due ones (as much as :attr:`Outbox.room` allows) and
:meth:`Outbox.start` groups them by target into batches of up to
:data:`~local.async_invoke.destinations.MAX_BATCH_ENTRIES`, and sends each batch in a task of
its own. Each message's outcome is recorded: sent; rejected for good (logged: AWS counts
those as ``DestinationDeliveryFailures``); or pending again after a backoff of 1 s doubling
to 300 s (scaled), across restarts too. In a batch only the failed messages are retried.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from local.async_invoke.aging import backoff_seconds
from local.async_invoke.destinations import MAX_BATCH_ENTRIES, Message, Outcome
from local.async_invoke.store import DeliveryOutcome

if TYPE_CHECKING:
    from local.async_invoke.destinations import DestinationSender
    from local.async_invoke.store import Delivery, EventStore

__all__ = ["MAX_RUNNING_BATCHES", "Outbox"]

log = logging.getLogger(__name__)

MAX_RUNNING_BATCHES = 16
"""Batches being sent at once."""

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

    @property
    def room(self) -> int:
        """How many more messages it can take now."""
        return max(0, MAX_RUNNING_BATCHES - len(self._batches)) * MAX_BATCH_ENTRIES

    def start(self, claimed: list[Delivery]) -> None:
        """Start sending messages the engine claimed (marked ``sending`` in the store)."""
        by_target: dict[str, list[Delivery]] = {}
        for delivery in claimed:
            by_target.setdefault(delivery.target_arn, []).append(delivery)
        for target_arn, deliveries in by_target.items():
            for start in range(0, len(deliveries), MAX_BATCH_ENTRIES):
                batch = deliveries[start : start + MAX_BATCH_ENTRIES]
                number = next(self._numbers)
                self._batches[number] = asyncio.create_task(
                    self._send(number, target_arn, batch), name=f"async-delivery-{number}"
                )

    async def cancel(self) -> None:
        """Stop every send in flight (their messages stay ``sending`` for the store's stop)."""
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
            self._notify()

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

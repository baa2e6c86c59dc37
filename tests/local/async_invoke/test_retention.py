"""Retention: finished events and sent messages go after a window; what is owed stays."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from local.async_invoke import engine as engine_module
from local.async_invoke.store import DeliveryOutcome, Event, EventStore, Send
from tests.local.async_invoke.helpers import accept_all, function, run_until


def event(request_id: str) -> Event:
    return Event(request_id, "worker", b"{}", 0.0, 1, 0, b"{}", None, None)


def test_prune_deletes_old_finished_events_and_sent_messages_and_keeps_what_is_owed(
    tmp_path: Path,
):
    store = EventStore(tmp_path / "s.db")

    async def scenario() -> tuple[int, int]:
        for request_id, finished_at in (("old", 10.0), ("owed", 10.0), ("recent", 60.0)):
            await store.add_event(request_id, "worker", b"{}", 0.0)
            await store.finish(
                event(request_id), "Success", [Send("record", "arn:q", b"{}", None)], finished_at
            )
        await store.add_event("queued", "worker", b"{}", 0.0)
        work = await store.take_work(100.0, events=0, room={}, default_room=0, deliveries=10)
        by_event = {d.request_id: d.id for d in work.deliveries}
        await store.deliveries_tried(
            [
                DeliveryOutcome(by_event["old"], "sent", 1),
                DeliveryOutcome(by_event["owed"], "pending", 1, "unreachable", 1000.0),
            ],
            20.0,
        )
        await store.deliveries_tried([DeliveryOutcome(by_event["recent"], "sent", 1)], 61.0)
        return await store.prune(finished_before=50.0, limit=100)

    assert asyncio.run(scenario()) == (1, 1)
    for request_id in ("owed", "recent", "queued"):
        store.status(request_id)
    with pytest.raises(KeyError):
        store.status("old")
    assert store.undelivered_count() == 1
    store.close()


def test_the_engine_prunes_by_itself_after_the_retention_window(
    make_engine, new_queue, sqs, monkeypatch
):
    monkeypatch.setattr(engine_module, "PRUNE_EVERY_SECONDS", 0.05)
    queue = new_queue()
    engine = make_engine(function(on_success=queue.arn), retention_seconds=0.2)
    ids = accept_all(engine, "worker", [b"{}"] * 5)

    def pruned(request_id: str) -> bool:
        try:
            engine.status(request_id)
        except KeyError:
            return True
        return False

    # Each event is pruned once its own window has passed: the last one done, last.
    run_until(engine, lambda: engine.is_idle() and all(pruned(i) for i in ids))

    for request_id in ids:
        with pytest.raises(KeyError):
            engine.status(request_id)

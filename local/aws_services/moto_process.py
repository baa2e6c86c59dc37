"""moto's server as ackflow runs it: ``python -m local.aws_services.moto_process -H … -p …``.

It is moto's own server (``moto.server``, the same options and wire protocols) with fixes
that change no answer.

One for safety. moto's server answers each request in a thread of its own, and an SQS queue's
message list is changed by more than one of them at a time: ``DeleteMessage`` rebuilds the list
while ``SendMessage`` appends to it (a message appended meanwhile is lost), and two
``ReceiveMessage`` calls can hand out the same message. moto guards only the append with the
queue's lock; here receiving, deleting, changing visibility and purging take it too (it is
re-entrant, and a long poll's wait releases it).

Two for speed. Building a queue's attributes counts its visible, delayed
and in-flight messages by walking every message in it, and moto builds them where it needs
one setting:

- ``SendMessage`` reads them to check a FIFO setting (``ContentBasedDeduplication``): each
  message sent costs time in proportion to the queue's length, so a destination queue that
  fills with the records of a 10,000-event burst slows to a few messages a second. A standard
  queue has no such setting (it reads as absent either way), so for standard queues the check
  skips the walk;
- ``ReceiveMessage`` reads them once per message it looks at, for the retention period: a
  queue of 3,000 records gave 6 messages a second. The period is read from the queue itself.

FIFO queues, and every other use of the attributes (``GetQueueAttributes``, the AWS CLI), are
untouched.

Three for speed too: to route a request, moto's server lists its own package folder (a
``listdir`` and an ``isdir`` per service, some 150 system calls) for every request, a third
of the time it spends on a ``SendMessageBatch``. The folder does not change while it runs, so
it is listed once.

Four for speed, reading a queue that holds many messages: moto walks it twice per receive and
twice per receipt handle deleted, and reads the clock (through ``datetime``) twice per message
of the first walk. A 10,000-record queue took 0.4 s a ``ReceiveMessage`` and 0.2 s a
``DeleteMessageBatch``, so reading a burst's records back took longer than the burst. Here the
list of messages ready to receive reads the clock once, and a ``DeleteMessageBatch`` walks the
queue once for all its entries; an entry that names no message (or one already deleted) gets
moto's own answer. A single ``DeleteMessage`` is still moto's own (two walks).
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from typing import Any

from moto import backends, server
from moto.core.utils import unix_time, unix_time_millis
from moto.sqs.models import Queue, SQSBackend

__all__ = [
    "list_moto_modules_once",
    "main",
    "patch_moto_sqs",
    "serialize_queue_changes",
    "speed_up_reading_queues",
    "speed_up_standard_queue_sends",
]

_sending = threading.local()


def patch_moto_sqs() -> None:
    """Apply the SQS patches the module docstring describes."""
    serialize_queue_changes()
    speed_up_standard_queue_sends()
    speed_up_reading_queues()


def serialize_queue_changes() -> None:
    """Make every change to a queue's messages take the queue's own lock (once; idempotent)."""
    if getattr(Queue.delete_message, "_ackflow_locked", False):
        return
    Queue.delete_message = _under_own_lock(Queue.delete_message)  # type: ignore[method-assign]
    for name in ("receive_message", "change_message_visibility", "purge_queue"):
        setattr(SQSBackend, name, _under_queue_lock(getattr(SQSBackend, name)))


def _under_own_lock(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(queue: Queue, *args: Any, **kwargs: Any) -> Any:
        with queue._messages_lock:
            return method(queue, *args, **kwargs)

    locked._ackflow_locked = True  # type: ignore[attr-defined]
    return locked


def _under_queue_lock(method: Callable[..., Any]) -> Callable[..., Any]:
    """A backend method whose first argument names the queue it changes."""

    @functools.wraps(method)
    def locked(backend: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        with backend.get_queue(queue_name)._messages_lock:
            return method(backend, queue_name, *args, **kwargs)

    return locked


def speed_up_standard_queue_sends() -> None:
    """Patch moto's SQS model as the module docstring says (once; idempotent)."""
    if getattr(SQSBackend.send_message, "_ackflow_fast", False):
        return
    SQSBackend.is_message_valid_based_on_retention_period = _retained  # type: ignore[method-assign]
    all_attributes = Queue.attributes.fget
    assert all_attributes is not None
    send_message = SQSBackend.send_message

    def attributes(queue: Queue) -> dict[str, Any]:
        if getattr(_sending, "standard", False) and not queue.fifo_queue:
            return {}  # what SendMessage reads from it is a FIFO setting a standard queue lacks
        return all_attributes(queue)

    @functools.wraps(send_message)
    def fast_send_message(self: SQSBackend, *args: Any, **kwargs: Any) -> Any:
        _sending.standard = True
        try:
            return send_message(self, *args, **kwargs)
        finally:
            _sending.standard = False

    fast_send_message._ackflow_fast = True  # type: ignore[attr-defined]
    Queue.attributes = property(attributes)  # type: ignore[method-assign,assignment]
    SQSBackend.send_message = fast_send_message  # type: ignore[method-assign]


def _retained(self: SQSBackend, queue_name: str, message: Any) -> bool:
    """moto's retention check, reading the one setting instead of every attribute."""
    retention_period = int(self.get_queue(queue_name).message_retention_period)
    return retention_period + message.sent_timestamp / 1000 > unix_time()


def speed_up_reading_queues() -> None:
    """Patch moto's SQS model as the module docstring says (once; idempotent)."""
    if getattr(SQSBackend.delete_message_batch, "_ackflow_one_walk", False):
        return
    delete_message_batch = SQSBackend.delete_message_batch

    @functools.wraps(delete_message_batch)
    def one_walk_delete_message_batch(
        self: SQSBackend, queue_name: str, receipts: list[dict[str, Any]]
    ) -> tuple[list[str], list[dict[str, str]]]:
        queue = self.get_queue(queue_name)
        with queue._messages_lock:
            holders = _messages_by_handle(queue, {r["ReceiptHandle"] for r in receipts})
            success: list[str] = []
            errors: list[dict[str, str]] = []
            deleted: set[int] = set()
            for entry in receipts:
                message = holders.get(entry["ReceiptHandle"])
                if message is None or entry["ReceiptHandle"] in queue.deleted_messages:
                    done, failed = delete_message_batch(self, queue_name, [entry])
                    success += done
                    errors += failed
                    continue
                queue.pending_messages.discard(message)
                queue.deleted_messages.update(message.all_receipt_handles)
                deleted.add(id(message))
                success.append(entry["Id"])
            if deleted:
                queue._messages = [m for m in queue._messages if id(m) not in deleted]
        return success, errors

    one_walk_delete_message_batch._ackflow_one_walk = True  # type: ignore[attr-defined]
    Queue.messages = property(_ready_messages)  # type: ignore[method-assign,assignment]
    SQSBackend.delete_message_batch = one_walk_delete_message_batch  # type: ignore[method-assign]


def _ready_messages(queue: Queue) -> list[Any]:
    """moto's visible and not delayed messages, with one reading of the clock."""
    now = unix_time_millis()
    return [m for m in queue._messages if now > m.visible_at and not now < m.delayed_until]


def _messages_by_handle(queue: Queue, handles: set[str]) -> dict[str, Any]:
    """Each of ``handles`` that a message of ``queue`` has had → that message."""
    return {
        handle: message
        for message in queue._messages
        if message.approximate_receive_count  # one never received has had no handle
        for handle in message.all_receipt_handles
        if handle in handles
    }


def list_moto_modules_once() -> None:
    """Make moto's list of its service modules a constant (once; idempotent)."""
    if getattr(backends.list_of_moto_modules, "_ackflow_once", False):
        return
    names = tuple(backends.list_of_moto_modules())

    def listed() -> tuple[str, ...]:
        return names

    listed._ackflow_once = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = listed


def main(argv: list[str] | None = None, serve: Callable[[list[str]], None] = server.main) -> None:
    patch_moto_sqs()
    list_moto_modules_once()
    serve(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()

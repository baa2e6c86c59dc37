"""moto's server as ackflow runs it: ``python -m local.aws_services.moto_process -H … -p …``.

It is moto's own server (``moto.server``, the same options and wire protocols) with one fix
for speed that changes no answer. moto's ``SendMessage`` reads a queue's attributes to check
one FIFO setting (``ContentBasedDeduplication``), and building them counts the queue's
visible, delayed and in-flight messages by walking every message in it: each message sent
costs time in proportion to the queue's length, so a destination queue that fills with the
records of a 10,000-event burst slows to a few messages a second. A standard queue has no
such setting (it reads as absent either way), so for standard queues the check skips the
walk. FIFO queues, and every other use of the attributes (``GetQueueAttributes``, the AWS
CLI), are untouched.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from typing import Any

from moto import server
from moto.sqs.models import Queue, SQSBackend

__all__ = ["main", "speed_up_standard_queue_sends"]

_sending = threading.local()


def speed_up_standard_queue_sends() -> None:
    """Patch moto's SQS model as the module docstring says (once; idempotent)."""
    if getattr(SQSBackend.send_message, "_ackflow_fast", False):
        return
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


def main(argv: list[str] | None = None, serve: Callable[[list[str]], None] = server.main) -> None:
    speed_up_standard_queue_sends()
    serve(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()

"""Request ids for the local services, drawn without a system call.

``uuid.uuid4()`` and ``os.urandom`` ask the kernel for randomness, and CPython gives up the GIL
around that call. On the event loop under load, each time it does, the runtime's other threads
(the event store's writer, the destination calls) take the GIL and the loop waits to get it
back: a REST request asked three times. Ids must be unique, not secret, so they come from a
generator seeded once from the OS (and again in a forked child, which would otherwise repeat
its parent's ids). It is private, so a test seeding :mod:`random` cannot make ids repeat.
"""

from __future__ import annotations

import base64
import os
import random
import uuid

__all__ = ["new_extended_request_id", "new_request_id"]

_random = random.Random()
if hasattr(os, "register_at_fork"):  # POSIX; where there is no fork there is nothing to redo
    os.register_at_fork(after_in_child=_random.seed)


def new_request_id() -> str:
    """A random (version 4) UUID, as AWS's request ids are."""
    return str(uuid.UUID(int=_random.getrandbits(128), version=4))


def new_extended_request_id() -> str:
    """API Gateway's ``x-amz-apigw-id``: 10 random bytes in base64."""
    return base64.b64encode(_random.randbytes(10)).decode()

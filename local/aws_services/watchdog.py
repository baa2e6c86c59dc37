"""Keeping the AWS services up while ``ackflow up`` runs.

moto runs in its own process group so that it outlives a crash of ``ackflow up``; the other way
round, when moto itself dies (killed, out of memory), nothing local would notice: every
destination record would wait in the outbox forever. The watchdog checks moto every couple of
seconds and, when it stops answering, starts a new one and makes the stack's resources in it
again. Records wait in the outbox meanwhile and are delivered once it is back. What the dead
moto held (queue contents, table items) is gone, as it would be on any machine that lost it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from local.aws_services.moto_server import AwsServices

__all__ = ["CHECK_SECONDS", "keep_services_up"]

log = logging.getLogger(__name__)

CHECK_SECONDS = 2.0


async def keep_services_up(
    services: AwsServices,
    provision: Callable[[], None],
    *,
    check_seconds: float = CHECK_SECONDS,
) -> None:
    """Restart moto (and ``provision`` the stack in it) whenever it stops answering; forever."""
    while True:
        await asyncio.sleep(check_seconds)
        if await asyncio.to_thread(services.healthy):
            continue
        log.warning(
            "the AWS services (moto on %s) stopped answering: starting them again; destination "
            "records wait in the outbox until they are back",
            services.url,
        )
        try:
            await asyncio.to_thread(services.start)
            await asyncio.to_thread(provision)
        except Exception:
            log.exception("could not start the AWS services again; will retry")
        else:
            log.warning("the AWS services are back on %s", services.url)

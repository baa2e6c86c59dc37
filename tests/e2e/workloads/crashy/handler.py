"""``{"do": "exit"}`` ends the process mid-invocation, ``{"do": "hang"}`` outlives the timeout;
anything else answers the environment's process id (so a test sees environments replaced)."""

from __future__ import annotations

import os
import time


def handler(event: dict, context: object) -> dict:
    if event.get("do") == "exit":
        os._exit(3)
    if event.get("do") == "hang":
        time.sleep(3600)
    return {"pid": os.getpid()}

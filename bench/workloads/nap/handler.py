"""Sleeps ``event["seconds"]`` (default 2), then says how long it slept."""

from __future__ import annotations

import time

DEFAULT_SECONDS = 2.0


def handler(event: dict, context: object) -> dict:
    seconds = float(event.get("seconds", DEFAULT_SECONDS))
    time.sleep(seconds)
    return {"slept": seconds}

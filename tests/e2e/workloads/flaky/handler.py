"""Always raises, with the event's ``message``."""

from __future__ import annotations


def handler(event: dict, context: object) -> dict:
    raise RuntimeError(event.get("message", "flaky by design"))

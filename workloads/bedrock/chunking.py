"""From a model's deltas to the chunks a stream publishes: coalesced, never over AppSync's limit.

A chunk goes out when ``flush_seconds`` have passed since the last one or ``flush_bytes`` of
text have gathered, whichever comes first; the first delta goes out at once, so the time to
the first text is not delayed. Each chunk's text is only what came since the previous chunk.
A subscription message over 240 KB is dropped by AppSync without a word, so text too long for
one message is split (on character boundaries, measured as the JSON it travels in) into
several.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["MAX_TEXT_BYTES", "MESSAGE_LIMIT_BYTES", "Coalescer", "split_text"]

MESSAGE_LIMIT_BYTES = 240 * 1024
"""AppSync's limit on a subscription message, its envelope included."""
ENVELOPE_BYTES = 2 * 1024
"""Room left for the message around the text: the ids, seq, flags, usage and JSON keys."""
MAX_TEXT_BYTES = MESSAGE_LIMIT_BYTES - ENVELOPE_BYTES


@dataclass
class Coalescer:
    """Gathers deltas and says when to publish, by the flush rule above."""

    flush_seconds: float
    flush_bytes: int
    max_text_bytes: int = MAX_TEXT_BYTES
    _pending: list[str] = field(default_factory=list)
    _pending_bytes: int = 0
    _last_flush: float | None = None

    def add(self, text: str, now: float) -> list[str]:
        """Take a delta received at ``now`` (seconds); return the texts to publish now."""
        self._pending.append(text)
        self._pending_bytes += len(text.encode())
        first = self._last_flush is None
        due = first or now - self._last_flush >= self.flush_seconds  # type: ignore[operator]
        if due or self._pending_bytes >= self.flush_bytes:
            return self._flush(now)
        return []

    def drain(self, now: float) -> list[str]:
        """What is left at the end of the stream (publish it with the last chunk)."""
        return self._flush(now) if self._pending else []

    def _flush(self, now: float) -> list[str]:
        text = "".join(self._pending)
        self._pending, self._pending_bytes, self._last_flush = [], 0, now
        return list(split_text(text, self.max_text_bytes)) if text else []


def split_text(text: str, max_bytes: int) -> Iterator[str]:
    """``text`` in consecutive pieces whose JSON string form is at most ``max_bytes``."""
    start, size = 0, 2  # the quotes
    for index, character in enumerate(text):
        width = _json_width(character)
        if size + width > max_bytes and index > start:
            yield text[start:index]
            start, size = index, 2
        size += width
    if start < len(text):
        yield text[start:]


def _json_width(character: str) -> int:
    """The most bytes ``character`` takes inside a JSON string: escaped as ``\\uXXXX`` by a
    serializer that keeps to ASCII, which is never less than its UTF-8 form."""
    if character.isascii() and character.isprintable() and character not in '"\\':
        return 1
    return len(json.dumps(character)) - 2

"""What a stream request must be: checked by the worker as the resolver checks it first.

Plain Python, shared by the program (the resolver's argument rules) and the worker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streaming import StreamSettings

__all__ = ["NOT_BLANK", "STREAM_ID_PATTERN", "StreamRequest", "StreamRequestError", "parse_request"]

STREAM_ID_PATTERN = r"[A-Za-z0-9_-]{16,128}"
"""A client's own stream id: long enough to be unguessable, safe in any log or URL."""
NOT_BLANK = r"[\s\S]*\S[\s\S]*"
"""A prompt with something in it besides white space."""


@dataclass(frozen=True, kw_only=True)
class StreamRequest:
    """What the client asked for (already checked)."""

    request_id: str
    stream_id: str
    prompt: str
    system: str | None = None
    max_tokens: int | None = None


class StreamRequestError(ValueError):
    """The event is not a stream request this worker accepts; the message says why."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"StreamRequestError: {detail}")


def parse_request(event: Any, limits: StreamSettings) -> StreamRequest:
    """Check the event as the resolver did; raise :class:`StreamRequestError` saying why."""
    if not isinstance(event, dict):
        raise StreamRequestError("the event is not an object")
    request_id, stream_id = event.get("requestId"), event.get("streamId")
    prompt, system, max_tokens = event.get("prompt"), event.get("system"), event.get("maxTokens")
    if not isinstance(request_id, str) or not request_id:
        raise StreamRequestError("requestId is missing")
    if not isinstance(stream_id, str) or not re.fullmatch(STREAM_ID_PATTERN, stream_id):
        raise StreamRequestError(f"streamId must match {STREAM_ID_PATTERN}")
    if not isinstance(prompt, str) or not prompt.strip():
        raise StreamRequestError("prompt is empty")
    if len(prompt) > limits.max_prompt_chars:
        raise StreamRequestError(
            f"prompt has {len(prompt)} characters, over {limits.max_prompt_chars}"
        )
    if system is not None and (
        not isinstance(system, str) or len(system) > limits.max_system_chars
    ):
        raise StreamRequestError(
            f"system must be a string of at most {limits.max_system_chars} characters"
        )
    if max_tokens is not None and not (
        isinstance(max_tokens, int) and 1 <= max_tokens <= limits.max_tokens
    ):
        raise StreamRequestError(f"maxTokens must be 1 to {limits.max_tokens}")
    return StreamRequest(
        request_id=request_id,
        stream_id=stream_id,
        prompt=prompt,
        system=system,
        max_tokens=max_tokens,
    )

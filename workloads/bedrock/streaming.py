"""One attempt at a stream: Bedrock's ``converse_stream`` in, coalesced chunks out.

Each chunk carries the ``streamId``, a ``seq`` contiguous from 0 within the ``attempt``, and the
text since the previous chunk (never the text so far). The last chunk has ``done: true``, the
stop reason and the usage. A failure (a throttle that outlasted botocore's retries, an
exception frame mid-stream, a publish that keeps failing) ends the stream with a final chunk
that has ``done: true`` and the error's type and message, then raises :class:`StreamFailed`,
so the invocation fails and its record reaches the failure destination.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from chunk_publisher import PublishFailed
from chunking import Coalescer
from stream_request import StreamRequest

__all__ = ["StreamFailed", "StreamOutcome", "StreamSettings", "run_stream"]


class Publisher(Protocol):
    def publish(self, chunk: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True, kw_only=True)
class StreamSettings:
    """The stack's settings for this workload, as the worker reads them."""

    model_id: str
    max_tokens: int
    temperature: float
    system: str | None
    flush_ms: int
    flush_bytes: int
    max_prompt_chars: int
    max_system_chars: int


@dataclass(frozen=True)
class StreamOutcome:
    """What a completed stream sent."""

    chunks: int
    text_bytes: int
    stop_reason: str | None
    usage: dict[str, Any] | None


class StreamFailed(Exception):
    """The stream ended with an error chunk: ``error_type`` and ``message`` are what it said."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message


def run_stream(
    request: StreamRequest,
    settings: StreamSettings,
    bedrock: Any,
    publisher: Publisher,
    attempt: int,
    clock: Callable[[], float] = time.monotonic,
) -> StreamOutcome:
    """Stream the model's answer to ``request`` as chunks of this ``attempt``."""
    sender = _Sender(request.stream_id, attempt, publisher)
    coalescer = Coalescer(settings.flush_ms / 1000, settings.flush_bytes)
    try:
        stop_reason, usage = _converse(request, settings, bedrock, coalescer, sender, clock)
        rest = coalescer.drain(clock())
        for text in rest[:-1]:
            sender.send(text=text, done=False)
        sender.send(
            text=rest[-1] if rest else None,
            done=True,
            stopReason=stop_reason,
            usage=json.dumps(usage) if usage is not None else None,
        )
    except PublishFailed as failure:
        raise sender.fail("PublishFailed", str(failure)) from failure
    except ClientError as error:  # before the stream, or an exception frame within it
        details = error.response.get("Error", {})
        kind = details.get("Code") or type(error).__name__
        raise sender.fail(kind, details.get("Message") or str(error)) from error
    except BotoCoreError as error:  # the connection to Bedrock broke
        raise sender.fail(type(error).__name__, str(error)) from error
    return StreamOutcome(sender.seq, sender.text_bytes, stop_reason, usage)


def _converse(
    request: StreamRequest,
    settings: StreamSettings,
    bedrock: Any,
    coalescer: Coalescer,
    sender: _Sender,
    clock: Callable[[], float],
) -> tuple[str | None, dict[str, Any] | None]:
    system = request.system if request.system is not None else settings.system
    response = bedrock.converse_stream(
        modelId=settings.model_id,
        messages=[{"role": "user", "content": [{"text": request.prompt}]}],
        **({"system": [{"text": system}]} if system else {}),
        inferenceConfig={
            "maxTokens": request.max_tokens or settings.max_tokens,
            "temperature": settings.temperature,
        },
    )
    stop_reason: str | None = None
    usage: dict[str, Any] | None = None
    for event in response["stream"]:
        if "contentBlockDelta" in event:
            text = event["contentBlockDelta"]["delta"].get("text")
            for piece in coalescer.add(text, clock()) if text else ():
                sender.send(text=piece, done=False)
        elif "messageStop" in event:
            stop_reason = event["messageStop"].get("stopReason")
        elif "metadata" in event:
            usage = dict(event["metadata"].get("usage") or {})
    return stop_reason, usage


class _Sender:
    """Numbers and sends the chunks of one attempt."""

    def __init__(self, stream_id: str, attempt: int, publisher: Publisher) -> None:
        self._stream_id = stream_id
        self._attempt = attempt
        self._publisher = publisher
        self.seq = 0
        self.text_bytes = 0
        self._ended = False

    def send(self, **fields: Any) -> None:
        self._publisher.publish(
            {"streamId": self._stream_id, "seq": self.seq, "attempt": self._attempt, **fields}
        )
        self.seq += 1
        self.text_bytes += len((fields.get("text") or "").encode())
        self._ended = bool(fields.get("done"))

    def fail(self, error_type: str, message: str) -> StreamFailed:
        """End the stream with an error chunk (if it can still be sent) and say why."""
        if not self._ended:
            # If even this fails the client cannot be told; the failure record will say it.
            with contextlib.suppress(PublishFailed):
                self.send(done=True, error=f"{error_type}: {message}")
        return StreamFailed(error_type, message)

"""``ackflow chat "<prompt>"``: a streamed answer, printed live as its chunks arrive.

Subscribes to ``onChunk`` with a fresh unguessable ``streamId`` first, then starts the stream
with ``startStream`` (the stack's auth, as ``ackflow graphql``), and prints each chunk's text
in ``seq`` order. At the end: the stop reason, the usage, the time to the first chunk, the
chunks and bytes. An error chunk is shown as an error; Lambda retries a failed stream, so the
chat then waits ``retry_wait_seconds`` for a new ``attempt`` (which starts over on a new
line) before it gives up.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from local.appsync.client import AuthMode, post_graphql, subscribe

__all__ = ["ChatResult", "chat"]

START_STREAM = """
mutation Start($prompt: String!, $streamId: ID!, $system: String, $maxTokens: Int) {
  startStream(prompt: $prompt, streamId: $streamId, system: $system, maxTokens: $maxTokens) {
    requestId status streamId
  }
}"""
ON_CHUNK = """
subscription Chunks($streamId: ID!) {
  onChunk(streamId: $streamId) { streamId seq attempt text done error stopReason usage }
}"""
SUBSCRIBED_SECONDS = 0.5
"""How long after connecting to start the stream: the subscription's start_ack comes first."""


@dataclass
class ChatResult:
    stream_id: str
    request_id: str | None = None
    error: str | None = None
    stop_reason: str | None = None
    usage: dict[str, Any] | None = None
    first_chunk_seconds: float | None = None
    chunks: int = 0
    text_bytes: int = 0
    attempts: set[int] = field(default_factory=set)


async def chat(
    endpoints: Mapping[str, Any],
    prompt: str,
    console: Console,
    *,
    system: str | None = None,
    max_tokens: int | None = None,
    auth: AuthMode | None = None,
    timeout_seconds: float = 600,
    retry_wait_seconds: float = 65,
) -> ChatResult:
    """Stream one answer to ``prompt``, printing it to ``console`` as it arrives."""
    result = ChatResult(stream_id=secrets.token_urlsafe(18))
    chunks = subscribe(endpoints, ON_CHUNK, {"streamId": result.stream_id}, auth)
    first = asyncio.ensure_future(anext(chunks))  # connects and subscribes
    await asyncio.sleep(SUBSCRIBED_SECONDS)
    started = time.monotonic()
    variables = {
        "prompt": prompt,
        "streamId": result.stream_id,
        "system": system,
        "maxTokens": max_tokens,
    }
    answer = await post_graphql(endpoints, START_STREAM, variables, auth)
    if answer.failed:
        first.cancel()
        await chunks.aclose()
        result.error = _answer_error(answer.body)
        return result
    result.request_id = answer.body["data"]["startStream"]["requestId"]
    try:
        async with asyncio.timeout(timeout_seconds):
            event = await first
            while not _show(event["onChunk"], result, console, started):
                wait = retry_wait_seconds if result.error else None
                try:
                    event = await asyncio.wait_for(anext(chunks), wait)
                except TimeoutError:
                    break  # no new attempt came: the error stands
    finally:
        await chunks.aclose()
    return result


def _show(chunk: dict[str, Any], result: ChatResult, console: Console, started: float) -> bool:
    """Print one chunk; True when it ends the stream."""
    if result.first_chunk_seconds is None:
        result.first_chunk_seconds = time.monotonic() - started
    attempt = chunk.get("attempt") or 1
    if result.attempts and attempt not in result.attempts:
        console.print(f"\n[yellow]… retrying (attempt {attempt})[/]")
    result.attempts.add(attempt)
    text = chunk.get("text") or ""
    result.chunks += 1
    result.text_bytes += len(text.encode())
    console.print(text, end="", markup=False, highlight=False, soft_wrap=True)
    if not chunk.get("done"):
        return False
    console.print()
    if chunk.get("error"):
        result.error = chunk["error"]
        console.print(f"[bold red]error:[/] {chunk['error']}", highlight=False)
        return False  # Lambda may retry the stream: a new attempt may follow
    result.error = None
    result.stop_reason = chunk.get("stopReason")
    usage = chunk.get("usage")
    result.usage = json.loads(usage) if isinstance(usage, str) else usage
    return True


def _answer_error(body: Any) -> str:
    if isinstance(body, dict) and body.get("errors"):
        first = body["errors"][0]
        return f"{first.get('errorType')}: {first.get('message')}"
    return str(body)

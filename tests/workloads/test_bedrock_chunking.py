"""The streaming worker's coalescing, for any deltas and timings (hypothesis): the chunks carry
the model's text exactly once, in a contiguous seq, within AppSync's 240 KB, and no more often
than the flush rule allows."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.workloads.handler_loading import handler_module

FLUSH_SECONDS = 0.1
FLUSH_BYTES = 64


@pytest.fixture(scope="module")
def modules() -> Iterator[tuple[Any, Any]]:
    with handler_module("bedrock", "streaming.py", "bedrock_streaming") as streaming:
        import chunking  # the worker's sibling module, importable while the handler is loaded

        yield streaming, chunking


class ScriptedModel:
    """Bedrock's converse_stream as a script of (text, seconds after the previous delta)."""

    def __init__(self, deltas: list[tuple[str, float]], clock: list[float]) -> None:
        self._deltas = deltas
        self._clock = clock

    def converse_stream(self, **_request: Any) -> dict[str, Any]:
        def events() -> Iterator[dict[str, Any]]:
            yield {"messageStart": {"role": "assistant"}}
            for text, pause in self._deltas:
                self._clock[0] += pause
                yield {"contentBlockDelta": {"delta": {"text": text}, "contentBlockIndex": 0}}
            yield {"contentBlockStop": {"contentBlockIndex": 0}}
            yield {"messageStop": {"stopReason": "end_turn"}}
            yield {"metadata": {"usage": {"inputTokens": 3, "outputTokens": len(self._deltas)}}}

        return {"stream": events()}


class Recorder:
    def __init__(self, clock: list[float]) -> None:
        self.chunks: list[tuple[float, dict[str, Any]]] = []
        self._clock = clock

    def publish(self, chunk: dict[str, Any]) -> None:
        self.chunks.append((self._clock[0], dict(chunk)))


def subscription_message(chunk: dict[str, Any]) -> bytes:
    """What a subscriber is sent for the chunk (every field of Chunk, in AppSync's envelope)."""
    fields = {
        name: chunk.get(name)
        for name in ("streamId", "seq", "attempt", "text", "done", "error", "stopReason", "usage")
    }
    envelope = {"id": "0" * 36, "type": "data", "payload": {"data": {"onChunk": fields}}}
    return json.dumps(envelope).encode()


def stream(modules, deltas: list[tuple[str, float]], **limits: Any) -> list[tuple[float, dict]]:
    streaming, _ = modules
    clock = [0.0]
    recorder = Recorder(clock)
    request = streaming.StreamRequest(request_id="r", stream_id="s" * 128, prompt="p")
    options = (
        dict(
            model_id="m",
            max_tokens=100,
            temperature=0.5,
            system=None,
            flush_ms=int(FLUSH_SECONDS * 1000),
            flush_bytes=FLUSH_BYTES,
            max_prompt_chars=100,
            max_system_chars=100,
        )
        | limits
    )
    streaming.run_stream(
        request,
        streaming.StreamSettings(**options),
        ScriptedModel(deltas, clock),
        recorder,
        attempt=2,
        clock=lambda: clock[0],
    )
    return recorder.chunks


DELTAS = st.lists(
    st.tuples(st.text(min_size=1, max_size=40), st.floats(min_value=0, max_value=0.25)),
    min_size=1,
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(deltas=DELTAS)
def test_chunks_carry_the_text_once_in_order_and_end_once(modules, deltas):
    published = stream(modules, deltas)
    chunks = [chunk for _, chunk in published]

    assert "".join(c.get("text") or "" for c in chunks) == "".join(t for t, _ in deltas)
    assert [c["seq"] for c in chunks] == list(range(len(chunks)))
    assert {c["attempt"] for c in chunks} == {2}
    assert [c["done"] for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert chunks[-1]["stopReason"] == "end_turn"
    assert json.loads(chunks[-1]["usage"]) == {"inputTokens": 3, "outputTokens": len(deltas)}
    assert chunks[0]["text"].startswith(deltas[0][0])  # the first delta goes out at once
    assert published[0][0] == deltas[0][1]
    assert all(len(subscription_message(c)) <= 240 * 1024 for c in chunks)


@settings(max_examples=200, deadline=None)
@given(deltas=DELTAS)
def test_no_chunk_goes_out_before_the_flush_rule_says(modules, deltas):
    published = stream(modules, deltas)
    sent_before_end = published[:-1]

    for (previous_at, _), (at, chunk) in itertools.pairwise(sent_before_end):
        waited = at - previous_at >= FLUSH_SECONDS - 1e-9
        gathered = len(chunk["text"].encode()) >= FLUSH_BYTES
        assert waited or gathered, (previous_at, at, chunk)


@settings(max_examples=50, deadline=None)
@given(text=st.text(min_size=1, max_size=400), limit=st.integers(min_value=14, max_value=60))
def test_text_too_long_for_one_message_is_split_on_character_boundaries(modules, text, limit):
    _, chunking = modules
    pieces = list(chunking.split_text(text, limit))

    assert "".join(pieces) == text
    assert all(len(json.dumps(piece).encode()) <= limit for piece in pieces)


def test_a_delta_over_240_kb_becomes_several_messages_each_under_the_limit(modules):
    awkward = 'é"\\\n😀\x01' * 12_000 + "x" * 200_000  # escapes, astral and control characters
    published = stream(modules, [(awkward, 0.0), ("end", 0.0)])
    chunks = [chunk for _, chunk in published]

    assert len(chunks) >= 3
    assert "".join(c.get("text") or "" for c in chunks) == awkward + "end"
    assert max(len(subscription_message(c)) for c in chunks) <= 240 * 1024


def test_per_token_deltas_at_haikus_pace_make_at_least_ten_times_fewer_publishes(modules):
    tokens = [(" word", 0.01)] * 1000  # 100 tokens/s
    chunks = stream(modules, tokens, flush_bytes=1024)

    assert len(chunks) <= len(tokens) / 10

"""The streaming figures: how soon the model's first token reaches a subscriber, against a bare
boto3 client of the Bedrock stand-in in the same run; and publishes per 1,000 tokens against
publishing every token.

The subscriber is gql's AppSyncWebsocketsTransport on the stack's real-time URL; startStream
goes through gql's aiohttp transport with the API key. The stand-in's first token is written
``first_token_seconds`` after its request arrives, and the request's connection is seen opening
in the kernel's TCP table (bench.tcp_watch): the first token's time is that plus the delay.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import statistics
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
from gql import Client, GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.appsync_auth import AppSyncApiKeyAuthentication
from gql.transport.appsync_websockets import AppSyncWebsocketsTransport

from bench.tcp_watch import ConnectionWatch
from workloads.bedrock.model_ids import default_model_id

if TYPE_CHECKING:
    from bench.stack import BenchStack

__all__ = ["measure_streaming"]

START = """mutation ($prompt: String!, $streamId: ID!, $maxTokens: Int) {
  startStream(prompt: $prompt, streamId: $streamId, maxTokens: $maxTokens) { requestId status }
}"""
CHUNKS = """subscription ($streamId: ID!) {
  onChunk(streamId: $streamId) { seq text done error usage }
}"""
PROMPT = "Describe a lighthouse keeper's evening"
SAMPLES = 5
SAMPLE_MAX_TOKENS = 30
"""The latency samples stop early: only the first chunk matters to them."""
SUBSCRIBED_SECONDS = 0.5
STREAM_TIMEOUT_SECONDS = 60


def measure_streaming(stack: BenchStack, first_token_seconds: float) -> dict[str, Any]:
    if not ConnectionWatch.available():
        raise RuntimeError("the first-token figure reads Linux's socket table (sock_diag)")
    watch = ConnectionWatch(stack.ports.bedrock)
    try:
        return asyncio.run(_measure(stack, watch, first_token_seconds))
    finally:
        watch.close()


async def _measure(
    stack: BenchStack, watch: ConnectionWatch, first_token_seconds: float
) -> dict[str, Any]:
    endpoints = stack.endpoints
    auth = AppSyncApiKeyAuthentication(
        host=urlsplit(endpoints["graphql_url"]).netloc, api_key=endpoints["api_key"]
    )
    realtime = Client(
        transport=AppSyncWebsocketsTransport(url=endpoints["realtime_url"], auth=auth)
    )
    http = Client(transport=AIOHTTPTransport(url=endpoints["graphql_url"], auth=auth))
    async with realtime as subscriber, http as caller:
        full = await _stream(subscriber, caller, watch, None)  # also warms the worker
        samples = []
        bare = []
        for _ in range(SAMPLES):
            samples.append(await _stream(subscriber, caller, watch, SAMPLE_MAX_TOKENS))
            bare.append(await asyncio.to_thread(_bare_first_delta, endpoints, watch))
    usage = json.loads(full["chunks"][-1]["usage"] or "{}")
    tokens = usage.get("outputTokens") or 0
    publishes = len(full["chunks"])
    to_subscriber = [_after_first_token(s, first_token_seconds) for s in samples]
    to_bare = [_after_first_token(b, first_token_seconds) for b in bare]
    return {
        "first_token_seconds": first_token_seconds,
        "first_chunk_after_first_token_ms": _ms(statistics.median(to_subscriber)),
        "first_chunk_after_first_token_samples_ms": [_ms(x) for x in to_subscriber],
        "bare_first_delta_after_first_token_ms": _ms(statistics.median(to_bare)),
        "bare_samples_ms": [_ms(x) for x in to_bare],
        "start_to_first_chunk_ms": _ms(
            statistics.median(s["first_chunk"] - s["started"] for s in samples)
        ),
        "start_to_model_request_ms": _ms(
            statistics.median(s["connected"] - s["started"] for s in samples)
        ),
        "output_tokens": tokens,
        "publishes": publishes,
        "publishes_per_1000_tokens": round(1000 * publishes / tokens, 1) if tokens else None,
        "per_token_publishes_per_1000_tokens": 1000,
    }


async def _stream(
    subscriber: Any, caller: Any, watch: ConnectionWatch, max_tokens: int | None
) -> dict[str, Any]:
    """One stream: when it was started, when the stand-in was called, its chunks and when the
    first arrived."""
    stream_id = secrets.token_urlsafe(18)
    arrived: dict[str, Any] = {"chunks": []}

    async def follow() -> None:
        request = GraphQLRequest(CHUNKS, variable_values={"streamId": stream_id})
        async for event in subscriber.subscribe(request):
            arrived.setdefault("first_chunk", time.monotonic())
            arrived["chunks"].append(event["onChunk"])
            if event["onChunk"]["done"]:
                return

    following = asyncio.create_task(follow())
    await asyncio.sleep(SUBSCRIBED_SECONDS)
    await asyncio.to_thread(watch.arm)
    arrived["started"] = time.monotonic()
    variables = {"prompt": PROMPT, "streamId": stream_id, "maxTokens": max_tokens}
    ack = await caller.execute(GraphQLRequest(START, variable_values=variables))
    if ack["startStream"]["status"] != "ACCEPTED":
        raise RuntimeError(f"startStream answered {ack}")
    arrived["connected"] = await asyncio.to_thread(watch.wait)
    await asyncio.wait_for(following, STREAM_TIMEOUT_SECONDS)
    if arrived["connected"] is None or arrived["chunks"][-1].get("error"):
        raise RuntimeError(f"the stream did not reach the stand-in or failed: {arrived}")
    return arrived


def _bare_first_delta(endpoints: dict[str, Any], watch: ConnectionWatch) -> dict[str, Any]:
    """A boto3 client's own converse_stream to the stand-in: when its first delta arrived."""
    bedrock = boto3.client(  # a new client: a new connection for the watch to see
        "bedrock-runtime",
        endpoint_url=endpoints["bedrock_runtime_url"],
        region_name=endpoints["region"],
        aws_access_key_id=endpoints["aws_access_key_id"],
        aws_secret_access_key=endpoints["aws_secret_access_key"],
    )
    watch.arm()
    answer = bedrock.converse_stream(
        modelId=default_model_id(endpoints["region"]),  # the worker's, as the dev stack sets none
        messages=[{"role": "user", "content": [{"text": PROMPT}]}],
        inferenceConfig={"maxTokens": SAMPLE_MAX_TOKENS},
    )
    first = None
    for event in answer["stream"]:
        if first is None and "contentBlockDelta" in event:
            first = time.monotonic()
    connected = watch.wait()
    if connected is None or first is None:
        raise RuntimeError("the bare converse_stream was not seen or had no delta")
    return {"connected": connected, "first_chunk": first}


def _after_first_token(sample: dict[str, Any], first_token_seconds: float) -> float:
    return sample["first_chunk"] - (sample["connected"] + first_token_seconds)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)

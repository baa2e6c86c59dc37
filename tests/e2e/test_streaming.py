"""The Bedrock streaming workload end to end against a real `ackflow up`: gql's AppSync
transports subscribe to onChunk and call startStream; AppSync invokes the worker with Event;
the worker calls the Bedrock stand-in through boto3 and publishes SigV4-signed chunks."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

import boto3
import pytest
from gql import GraphQLRequest, gql

from local.appsync.client import post_graphql
from tests.e2e.appsync_clients import api_key_auth, http_client, realtime_client
from tests.e2e.runner import RunningStack, receive_records

START = """mutation ($prompt: String!, $streamId: ID!, $maxTokens: Int) {
  startStream(prompt: $prompt, streamId: $streamId, maxTokens: $maxTokens) {
    requestId status streamId
  }
}"""
CHUNKS = """subscription ($streamId: ID!) {
  onChunk(streamId: $streamId) { streamId seq attempt text done error stopReason usage }
}"""
SYSTEM = "Answer briefly."  # tests/e2e/Pulumi.e2e.yaml
WAIT_SECONDS = 60


def stream_id() -> str:
    return secrets.token_urlsafe(18)


async def follow(stack: RunningStack, sid: str, until_attempt_done: int = 1) -> list[dict]:
    """The chunks of a stream until an attempt numbered ``until_attempt_done`` (or later)
    ends, successfully or not."""
    chunks: list[dict] = []
    async with realtime_client(stack, api_key_auth(stack)) as session:
        request = GraphQLRequest(CHUNKS, variable_values={"streamId": sid})
        async for event in session.subscribe(request):
            chunk = event["onChunk"]
            chunks.append(chunk)
            if chunk["done"] and chunk["attempt"] >= until_attempt_done:
                return chunks
    return chunks


async def start(stack: RunningStack, sid: str, prompt: str, **more: Any) -> dict:
    async with http_client(stack, api_key_auth(stack)) as session:
        request = gql(START)
        request.variable_values = {"prompt": prompt, "streamId": sid, **more}
        return (await session.execute(request))["startStream"]


def streamed(
    stack: RunningStack, prompt: str, until_attempt_done: int = 1, **more: Any
) -> tuple[dict, list[dict]]:
    async def scenario() -> tuple[dict, list[dict]]:
        sid = stream_id()
        chunks = asyncio.create_task(follow(stack, sid, until_attempt_done))
        await asyncio.sleep(1.0)  # subscribed well before the stream starts
        ack = await start(stack, sid, prompt, **more)
        return ack, await asyncio.wait_for(chunks, WAIT_SECONDS)

    return asyncio.run(scenario())


def stand_in_reply(stack: RunningStack, prompt: str) -> dict:
    bedrock = boto3.client(
        "bedrock-runtime",
        endpoint_url=stack.endpoints["bedrock_runtime_url"],
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    return bedrock.converse(
        modelId="us.anthropic.claude-haiku-4-5-20251001-v1:0",
        messages=[{"role": "user", "content": [{"text": prompt}]}],
        system=[{"text": SYSTEM}],
        inferenceConfig={"maxTokens": 1024, "temperature": 0.5},
    )


def attempts(chunks: list[dict]) -> dict[int, list[dict]]:
    by_attempt: dict[int, list[dict]] = {}
    for chunk in chunks:
        by_attempt.setdefault(chunk["attempt"], []).append(chunk)
    return by_attempt


def test_chunks_arrive_in_order_and_end_in_one_done_chunk_with_usage(running_stack):
    prompt = "Describe a lighthouse at night"
    ack, chunks = streamed(running_stack, prompt)
    reply = stand_in_reply(running_stack, prompt)

    assert ack["status"] == "ACCEPTED"
    assert [c["seq"] for c in chunks] == list(range(len(chunks)))
    assert [c["done"] for c in chunks].count(True) == 1 and chunks[-1]["done"]
    assert (
        "".join(c["text"] or "" for c in chunks) == reply["output"]["message"]["content"][0]["text"]
    )
    assert chunks[-1]["stopReason"] == "end_turn"
    usage = json.loads(chunks[-1]["usage"])
    assert usage["outputTokens"] == reply["usage"]["outputTokens"] > 100
    assert len(chunks) < usage["outputTokens"] / 5  # coalesced: far fewer chunks than tokens


def test_two_concurrent_streams_are_kept_apart(running_stack):
    async def scenario() -> tuple[list[dict], list[dict]]:
        first, second = stream_id(), stream_id()
        followers = [asyncio.create_task(follow(running_stack, s)) for s in (first, second)]
        await asyncio.sleep(1.0)
        await asyncio.gather(
            start(running_stack, first, "Write about oak trees"),
            start(running_stack, second, "Write about sea otters"),
        )
        done = await asyncio.wait_for(asyncio.gather(*followers), WAIT_SECONDS)
        return done[0], done[1]

    oaks, otters = asyncio.run(scenario())

    assert {c["streamId"] for c in oaks} != {c["streamId"] for c in otters}
    assert len({c["streamId"] for c in oaks}) == len({c["streamId"] for c in otters}) == 1
    assert "oak" in "".join(c["text"] or "" for c in oaks).lower()
    assert "otter" in "".join(c["text"] or "" for c in otters).lower()
    assert "otter" not in "".join(c["text"] or "" for c in oaks).lower()


def test_a_fault_mid_stream_ends_each_attempt_with_an_error_and_leaves_a_failure_record(
    running_stack,
):
    ack, chunks = streamed(
        running_stack, "Rivers [ackflow-fault: midstream after=10]", until_attempt_done=3
    )

    runs = attempts(chunks)
    assert sorted(runs) == [1, 2, 3]  # the first try and AWS's two retries
    for run in runs.values():
        assert [c["seq"] for c in run] == list(range(len(run)))
        assert run[-1]["done"] and run[-1]["error"].startswith("modelStreamErrorException")
    failure = running_stack.workload("bedrock")["failure_queue_url"]
    records = receive_records(running_stack, failure, 1, timeout=30)
    (record,) = [r for r in records if r["requestPayload"]["requestId"] == ack["requestId"]]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"]["errorType"] == "StreamFailed"


def test_a_throttle_past_botocores_retries_fails_the_attempt_and_the_retry_streams(running_stack):
    # botocore tries 3 times: the first attempt meets 3 throttles, the retry 1 and then a model.
    _, chunks = streamed(
        running_stack, "Comets [ackflow-fault: throttle times=4]", until_attempt_done=2
    )

    runs = attempts(chunks)
    assert runs[1] == [
        {
            "streamId": runs[1][0]["streamId"],
            "seq": 0,
            "attempt": 1,
            "text": None,
            "done": True,
            "error": runs[1][0]["error"],
            "stopReason": None,
            "usage": None,
        }
    ]
    assert runs[1][0]["error"].startswith("ThrottlingException")
    assert runs[2][-1]["stopReason"] == "end_turn"
    assert [c["seq"] for c in runs[2]] == list(range(len(runs[2])))


def test_a_duplicate_delivery_of_a_completed_stream_does_not_stream_again(running_stack):
    sid = stream_id()
    event = {"prompt": "Tell me about bees", "streamId": sid, "requestId": secrets.token_hex(8)}
    function = running_stack.workload("bedrock")["function_name"]
    lambda_client = running_stack.client("lambda")

    async def scenario() -> list[dict]:
        chunks: list[dict] = []

        async def collect() -> None:
            async with realtime_client(running_stack, api_key_auth(running_stack)) as session:
                async for message in session.subscribe(
                    GraphQLRequest(CHUNKS, variable_values={"streamId": sid})
                ):
                    chunks.append(message["onChunk"])

        collector = asyncio.create_task(collect())
        await asyncio.sleep(1.0)
        for _ in range(2):
            await asyncio.to_thread(
                lambda_client.invoke,
                FunctionName=function,
                InvocationType="Event",
                Payload=json.dumps(event),
            )
            await _wait_for(lambda: any(c["done"] for c in chunks))
        await asyncio.sleep(2.0)  # room for a second stream, were there one
        collector.cancel()
        return chunks

    chunks = asyncio.run(scenario())
    success = running_stack.workload("bedrock")["success_queue_url"]
    records = [
        r
        for r in receive_records(running_stack, success, 2, timeout=30)
        if r["requestPayload"]["requestId"] == event["requestId"]
    ]

    assert [c["done"] for c in chunks].count(True) == 1
    assert {c["attempt"] for c in chunks} == {1}
    assert len(records) == 2  # both deliveries succeeded; the second returned the first's result
    assert records[0]["responsePayload"] == records[1]["responsePayload"]


@pytest.mark.parametrize(
    ("prompt", "sid", "complaint"),
    [
        ("   ", stream_id(), "ArgumentValidationError: prompt must match"),
        ("x" * 20_001, stream_id(), "ArgumentValidationError: prompt must be at most 20000"),
        ("hello", "too-short", "ArgumentValidationError: streamId must match"),
    ],
    ids=["blank prompt", "prompt too long", "guessable stream id"],
)
def test_a_request_the_worker_would_refuse_is_refused_before_anything_is_queued(
    running_stack, prompt, sid, complaint
):
    log = running_stack.workload("bedrock")["log_file"]
    starts_before = _starts(log)
    answer = asyncio.run(_start_raw(running_stack, sid, prompt))

    (error,) = answer["errors"]
    assert error["errorType"] == "ArgumentValidationError"
    assert error["message"].startswith(complaint)
    assert answer["data"] == {"startStream": None}
    time.sleep(1.0)
    assert _starts(log) == starts_before


async def _start_raw(stack: RunningStack, sid: str, prompt: str) -> dict:
    answer = await post_graphql(stack.endpoints, START, {"prompt": prompt, "streamId": sid})
    return answer.body


def _starts(log_file: str) -> int:
    try:
        with open(log_file) as log:
            return sum(" START RequestId: " in line for line in log)
    except FileNotFoundError:
        return 0


async def _wait_for(condition, seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)

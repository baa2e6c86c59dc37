"""The stand-in answers boto3's real bedrock-runtime client as Bedrock does.

Every call goes through botocore's serializer, signer, retry handler and event-stream parser,
so what passes here is what a worker's ``converse_stream`` loop will see.
"""

from __future__ import annotations

import json
import math
import urllib.request
from typing import Any

import botocore
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import ClientError, EventStreamError
from pydantic import ValidationError

from local.standins.bedrock import Pacing
from local.standins.bedrock.reply import count_tokens
from tests.local.standins.bedrock.conftest import MODEL, REGION, bedrock_client

PROMPT = "Explain async invocation in AWS Lambda, with retries and destinations."
HAIKU_45 = "anthropic.claude-haiku-4-5-20251001-v1:0"


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}]}]


def stream(client: Any, prompt: str = PROMPT, **request: Any) -> list[dict[str, Any]]:
    request.setdefault("modelId", MODEL)
    return list(client.converse_stream(messages=user(prompt), **request)["stream"])


def deltas(events: list[dict[str, Any]]) -> list[str]:
    return [e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e]


def converse(client: Any, prompt: str = PROMPT, **request: Any) -> dict[str, Any]:
    request.setdefault("modelId", MODEL)
    return client.converse(messages=user(prompt), **request)


def error_of(call: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response


# The stream's shape


def test_converse_stream_sends_bedrocks_events_in_order(client: Any) -> None:
    events = stream(client)

    names = [next(iter(event)) for event in events]
    count = len(deltas(events))
    assert count > 100
    assert names == [
        "messageStart",
        *["contentBlockDelta"] * count,
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert events[0] == {"messageStart": {"role": "assistant"}}
    assert all(
        e["contentBlockDelta"]["contentBlockIndex"] == 0 for e in events if "contentBlockDelta" in e
    )
    assert events[-3] == {"contentBlockStop": {"contentBlockIndex": 0}}
    assert events[-2] == {"messageStop": {"stopReason": "end_turn"}}
    assert set(events[-1]["metadata"]) == {"usage", "metrics"}
    assert events[-1]["metadata"]["metrics"]["latencyMs"] >= 0


def test_one_token_per_delta(client: Any) -> None:
    pieces = deltas(stream(client))

    assert all(count_tokens([piece]) == 1 for piece in pieces)


def test_stream_deltas_join_to_the_converse_text_for_the_same_prompt(client: Any) -> None:
    events = stream(client)
    answer = converse(client)

    assert "".join(deltas(events)) == answer["output"]["message"]["content"][0]["text"]
    assert answer["output"]["message"]["role"] == "assistant"
    assert answer["stopReason"] == events[-2]["messageStop"]["stopReason"]
    assert answer["usage"] == events[-1]["metadata"]["usage"]


def test_raw_frames_are_bedrock_event_frames_that_botocore_decodes(endpoint: str) -> None:
    url = f"{endpoint}/model/{MODEL.replace(':', '%3A')}/converse-stream"
    request = AWSRequest("POST", url, data=json.dumps({"messages": user(PROMPT)}).encode())
    SigV4Auth(Credentials("x", "x"), "bedrock", REGION).add_auth(request)
    prepared = urllib.request.Request(url, request.body, dict(request.headers), method="POST")
    with urllib.request.urlopen(prepared) as answer:
        content_type, raw = answer.headers["Content-Type"], answer.read()

    buffer = EventStreamBuffer()
    buffer.add_data(raw)
    frames = list(buffer)  # checks both CRCs of every frame
    assert content_type == "application/vnd.amazon.eventstream"
    assert sum(frame.prelude.total_length for frame in frames) == len(raw)
    for frame in frames:
        assert frame.headers[":message-type"] == "event"
        assert frame.headers[":content-type"] == "application/json"
        body = json.loads(frame.payload)
        assert body.pop("p")  # Bedrock's padding, at the event level
        if frame.headers[":event-type"] == "contentBlockDelta":
            assert list(body["delta"]) == ["text"]  # one member, or botocore refuses it
    assert frames[0].headers[":event-type"] == "messageStart"
    assert frames[-1].headers[":event-type"] == "metadata"


# The model


def test_the_same_conversation_always_gets_the_same_reply(client: Any) -> None:
    assert deltas(stream(client)) == deltas(stream(client))


def test_another_prompt_or_system_prompt_gets_another_reply(client: Any) -> None:
    base = "".join(deltas(stream(client)))
    other_prompt = "".join(deltas(stream(client, "How do SQS dead-letter queues work?")))
    other_system = "".join(deltas(stream(client, system=[{"text": "Answer as a pirate."}])))

    assert len({base, other_prompt, other_system}) == 3


def test_the_reply_is_a_few_hundred_tokens_of_prose_about_the_prompt(client: Any) -> None:
    answer = converse(client)
    text = answer["output"]["message"]["content"][0]["text"]

    assert 200 <= answer["usage"]["outputTokens"] <= 500
    assert "AWS Lambda" in text
    assert "destinations" in text
    assert all(paragraph.endswith(".") for paragraph in text.split("\n\n"))
    assert answer["stopReason"] == "end_turn"


def test_max_tokens_stops_the_reply_after_exactly_that_many_tokens(client: Any) -> None:
    full = "".join(deltas(stream(client)))
    events = stream(client, inferenceConfig={"maxTokens": 25})

    assert len(deltas(events)) == 25
    assert full.startswith("".join(deltas(events)))
    assert events[-2] == {"messageStop": {"stopReason": "max_tokens"}}
    assert events[-1]["metadata"]["usage"]["outputTokens"] == 25


def test_usage_counts_the_input_and_the_streamed_tokens(client: Any) -> None:
    system = "You are terse."
    events = stream(client, system=[{"text": system}])
    usage = events[-1]["metadata"]["usage"]

    assert usage["inputTokens"] == count_tokens([system, PROMPT])
    assert usage["outputTokens"] == len(deltas(events))
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]


def test_a_stop_sequence_ends_the_reply_before_it(client: Any) -> None:
    full = "".join(deltas(stream(client)))
    stop = full.split()[12]
    events = stream(client, inferenceConfig={"stopSequences": [stop]})

    assert "".join(deltas(events)) == full[: full.index(stop)].rstrip()
    assert events[-2] == {"messageStop": {"stopReason": "stop_sequence"}}


# Model ids


@pytest.mark.parametrize(
    "model_id",
    [
        MODEL,
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        f"arn:aws:bedrock:{REGION}::foundation-model/{MODEL}",
        *(f"{geo}.{MODEL}" for geo in ("us", "eu", "apac", "global")),
        f"us.{HAIKU_45}",
        f"arn:aws:bedrock:{REGION}:123456789012:inference-profile/us.{HAIKU_45}",
    ],
)
def test_foundation_models_profiles_and_their_arns_are_accepted(client: Any, model_id: str) -> None:
    assert stream(client, modelId=model_id)[-2]["messageStop"]["stopReason"] == "end_turn"


@pytest.mark.parametrize(
    "model_id",
    [
        "anthropic.claude-nonexistent-v1:0",
        f"xx.{MODEL}",
        f"arn:aws:bedrock:{REGION}:123456789012:foundation-model/{MODEL}",
        f"arn:aws:bedrock:{REGION}::inference-profile/us.{MODEL}",
        f"arn:aws:bedrock:{REGION}:123456789012:inference-profile/{MODEL}",
        f"arn:aws:bedrock:{REGION}::foundation-model/us.{MODEL}",
    ],
)
def test_an_unknown_model_id_is_a_validation_exception(client: Any, model_id: str) -> None:
    response = error_of(lambda: stream(client, modelId=model_id))

    assert response["Error"] == {
        "Code": "ValidationException",
        "Message": "The provided model identifier is invalid.",
    }
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize(
    "model_id", [HAIKU_45, f"arn:aws:bedrock:{REGION}::foundation-model/{HAIKU_45}"]
)
def test_a_profile_only_model_called_by_its_bare_id_is_refused_as_bedrock_does(
    client: Any, model_id: str
) -> None:
    response = error_of(lambda: converse(client, modelId=model_id))

    assert response["Error"]["Code"] == "ValidationException"
    assert response["Error"]["Message"].startswith(
        f"Invocation of model ID {HAIKU_45} with on-demand throughput isn\u2019t supported."
    )


# Request validation


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"messages": []}, "A conversation must start with a user message."),
        (
            {"messages": [{"role": "assistant", "content": [{"text": "Hi"}]}]},
            "A conversation must start with a user message.",
        ),
        (
            {"messages": [*user("Hi"), *user("Again")]},
            "A conversation must alternate between user and assistant roles.",
        ),
        (
            {"messages": user("")},
            "The text field in the ContentBlock object at messages.0.content.0 is blank.",
        ),
        (
            {"messages": user(" \n\t")},
            "The text field in the ContentBlock object at messages.0.content.0 is blank.",
        ),
        (
            {"messages": user("Hi"), "system": [{"text": " "}]},
            "The text field in the SystemContentBlock object at system.0 is blank.",
        ),
        (
            {"messages": user("Hi"), "inferenceConfig": {"maxTokens": 4097}},
            "The maximum tokens you requested exceeds the model limit of 4096.",
        ),
        (
            {"messages": user("Hi"), "inferenceConfig": {"temperature": 1.5}},
            "Value '1.5' at 'inferenceConfig.temperature' failed to satisfy constraint",
        ),
        (
            {
                "modelId": f"global.{HAIKU_45}",
                "messages": user("Hi"),
                "inferenceConfig": {"temperature": 0.5, "topP": 0.9},
            },
            "`temperature` and `top_p` cannot both be specified for this model.",
        ),
        (
            {
                "messages": user("Hi"),
                "toolConfig": {"tools": [{"toolSpec": {"name": "t", "inputSchema": {"json": {}}}}]},
            },
            "toolConfig is not emulated by the ackflow Bedrock stand-in.",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"image": {"format": "png", "source": {"bytes": b"png"}}}],
                    }
                ]
            },
            "ContentBlock image (at messages.0.content.0) is not emulated",
        ),
    ],
)
def test_bad_requests_get_bedrocks_validation_exception(
    client: Any, request_: dict[str, Any], message: str
) -> None:
    request_.setdefault("modelId", MODEL)
    response = error_of(lambda: client.converse_stream(**request_))

    assert response["Error"]["Code"] == "ValidationException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert message in response["Error"]["Message"]


def test_a_two_turn_conversation_is_answered(client: Any) -> None:
    messages = [
        *user("Tell me about queues."),
        {"role": "assistant", "content": [{"text": "Queues hold messages."}]},
        *user("And dead-letter queues?"),
    ]
    answer = client.converse(modelId=MODEL, messages=messages)

    assert "dead-letter queues" in answer["output"]["message"]["content"][0]["text"]


# Auth


@pytest.mark.parametrize("operation", ["converse", "converse_stream"])
def test_an_unsigned_request_is_refused_as_bedrock_refuses_it(
    endpoint: str, operation: str
) -> None:
    unsigned = bedrock_client(endpoint, config=Config(signature_version=botocore.UNSIGNED))
    response = error_of(lambda: getattr(unsigned, operation)(modelId=MODEL, messages=user("Hi")))

    assert response["Error"] == {
        "Code": "AccessDeniedException",
        "Message": "Authorization header is missing",
    }
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_bedrock_api_key_is_accepted(endpoint: str) -> None:
    # botocore sends a bearer key over HTTPS only, so this request is made by hand.
    url = f"{endpoint}/model/{MODEL}/converse"
    request = urllib.request.Request(
        url,
        json.dumps({"messages": user("Hi")}).encode(),
        {"Authorization": "Bearer local-api-key", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as answer:
        assert json.loads(answer.read())["stopReason"] == "end_turn"


# Faults injected through the prompt


def test_a_throttle_once_is_retried_by_botocore_and_then_streams(client: Any) -> None:
    prompt = f"{PROMPT}\n[ackflow-fault: throttle times=1]"
    response = client.converse_stream(modelId=MODEL, messages=user(prompt))
    events = list(response["stream"])

    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert events[-2] == {"messageStop": {"stopReason": "end_turn"}}


def test_a_throttle_that_outlasts_the_retries_surfaces_as_throttling_exception(
    endpoint: str,
) -> None:
    client = bedrock_client(
        endpoint, config=Config(retries={"mode": "standard", "total_max_attempts": 2})
    )
    prompt = f"{PROMPT} [ackflow-fault: throttle times=10]"
    response = error_of(lambda: stream(client, prompt))

    assert response["Error"]["Code"] == "ThrottlingException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert response["ResponseMetadata"]["RetryAttempts"] == 1


@pytest.mark.parametrize(
    "member", ["modelStreamErrorException", "throttlingException", "internalServerException"]
)
def test_a_midstream_fault_raises_event_stream_error_after_k_deltas(
    client: Any, member: str
) -> None:
    prompt = f"{PROMPT} [ackflow-fault: midstream error={member} after=20]"
    received: list[dict[str, Any]] = []
    with pytest.raises(EventStreamError) as raised:
        received.extend(client.converse_stream(modelId=MODEL, messages=user(prompt))["stream"])

    assert raised.value.response["Error"]["Code"] == member
    assert "injected by ackflow-fault" in raised.value.response["Error"]["Message"]
    assert next(iter(received[0])) == "messageStart"
    assert len(deltas(received)) == 20
    assert len(received) == 21


def test_a_midstream_fault_after_the_last_token_comes_before_the_stop(client: Any) -> None:
    full = deltas(stream(client))
    prompt = f"{PROMPT} [ackflow-fault: midstream after=100000]"
    received: list[dict[str, Any]] = []
    with pytest.raises(EventStreamError):
        received.extend(client.converse_stream(modelId=MODEL, messages=user(prompt))["stream"])

    assert deltas(received) == full
    assert not any("messageStop" in event for event in received)


def test_a_midstream_fault_with_times_fails_those_requests_only(client: Any) -> None:
    prompt = f"{PROMPT} [ackflow-fault: midstream after=5 times=2]"
    for _ in range(2):
        with pytest.raises(EventStreamError):
            stream(client, prompt)

    assert stream(client, prompt)[-2] == {"messageStop": {"stopReason": "end_turn"}}


def test_directives_apply_in_turn_and_are_not_echoed(client: Any) -> None:
    prompt = (
        f"[ackflow-fault: validation times=1]\n{PROMPT}\n[ackflow-fault: midstream after=3 times=1]"
    )
    first = error_of(lambda: stream(client, prompt))
    with pytest.raises(EventStreamError):
        stream(client, prompt)
    third = "".join(deltas(stream(client, prompt)))

    assert first["Error"]["Code"] == "ValidationException"
    assert "injected by ackflow-fault" in first["Error"]["Message"]
    assert third == "".join(deltas(stream(client, PROMPT)))
    assert "ackflow-fault" not in third


def test_a_midstream_fault_on_converse_is_its_http_error(client: Any) -> None:
    response = error_of(lambda: converse(client, f"{PROMPT} [ackflow-fault: midstream]"))

    assert response["Error"]["Code"] == "ModelErrorException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424


def test_a_malformed_directive_is_refused_with_the_reason(client: Any) -> None:
    response = error_of(lambda: stream(client, "Hi [ackflow-fault: midstream error=oops]"))

    assert response["Error"]["Code"] == "ValidationException"
    assert "error is one of modelStreamErrorException" in response["Error"]["Message"]


def test_other_operations_are_refused_as_not_emulated(client: Any) -> None:
    response = error_of(lambda: client.invoke_model(modelId=MODEL, body=b"{}"))

    assert response["Error"]["Code"] == "UnknownOperationException"
    assert "not emulated by the ackflow Bedrock stand-in" in response["Error"]["Message"]


# Pacing


def test_pacing_defaults_to_a_claude_3_haiku_like_rate() -> None:
    pacing = Pacing()

    assert pacing.due(0) == 0.3
    assert pacing.due(100) == pytest.approx(1.3)


def test_instant_pacing_never_waits() -> None:
    assert Pacing.instant().due(0) == Pacing.instant().due(10_000) == 0


@pytest.mark.parametrize(
    "settings", [{"first_token_seconds": -1}, {"tokens_per_second": 0}, {"tokens": 5}]
)
def test_pacing_refuses_impossible_settings(settings: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        Pacing(**settings)


def test_pacing_is_frozen() -> None:
    with pytest.raises(ValidationError):
        Pacing().tokens_per_second = math.inf  # type: ignore[misc]

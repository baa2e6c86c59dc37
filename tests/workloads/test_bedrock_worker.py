"""The streaming worker's parts against real peers: its stream loop with boto3's real
bedrock-runtime client and the Bedrock stand-in, and its publisher against a server that
verifies the SigV4 signature as the local AppSync does."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.credentials import Credentials

from local.iam.credentials import LocalCredentials
from local.iam.sigv4 import SignatureError, SignedRequest, verify_sigv4
from local.standins.bedrock import Pacing, create_bedrock_app
from tests.local.standins.bedrock.conftest import bedrock_client, serving
from tests.workloads.handler_loading import handler_module

MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
STREAM_ID = "stream-id-for-the-tests"


@pytest.fixture(scope="module")
def worker_modules() -> Iterator[dict[str, Any]]:
    with handler_module("bedrock", "streaming.py", "bedrock_streaming") as streaming:
        import chunk_publisher
        import stream_request

        yield {"streaming": streaming, "publisher": chunk_publisher, "request": stream_request}


@pytest.fixture
def bedrock() -> Iterator[Any]:
    with serving(create_bedrock_app(Pacing(first_token_seconds=0, tokens_per_second=2000))) as url:
        yield bedrock_client(url)


class Recorder:
    def __init__(self, fail_after: int | None = None, failure: type[Exception] | None = None):
        self.chunks: list[dict[str, Any]] = []
        self._fail_after = fail_after
        self._failure = failure

    def publish(self, chunk: dict[str, Any]) -> None:
        if self._fail_after is not None and len(self.chunks) >= self._fail_after:
            raise self._failure("AppSync is down")
        self.chunks.append(dict(chunk))


def settings(modules, **changes: Any):
    values = dict(
        model_id=MODEL,
        max_tokens=1024,
        temperature=0.5,
        system="Be brief.",
        flush_ms=100,
        flush_bytes=256,
        max_prompt_chars=1000,
        max_system_chars=100,
    )
    return modules["streaming"].StreamSettings(**(values | changes))


def run(modules, bedrock, prompt: str, publisher=None, **changes: Any):
    request = modules["request"].StreamRequest(
        request_id="r-1", stream_id=STREAM_ID, prompt=prompt, max_tokens=changes.pop("ask", None)
    )
    recorder = publisher or Recorder()
    outcome = modules["streaming"].run_stream(
        request, settings(modules, **changes), bedrock, recorder, attempt=1
    )
    return outcome, recorder.chunks


def test_a_stream_publishes_coalesced_chunks_ending_in_one_done_chunk_with_usage(
    worker_modules, bedrock
):
    outcome, chunks = run(worker_modules, bedrock, "Tell me about lighthouses")
    reply = bedrock.converse(
        modelId=MODEL,
        messages=[{"role": "user", "content": [{"text": "Tell me about lighthouses"}]}],
        system=[{"text": "Be brief."}],
        inferenceConfig={"maxTokens": 1024, "temperature": 0.5},
    )

    assert (
        "".join(c.get("text") or "" for c in chunks)
        == (reply["output"]["message"]["content"][0]["text"])
    )
    assert [c["seq"] for c in chunks] == list(range(len(chunks)))
    assert {c["streamId"] for c in chunks} == {STREAM_ID}
    (done,) = [c for c in chunks if c["done"]]
    assert done is chunks[-1]
    assert done["stopReason"] == "end_turn"
    usage = json.loads(done["usage"])
    assert usage["outputTokens"] == reply["usage"]["outputTokens"]
    assert usage["inputTokens"] == reply["usage"]["inputTokens"]
    assert len(chunks) <= usage["outputTokens"] / 10  # coalesced, not one per token
    assert outcome.chunks == len(chunks)


def test_max_tokens_cuts_the_stream_with_its_stop_reason(worker_modules, bedrock):
    _, chunks = run(worker_modules, bedrock, "Tell me about rivers", ask=12)

    assert chunks[-1]["stopReason"] == "max_tokens"
    assert json.loads(chunks[-1]["usage"])["outputTokens"] == 12


def test_an_exception_mid_stream_ends_the_stream_with_an_error_chunk_and_fails(
    worker_modules, bedrock
):
    failed = worker_modules["streaming"].StreamFailed
    recorder = Recorder()
    with pytest.raises(failed) as failure:
        run(worker_modules, bedrock, "Waves [ackflow-fault: midstream after=30]", recorder)

    chunks = recorder.chunks
    assert failure.value.error_type == "modelStreamErrorException"
    assert chunks[-1]["done"] is True
    assert chunks[-1]["error"].startswith("modelStreamErrorException: ")
    assert [c["seq"] for c in chunks] == list(range(len(chunks)))
    assert sum(1 for c in chunks if c["done"]) == 1
    assert chunks[0]["text"]  # text came before the fault


def test_a_throttle_within_botocores_retries_does_not_reach_the_client(worker_modules, bedrock):
    _, chunks = run(worker_modules, bedrock, "Stars [ackflow-fault: throttle times=2]")

    assert chunks[-1]["stopReason"] == "end_turn"
    assert not any(c.get("error") for c in chunks)


def test_a_throttle_that_outlasts_botocores_retries_is_an_error_chunk(worker_modules, bedrock):
    recorder = Recorder()
    with pytest.raises(worker_modules["streaming"].StreamFailed) as failure:
        run(worker_modules, bedrock, "Moons [ackflow-fault: throttle times=9]", recorder)

    assert failure.value.error_type == "ThrottlingException"
    assert recorder.chunks == [
        {
            "streamId": STREAM_ID,
            "seq": 0,
            "attempt": 1,
            "done": True,
            "error": f"ThrottlingException: {failure.value.message}",
        }
    ]


def test_a_publish_that_keeps_failing_fails_the_stream(worker_modules, bedrock):
    publish_failed = worker_modules["publisher"].PublishFailed
    with pytest.raises(worker_modules["streaming"].StreamFailed) as failure:
        run(worker_modules, bedrock, "Clouds", Recorder(fail_after=2, failure=publish_failed))

    assert failure.value.error_type == "PublishFailed"


@pytest.mark.parametrize(
    ("event", "complaint"),
    [
        ({"prompt": "   ", "streamId": STREAM_ID, "requestId": "r"}, "prompt is empty"),
        ({"prompt": "x" * 1001, "streamId": STREAM_ID, "requestId": "r"}, "over 1000"),
        ({"prompt": "hi", "streamId": "short", "requestId": "r"}, "streamId must match"),
        ({"prompt": "hi", "streamId": STREAM_ID}, "requestId is missing"),
        (
            {"prompt": "hi", "streamId": STREAM_ID, "requestId": "r", "maxTokens": 5000},
            "maxTokens must be 1 to 1024",
        ),
        (
            {"prompt": "hi", "streamId": STREAM_ID, "requestId": "r", "system": "s" * 101},
            "system must be a string of at most 100",
        ),
    ],
)
def test_a_bad_request_fails_at_once_saying_why(worker_modules, event, complaint):
    request = worker_modules["request"]
    with pytest.raises(request.StreamRequestError, match=complaint) as refused:
        request.parse_request(event, settings(worker_modules))

    assert str(refused.value).startswith("StreamRequestError: ")


class SigningCheck:
    """A GraphQL endpoint that verifies each request's SigV4 signature, as AppSync does."""

    def __init__(self, credentials: LocalCredentials, answers: list[int]) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.clients: set[int] = set()
        self.refused: list[str] = []
        state = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                state.clients.add(self.client_address[1])
                try:
                    verify_sigv4(
                        SignedRequest(
                            "POST",
                            self.headers["host"],
                            self.path,
                            dict(self.headers.items()),
                            body,
                        ),
                        credentials,
                        service="appsync",
                        region="us-east-1",
                    )
                except SignatureError as error:
                    state.refused.append(error.error_type)
                    return self._answer(403, {"errors": [{"errorType": error.error_type}]})
                status = answers.pop(0) if answers else 200
                if status == 200:
                    state.bodies.append(json.loads(body))
                self._answer(status, {"data": {"publishChunk": {}}} if status == 200 else {})

            def _answer(self, status: int, document: dict[str, Any]) -> None:
                reply = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/graphql"


@pytest.fixture
def credentials() -> LocalCredentials:
    accounts = LocalCredentials("000000000000", b"seed")
    accounts.add_functions([("worker", "arn:aws:iam::000000000000:role/worker")])
    return accounts


def publisher_for(modules, credentials: LocalCredentials, check: SigningCheck, secret=None):
    principal = credentials.for_function("worker")
    return modules["publisher"].ChunkPublisher(
        check.url,
        "us-east-1",
        Credentials(principal.access_key, secret or principal.secret_key),
        backoff_seconds=0.01,
    )


def test_chunks_are_published_signed_over_one_reused_connection(worker_modules, credentials):
    check = SigningCheck(credentials, answers=[])
    publisher = publisher_for(worker_modules, credentials, check)
    for seq in range(5):
        publisher.publish({"streamId": STREAM_ID, "seq": seq, "done": seq == 4})
    publisher.close()
    check.server.shutdown()

    assert [b["variables"]["seq"] for b in check.bodies] == [0, 1, 2, 3, 4]
    assert "publishChunk(" in check.bodies[0]["query"]
    assert check.refused == []
    assert len(check.clients) == 1


def test_a_busy_appsync_is_retried_and_a_refusal_is_not(worker_modules, credentials):
    check = SigningCheck(credentials, answers=[503, 500])
    publisher = publisher_for(worker_modules, credentials, check)
    publisher.publish({"streamId": STREAM_ID, "seq": 0, "done": False})
    wrong = publisher_for(worker_modules, credentials, check, secret="wrong")

    with pytest.raises(worker_modules["publisher"].PublishFailed, match="refused"):
        wrong.publish({"streamId": STREAM_ID, "seq": 1, "done": False})
    check.server.shutdown()

    assert [b["variables"]["seq"] for b in check.bodies] == [0]
    assert check.refused == ["InvalidSignatureException"]

"""The Slack slash command against a real `ackflow up`: signed like Slack, sent over HTTP."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from local.standins.slack_command import signed_headers
from tests.e2e.runner import RunningStack, receive_records

SLACK_DEADLINE_SECONDS = 3.0


class ResponseUrlSink:
    """A loopback stand-in for Slack's response URL, run by the test itself."""

    def __init__(self, answer: Callable[[dict], int] = lambda post: 200) -> None:
        self.posts: list[dict] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                sink.posts.append(body)
                self.send_response(answer(body))
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/commands/{uuid.uuid4()}"

    def wait_for(self, count: int, seconds: float = 15) -> list[dict]:
        deadline = time.monotonic() + seconds
        while len(self.posts) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.posts)

    def close(self) -> None:
        self._server.shutdown()


@pytest.fixture
def sink() -> Iterator[ResponseUrlSink]:
    server = ResponseUrlSink()
    yield server
    server.close()


def command_body(text: str, response_url: str, command: str = "/square") -> str:
    return urllib.parse.urlencode(
        {
            "token": "legacy",
            "team_id": "T1DC2JH3J",
            "team_domain": "testteamnow",
            "channel_id": "G8PSS9T3V",
            "channel_name": "foobar",
            "user_id": "U2CERLKJA",
            "user_name": "roadrunner",
            "command": command,
            "text": text,
            "response_url": response_url,
            "trigger_id": f"{time.time_ns()}.47445629121.{uuid.uuid4().hex}",
        }
    )


def post_command(stack: RunningStack, body: str, headers: dict[str, str]) -> requests.Response:
    return requests.post(
        stack.endpoints["slack_command_url"], data=body, headers=headers, timeout=10
    )


def signed(stack: RunningStack, body: str, timestamp: int | None = None) -> dict[str, str]:
    return signed_headers(stack.endpoints["slack_signing_secret"], body, timestamp)


def worker_starts(stack: RunningStack) -> int:
    log = Path(stack.workload("slack")["log_file"])
    return log.read_text().count("START RequestId") if log.exists() else 0


def test_a_signed_command_is_acknowledged_within_3_seconds_and_its_result_posted(
    running_stack: RunningStack, sink: ResponseUrlSink
):
    body = command_body("12", sink.url)
    started = time.monotonic()
    answer = post_command(running_stack, body, signed(running_stack, body))
    elapsed = time.monotonic() - started

    assert answer.status_code == 200
    assert elapsed < SLACK_DEADLINE_SECONDS
    assert answer.json()["response_type"] == "ephemeral"
    (post,) = sink.wait_for(1)
    assert "144" in post["text"]


def test_the_slow_command_finishes_after_the_ack(
    running_stack: RunningStack, sink: ResponseUrlSink
):
    body = command_body("", sink.url, command="/slow")
    answer = post_command(running_stack, body, signed(running_stack, body))
    acknowledged_at = time.monotonic()
    assert answer.status_code == 200

    (post,) = sink.wait_for(1)
    assert time.monotonic() - acknowledged_at >= 1.0  # slowSeconds in Pulumi.e2e.yaml
    assert "/slow" in post["text"]


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("no signature", 401),
        ("wrong signature", 401),
        ("stale timestamp", 401),
        ("malformed body", 400),
        ("unknown command", 200),
    ],
)
def test_bad_requests_are_refused_and_never_reach_the_worker(
    running_stack: RunningStack, sink: ResponseUrlSink, case: str, status: int
):
    body = command_body("12", sink.url, command="/cube" if case == "unknown command" else "/square")
    headers = signed(running_stack, body)
    if case == "no signature":
        headers = {"Content-Type": headers["Content-Type"]}
    elif case == "wrong signature":
        headers["X-Slack-Signature"] = "v0=" + "0" * 64
    elif case == "stale timestamp":
        headers = signed(running_stack, body, timestamp=int(time.time()) - 301)
    elif case == "malformed body":
        body = "%%%not a form"
        headers = signed(running_stack, body)
    before = worker_starts(running_stack)

    answer = post_command(running_stack, body, headers)

    assert answer.status_code == status
    if case == "unknown command":
        assert "/square" in answer.json()["text"]  # the help lists what it knows
    time.sleep(1.0)
    assert worker_starts(running_stack) == before
    assert sink.posts == []


def test_a_replayed_command_posts_once(running_stack: RunningStack, sink: ResponseUrlSink):
    body = command_body("7", sink.url)
    headers = signed(running_stack, body)

    first = post_command(running_stack, body, headers)
    replay = post_command(running_stack, body, headers)

    assert first.status_code == replay.status_code == 200
    posts = sink.wait_for(2, seconds=4)
    assert len(posts) == 1
    assert "49" in posts[0]["text"]


def test_a_failing_worker_apologizes_once_and_leaves_a_failure_record(running_stack: RunningStack):
    # Slack refuses every result but accepts the apology: the worker fails on every attempt.
    sink = ResponseUrlSink(answer=lambda post: 200 if "Sorry" in post["text"] else 500)
    try:
        body = command_body("5", sink.url)
        assert post_command(running_stack, body, signed(running_stack, body)).status_code == 200

        (record,) = receive_records(
            running_stack, running_stack.workload("slack")["failure_queue_url"], 1
        )
        assert record["requestContext"]["condition"] == "RetriesExhausted"
        assert record["requestPayload"]["command"]["response_url"] == sink.url
        apologies = [post for post in sink.posts if "Sorry" in post["text"]]
        assert len(apologies) == 1
        assert len(sink.posts) == record["requestContext"]["approximateInvokeCount"] + 1
    finally:
        sink.close()

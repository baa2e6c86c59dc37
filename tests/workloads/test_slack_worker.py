"""Tests for the Slack worker (workloads/slack/worker.py): run once, post once, apologize once.

The idempotency table is moto's DynamoDB (``mock_aws``). Posts go through the real
``slack_sdk`` WebhookClient to a real HTTP server on 127.0.0.1 standing in for Slack's
response URL (``ACKFLOW_LOCAL=1`` lets the worker post there, as under the local runtime).
Refusals are checked with a factory that records every client asked of it: none may be.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from tests.workloads.handler_loading import handler_module

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

WORKLOADS = Path(__file__).resolve().parents[2] / "workloads"
SLACK = WORKLOADS / "slack"
TABLE = "ackflow-test-slack-idempotency"
REGION = "us-east-1"
APOLOGY = "Sorry, "


@dataclass(frozen=True)
class FakeLambdaContext:
    """What Powertools' logger and idempotency read from Lambda's context."""

    function_name: str = "slack-worker"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:slack-worker"
    aws_request_id: str = "00000000-0000-0000-0000-000000000003"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class ResponseUrlSink:
    """A local stand-in for Slack's response URL: records posts, answers 200 unless told."""

    posts: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    """Statuses for the next posts, in order; 200 once used up."""
    base_url: str = ""

    def texts(self) -> list[str]:
        return [post["text"] for post in self.posts]


@pytest.fixture
def sink() -> Iterator[ResponseUrlSink]:
    state = ResponseUrlSink()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.posts.append(json.loads(body))
            state.paths.append(self.path)
            status = state.answers.pop(0) if state.answers else 200
            reply = b"ok" if status == 200 else b"internal_error"
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def worker() -> Iterator[ModuleType]:
    with handler_module("slack", "worker.py", "slack_worker") as module:
        yield module


@pytest.fixture(autouse=True)
def clean_globals(worker: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, this test's env, no proxy, and no idempotency guards from another test."""
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "POWERTOOLS_IDEMPOTENCY_DISABLED",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("IDEMPOTENCY_TABLE", TABLE)
    monkeypatch.setenv("SLACK_RESPONSE_TYPE", "in_channel")
    monkeypatch.setenv("SLACK_SLOW_SECONDS", "0")
    monkeypatch.setenv("ACKFLOW_LOCAL", "1")
    monkeypatch.setattr(worker, "_guarded", None)


@pytest.fixture(scope="module")
def dynamodb() -> Any:
    """Made once (it is slow to make); moto patches it in whichever ``mock_aws`` is active."""
    return boto3.client(
        "dynamodb",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def table(dynamodb: Any) -> Iterator[Any]:
    """The idempotency table as the stack declares it (hash key ``id``), fresh per test."""
    with mock_aws():
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield dynamodb


@dataclass
class RecordingFactory:
    """A webhook client factory that records the URLs it was asked for, then makes real ones."""

    worker: ModuleType
    urls: list[str] = field(default_factory=list)

    def __call__(self, url: str) -> Any:
        self.urls.append(url)
        return self.worker.webhook_client(url)


def slack_event(
    response_url: str,
    command: str = "/square",
    text: str = "12",
    trigger_id: str = "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
    verified_at: int = 1_531_420_618,
) -> dict[str, Any]:
    """The event the front sends."""
    return {
        "command": {
            "team_id": "T1DC2JH3J",
            "channel_id": "G8PSS9T3V",
            "user_id": "U2CERLKJA",
            "user_name": "roadrunner",
            "command": command,
            "text": text,
            "response_url": response_url,
            "trigger_id": trigger_id,
        },
        "verifiedAt": verified_at,
    }


def run(worker: ModuleType, event: dict[str, Any], factory: Any = None) -> Any:
    return worker.handler(event, FakeLambdaContext(), webhook_factory=factory)


def items(dynamodb: Any) -> list[dict[str, Any]]:
    return dynamodb.scan(TableName=TABLE)["Items"]


def test_square_12_posts_144_with_the_configured_response_type(
    worker: ModuleType, table: Any, sink: ResponseUrlSink
) -> None:
    url = f"{sink.base_url}/commands/T1/1/abc"
    result = run(worker, slack_event(url))

    assert sink.posts == [{"text": "12² = 144", "response_type": "in_channel"}]
    assert sink.paths == ["/commands/T1/1/abc"]
    assert result == {"command": "/square 12", "text": "12² = 144"}
    assert [item["status"]["S"] for item in items(table)] == ["COMPLETED"]


def test_a_duplicated_event_posts_once(
    worker: ModuleType, table: Any, sink: ResponseUrlSink
) -> None:
    event = slack_event(f"{sink.base_url}/r")
    first = run(worker, event)
    second = run(worker, json.loads(json.dumps(event)))
    assert sink.texts() == ["12² = 144"]
    assert second == first


def test_the_same_trigger_id_delivered_twice_posts_once(
    worker: ModuleType, table: Any, sink: ResponseUrlSink
) -> None:
    run(worker, slack_event(f"{sink.base_url}/r", verified_at=1_531_420_618))
    run(worker, slack_event(f"{sink.base_url}/r", verified_at=1_531_420_700))
    assert sink.texts() == ["12² = 144"]


def test_another_trigger_id_is_another_command(
    worker: ModuleType, table: Any, sink: ResponseUrlSink
) -> None:
    run(worker, slack_event(f"{sink.base_url}/r", trigger_id="1.1.a"))
    run(worker, slack_event(f"{sink.base_url}/r", text="3", trigger_id="2.2.b"))
    assert sink.texts() == ["12² = 144", "3² = 9"]


@pytest.mark.parametrize(
    ("text", "posted"),
    [
        ("1.5", "1.5² = 2.25"),
        ("-3", "(-3)² = 9"),
        (" +7 ", "7² = 49"),
    ],
)
def test_squares_use_the_squaring_workloads_parser(
    worker: ModuleType, table: Any, sink: ResponseUrlSink, text: str, posted: str
) -> None:
    run(worker, slack_event(f"{sink.base_url}/r", text=text))
    assert sink.texts() == [posted]


def test_a_bad_number_gets_a_friendly_reply_not_a_failure(
    worker: ModuleType, table: Any, sink: ResponseUrlSink
) -> None:
    result = run(worker, slack_event(f"{sink.base_url}/r", text="abc"))
    [text] = sink.texts()
    assert text.startswith("Sorry, I can't square that: 'abc' is not a number")
    assert "NumberValidationError" not in text
    assert result["text"] == text


def test_user_text_is_escaped_in_what_is_posted(
    worker: ModuleType, table: Any, sink: ResponseUrlSink
) -> None:
    run(worker, slack_event(f"{sink.base_url}/r", text="<!channel>"))
    [text] = sink.texts()
    assert "&lt;!channel&gt;" in text
    assert "<!channel>" not in text


def test_slow_works_then_says_how_long(
    worker: ModuleType, table: Any, sink: ResponseUrlSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_SLOW_SECONDS", "0.2")
    run(worker, slack_event(f"{sink.base_url}/r", command="/slow", text=""))
    [text] = sink.texts()
    assert text.startswith("Done: I worked on `/slow` for ")
    seconds = float(text.removeprefix("Done: I worked on `/slow` for ").removesuffix(" s."))
    assert 0.2 <= seconds < 1.0


def test_a_failed_post_apologizes_once_and_raises_every_time(
    worker: ModuleType, table: Any, sink: ResponseUrlSink
) -> None:
    event = slack_event(f"{sink.base_url}/r")
    sink.answers = [500, 200, 500]  # the result fails, the apology lands, the retry fails

    with pytest.raises(worker.ResponseUrlFailed, match="answered 500"):
        run(worker, event)
    with pytest.raises(worker.ResponseUrlFailed, match="answered 500"):
        run(worker, event)

    assert [text.startswith(APOLOGY) for text in sink.texts()] == [False, True, False]
    apology = sink.posts[1]
    assert apology["response_type"] == "ephemeral"
    assert "`/square 12` failed (ResponseUrlFailed)" in apology["text"]

    # A later retry that gets through posts the result, once; the apology is not repeated.
    assert run(worker, event)["text"] == "12² = 144"
    run(worker, event)
    assert sink.texts()[3:] == ["12² = 144"]


def test_an_apology_that_cannot_be_posted_leaves_the_original_error(
    worker: ModuleType, table: Any, sink: ResponseUrlSink
) -> None:
    event = slack_event(f"{sink.base_url}/r")
    sink.answers = [500, 503, 500, 200]  # result, apology, retried result, retried apology

    with pytest.raises(worker.ResponseUrlFailed, match="answered 500"):
        run(worker, event)
    with pytest.raises(worker.ResponseUrlFailed, match="answered 500"):
        run(worker, event)

    assert [text.startswith(APOLOGY) for text in sink.texts()] == [False, True, False, True]


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/x",
        "http://hooks.slack.com/commands/T1/1/abc",
        "https://hooks.slack.com.evil.example.com/commands/T1/1/abc",
        "https://evilhooks.slack.com/commands/T1/1/abc",
        "https://x.hooks.slack.com/commands/T1/1/abc",
        "https://hooks.slack.com@evil.example.com/commands/T1/1/abc",
        "https://user:pw@hooks.slack.com/commands/T1/1/abc",
        "https://hooks.slack.com:8443/commands/T1/1/abc",
        "https://hooks.slack.com\\@evil.example.com/x",
        "ftp://hooks.slack.com/commands/T1/1/abc",
        "https://hooks.slack.com:99999/x",
        "hooks.slack.com/commands/T1/1/abc",
    ],
)
def test_a_response_url_off_slacks_hooks_is_refused_before_any_request(
    worker: ModuleType, table: Any, url: str
) -> None:
    factory = RecordingFactory(worker)
    with pytest.raises(worker.ResponseUrlRefused):
        run(worker, slack_event(url), factory)
    assert factory.urls == []
    assert items(table) == []


def test_a_refused_url_is_refused_before_the_idempotency_table_is_used(
    worker: ModuleType,
) -> None:
    # No table: consulting it would fail with a persistence-layer error instead.
    with mock_aws(), pytest.raises(worker.ResponseUrlRefused):
        run(worker, slack_event("https://evil.example.com/x"), RecordingFactory(worker))


def test_posting_itself_refuses_a_url_off_slacks_hooks(worker: ModuleType) -> None:
    factory = RecordingFactory(worker)
    with pytest.raises(worker.ResponseUrlRefused):
        worker.post("https://evil.example.com/x", "hello", "ephemeral", factory)
    assert factory.urls == []


def test_slacks_own_hooks_over_https_are_allowed(worker: ModuleType) -> None:
    worker.check_response_url("https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rG")
    worker.check_response_url("https://HOOKS.slack.com:443/commands/T1/1/a")


@pytest.mark.parametrize("local", [None, "0", "true", "yes"])
def test_loopback_is_refused_unless_running_locally(
    worker: ModuleType,
    table: Any,
    sink: ResponseUrlSink,
    monkeypatch: pytest.MonkeyPatch,
    local: str | None,
) -> None:
    if local is None:
        monkeypatch.delenv("ACKFLOW_LOCAL")
    else:
        monkeypatch.setenv("ACKFLOW_LOCAL", local)
    factory = RecordingFactory(worker)
    with pytest.raises(worker.ResponseUrlRefused):
        run(worker, slack_event(f"{sink.base_url}/r"), factory)
    assert factory.urls == []
    assert sink.posts == []


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:9/r", True),
        ("http://127.1.2.3/r", True),
        ("http://localhost:9/r", True),
        ("http://[::1]:9/r", True),
        ("https://127.0.0.1/r", False),  # the local sink speaks http only
        ("http://10.0.0.1/r", False),
        ("http://0.0.0.0/r", False),
        ("http://[::ffff:127.0.0.1]/r", False),
        ("http://localhost.evil.example.com/r", False),
    ],
)
def test_which_hosts_count_as_loopback_locally(worker: ModuleType, url: str, allowed: bool) -> None:
    if allowed:
        worker.check_response_url(url)
    else:
        with pytest.raises(worker.ResponseUrlRefused):
            worker.check_response_url(url)


def test_a_refusal_names_the_host_but_not_the_path(worker: ModuleType) -> None:
    with pytest.raises(worker.ResponseUrlRefused) as refused:
        worker.check_response_url("https://evil.example.com/secret-path")
    assert "evil.example.com" in str(refused.value)
    assert "secret-path" not in str(refused.value)


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"command": "/square 12"},
        {"command": {"command": "/square", "text": "12", "trigger_id": "1.1.a"}},
        {"command": {"command": "/square", "text": "12", "response_url": "", "trigger_id": "1"}},
        {"command": {"command": "/cube", "text": "3", "response_url": "x", "trigger_id": "1"}},
        {"command": {"command": "/square", "response_url": "x", "trigger_id": "1"}},
    ],
)
def test_an_event_the_front_would_not_send_is_rejected_untouched(
    worker: ModuleType, table: Any, event: dict[str, Any]
) -> None:
    factory = RecordingFactory(worker)
    with pytest.raises(worker.InvalidEvent):
        run(worker, event, factory)
    assert factory.urls == []
    assert items(table) == []


def test_the_default_client_skips_proxies_for_loopback_only(
    worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.com:3128")
    assert worker.webhook_client("http://127.0.0.1:9/r").proxy is None
    slack = worker.webhook_client("https://hooks.slack.com/commands/T1/1/a")
    assert slack.proxy == "http://proxy.example.com:3128"

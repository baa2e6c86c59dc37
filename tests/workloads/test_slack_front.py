"""Tests for the Slack front (workloads/slack/front.py): verify, acknowledge, invoke once.

SSM and Lambda are moto's (``mock_aws``, Lambda without Docker). The Lambda client is a real
boto3 client whose serialized Invoke requests are recorded through botocore's ``before-call``
event: parameter validation, serialization and moto's 202 are real, which a hand-written fake
client would skip. moto's Docker-less Lambda does not check that the function exists, so no
worker function is created (it would prove nothing).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from botocore.stub import Stubber
from moto import mock_aws

from tests.workloads.handler_loading import handler_module

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

WORKLOADS = Path(__file__).resolve().parents[2] / "workloads"
SLACK = WORKLOADS / "slack"

# Slack's published example (https://api.slack.com/authentication/verifying-requests-from-slack).
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
EXAMPLE_TIMESTAMP = "1531420618"
EXAMPLE_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    "&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554"
    "%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
EXAMPLE_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
NOW = int(EXAMPLE_TIMESTAMP)

PARAMETER = "/ackflow/test/slackSigningSecret"
WORKER = "ackflow-test-slack-worker"
REGION = "us-east-1"

FIELDS = {
    "token": "legacy-verification-token",
    "team_id": "T1DC2JH3J",
    "team_domain": "testteamnow",
    "channel_id": "G8PSS9T3V",
    "channel_name": "foobar",
    "user_id": "U2CERLKJA",
    "user_name": "roadrunner",
    "command": "/square",
    "text": "12",
    "api_app_id": "A123",
    "response_url": "https://hooks.slack.com/commands/T1DC2JH3J/1/abc",
    "trigger_id": "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
}


@dataclass(frozen=True)
class FakeLambdaContext:
    """The attributes Powertools' ``inject_lambda_context`` reads."""

    function_name: str = "slack-front"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:slack-front"
    aws_request_id: str = "00000000-0000-0000-0000-000000000002"


@dataclass
class RecordedLambda:
    """A real boto3 Lambda client (moto-backed) and the Invoke requests it sent."""

    client: Any
    requests: list[dict[str, Any]] = field(default_factory=list)
    status_codes: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        events = self.client.meta.events
        events.register("before-call.lambda.Invoke", self._before)
        events.register("after-call.lambda.Invoke", self._after)

    def stop(self) -> None:
        events = self.client.meta.events
        events.unregister("before-call.lambda.Invoke", self._before)
        events.unregister("after-call.lambda.Invoke", self._after)

    def _before(self, params: dict[str, Any], **_: Any) -> None:
        self.requests.append(params)

    def _after(self, parsed: dict[str, Any], **_: Any) -> None:
        self.status_codes.append(parsed["StatusCode"])


@pytest.fixture(scope="module")
def front() -> Iterator[ModuleType]:
    with handler_module("slack", "front.py", "slack_front") as module:
        yield module


@pytest.fixture(autouse=True)
def clean_globals(front: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials, this test's env, and no cached client or secret from another test."""
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_LAMBDA",
        "AWS_ENDPOINT_URL_SSM",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("SLACK_SIGNING_SECRET_PARAMETER", PARAMETER)
    monkeypatch.setenv("WORKER_FUNCTION_NAME", WORKER)
    monkeypatch.setattr(front, "_lambda_client", None)
    forget_cached_parameters()
    yield
    forget_cached_parameters()


def forget_cached_parameters() -> None:
    """Drop Powertools' cached values but keep its providers' boto3 clients (slow to make)."""
    for provider in parameters.base.DEFAULT_PROVIDERS.values():
        provider.clear_cache()


def made_once(service: str) -> Any:
    """A client made once per module (they are slow to make); moto patches it in whichever
    ``mock_aws`` is active."""
    return boto3.client(
        service, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture(scope="module")
def ssm() -> Any:
    return made_once("ssm")


@pytest.fixture(scope="module")
def lambda_client() -> Any:
    return made_once("lambda")


@pytest.fixture
def aws(ssm: Any) -> Iterator[None]:
    """moto's SSM (holding the signing secret) and Docker-less Lambda, fresh per test."""
    with mock_aws(config={"lambda": {"use_docker": False}}):
        ssm.put_parameter(Name=PARAMETER, Value=SECRET, Type="SecureString")
        yield


@pytest.fixture
def lam(aws: None, lambda_client: Any) -> Iterator[RecordedLambda]:
    recorded = RecordedLambda(lambda_client)
    yield recorded
    recorded.stop()


@pytest.fixture
def log_stream(front: ModuleType) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    previous = front.logger.registered_handler.setStream(stream)
    yield stream
    front.logger.registered_handler.setStream(previous)


def sign(body: str | bytes, timestamp: str = EXAMPLE_TIMESTAMP, secret: str = SECRET) -> str:
    """Slack's scheme, computed here without the SDK."""
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + timestamp.encode() + b":" + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def form(**overrides: str | None) -> str:
    """A slash command's form body; ``None`` drops a field."""
    fields = {**FIELDS, **overrides}
    return urlencode({name: value for name, value in fields.items() if value is not None})


def api_event(
    body: str,
    *,
    timestamp: str | None = EXAMPLE_TIMESTAMP,
    signature: str | None = "sign",
    names: tuple[str, str] = ("X-Slack-Request-Timestamp", "X-Slack-Signature"),
    base64_encoded: bool = False,
) -> dict[str, Any]:
    """An API Gateway ``AWS_PROXY`` (payload 1.0) event; ``signature="sign"`` signs ``body``."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if timestamp is not None:
        headers[names[0]] = timestamp
    if signature is not None:
        headers[names[1]] = sign(body, timestamp or "") if signature == "sign" else signature
    return {
        "resource": "/slack/commands",
        "path": "/slack/commands",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "requestContext": {"stage": "dev", "httpMethod": "POST"},
        "body": base64.b64encode(body.encode()).decode() if base64_encoded else body,
        "isBase64Encoded": base64_encoded,
    }


def call(front: ModuleType, event: dict[str, Any], lam: RecordedLambda | None) -> dict[str, Any]:
    client = lam.client if lam else None
    return front.handler(event, FakeLambdaContext(), client=client, now=NOW)


def answer(response: dict[str, Any]) -> dict[str, Any]:
    assert response["headers"] == {"Content-Type": "application/json"}
    return json.loads(response["body"])


def invoked_payload(request: dict[str, Any]) -> dict[str, Any]:
    return json.loads(request["body"])


# --- Slack's signature scheme -------------------------------------------------------------


def test_slacks_published_example_verifies(front: ModuleType) -> None:
    assert sign(EXAMPLE_BODY) == EXAMPLE_SIGNATURE  # this file's signer agrees with Slack
    body = EXAMPLE_BODY.encode()
    assert front.verify(body, EXAMPLE_TIMESTAMP, EXAMPLE_SIGNATURE, SECRET, now=NOW) is None


@pytest.mark.parametrize(
    ("body", "timestamp", "signature", "secret"),
    [
        pytest.param(EXAMPLE_BODY.replace("foobar", "foobaz"), None, None, None, id="body"),
        pytest.param(None, str(NOW + 1), None, None, id="timestamp"),
        pytest.param(None, None, EXAMPLE_SIGNATURE[:-1] + "4", None, id="signature"),
        pytest.param(None, None, None, SECRET[:-1] + "6", id="secret"),
        pytest.param(None, None, EXAMPLE_SIGNATURE.removeprefix("v0="), None, id="no-v0-prefix"),
    ],
)
def test_altered_copies_of_the_published_example_fail(
    front: ModuleType,
    body: str | None,
    timestamp: str | None,
    signature: str | None,
    secret: str | None,
) -> None:
    reason = front.verify(
        (body or EXAMPLE_BODY).encode(),
        timestamp or EXAMPLE_TIMESTAMP,
        signature or EXAMPLE_SIGNATURE,
        secret or SECRET,
        now=NOW,
    )
    assert reason == front.INVALID_SIGNATURE


@pytest.mark.parametrize(
    ("now", "reason"),
    [
        (NOW + 300, None),
        (NOW - 300, None),
        (NOW + 301, "stale request"),
        (NOW - 301, "stale request"),
    ],
)
def test_the_replay_window_is_five_minutes_either_way(
    front: ModuleType, now: int, reason: str | None
) -> None:
    body = EXAMPLE_BODY.encode()
    assert front.verify(body, EXAMPLE_TIMESTAMP, EXAMPLE_SIGNATURE, SECRET, now=now) == reason


# --- The handler --------------------------------------------------------------------------


def test_published_example_is_verified_through_ssm_and_gets_help(
    front: ModuleType, lam: RecordedLambda
) -> None:
    event = api_event(EXAMPLE_BODY, signature=EXAMPLE_SIGNATURE)
    response = call(front, event, lam)
    assert response["statusCode"] == 200
    body = answer(response)
    assert body["response_type"] == "ephemeral"
    assert "I don't know `/webhook-collect`" in body["text"]
    assert lam.requests == []


def test_signed_square_is_acknowledged_and_invokes_the_worker_once(
    front: ModuleType, lam: RecordedLambda
) -> None:
    response = call(front, api_event(form()), lam)

    assert response["statusCode"] == 200
    assert answer(response) == {"response_type": "ephemeral", "text": "Working on it… `/square 12`"}
    assert len(lam.requests) == 1
    request = lam.requests[0]
    assert request["url_path"] == f"/2015-03-31/functions/{WORKER}/invocations"
    assert request["headers"]["X-Amz-Invocation-Type"] == "Event"
    expected_fields = {name: value for name, value in FIELDS.items() if name != "token"}
    assert invoked_payload(request) == {"command": expected_fields, "verifiedAt": NOW}
    assert lam.status_codes == [202]


def test_the_default_client_is_made_lazily_and_kept(
    front: ModuleType, aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:9001")
    client = front.lambda_client()
    assert client.meta.endpoint_url == "http://127.0.0.1:9001"
    assert front.lambda_client() is client


def test_the_handler_uses_the_default_client_when_none_is_given(
    front: ModuleType, aws: None
) -> None:
    recorded = RecordedLambda(front.lambda_client())
    response = call(front, api_event(form(command="/slow", text="")), None)
    assert response["statusCode"] == 200
    assert [invoked_payload(r)["command"]["command"] for r in recorded.requests] == ["/slow"]


def bad(body: str = "", **event: Any) -> dict[str, Any]:
    return {"body": body or form(), **event}


@pytest.mark.parametrize(
    ("request_args", "status", "error"),
    [
        pytest.param(
            bad(timestamp=None, signature=None), 401, "missing signature", id="no-headers"
        ),
        pytest.param(bad(signature=None), 401, "missing signature", id="no-signature"),
        pytest.param(bad(timestamp=None), 401, "missing signature", id="no-timestamp"),
        pytest.param(bad(signature=EXAMPLE_SIGNATURE), 401, "invalid signature", id="wrong"),
        pytest.param(bad(signature="v0=nothex"), 401, "invalid signature", id="garbage"),
        pytest.param(bad(timestamp="15314e8"), 401, "invalid signature", id="timestamp-not-int"),
        pytest.param(bad(timestamp=str(NOW - 301)), 401, "stale request", id="stale"),
        pytest.param(bad(timestamp=str(NOW + 301)), 401, "stale request", id="future"),
        pytest.param(bad('{"command": "/square"}'), 400, "body is not form-encoded", id="json"),
        pytest.param(bad("command=%FF"), 400, "body is not form-encoded", id="not-utf8"),
        pytest.param(
            bad(form(trigger_id=None)), 400, "missing fields: trigger_id", id="no-trigger"
        ),
        pytest.param(
            bad(form(response_url="", user_id=None)),
            400,
            "missing fields: response_url, user_id",
            id="empty-response-url",
        ),
        pytest.param(
            bad(form() + "&command=%2Fslow"),
            400,
            "fields given more than once: command",
            id="repeated",
        ),
    ],
)
def test_bad_requests_are_refused_and_nothing_is_invoked(
    front: ModuleType,
    lam: RecordedLambda,
    log_stream: io.StringIO,
    request_args: dict[str, Any],
    status: int,
    error: str,
) -> None:
    response = call(front, api_event(**request_args), lam)
    assert response["statusCode"] == status
    assert answer(response) == {"error": error}
    assert lam.requests == []
    logged = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    assert [(line["message"], line["reason"]) for line in logged] == [("rejected", error)]


@pytest.mark.parametrize(
    ("command", "text", "says"),
    [
        ("/cube", "3", "I don't know `/cube`"),
        ("/square", "", "`/square` needs a number"),
        ("/square", "   ", "`/square` needs a number"),
        ("/<!channel>", "", "I don't know `/&lt;!channel&gt;`"),
    ],
)
def test_unknown_commands_and_bare_square_get_help_and_no_invoke(
    front: ModuleType, lam: RecordedLambda, command: str, text: str, says: str
) -> None:
    response = call(front, api_event(form(command=command, text=text)), lam)
    assert response["statusCode"] == 200
    body = answer(response)
    assert body["response_type"] == "ephemeral"
    assert body["text"].startswith(says)
    assert "`/square <number>`" not in body["text"]  # Slack would read <number> as markup
    assert "/square &lt;number&gt;" in body["text"] and "/slow" in body["text"]
    assert lam.requests == []


def test_a_base64_body_is_verified_over_its_decoded_bytes(
    front: ModuleType, lam: RecordedLambda
) -> None:
    response = call(front, api_event(form(text="7"), base64_encoded=True), lam)
    assert response["statusCode"] == 200
    assert invoked_payload(lam.requests[0])["command"]["text"] == "7"


def test_a_body_flagged_base64_that_is_not_is_a_bad_request(
    front: ModuleType, lam: RecordedLambda
) -> None:
    event = api_event(form())
    event["isBase64Encoded"] = True
    response = call(front, event, lam)
    assert response["statusCode"] == 400
    assert lam.requests == []


@pytest.mark.parametrize(
    "names",
    [
        ("X-Slack-Request-Timestamp", "X-Slack-Signature"),
        ("x-slack-request-timestamp", "x-slack-signature"),
        ("X-SLACK-REQUEST-TIMESTAMP", "X-SLACK-SIGNATURE"),
        ("x-Slack-request-Timestamp", "X-slack-SIGNATURE"),
    ],
)
def test_signature_headers_are_found_in_any_case(
    front: ModuleType, lam: RecordedLambda, names: tuple[str, str]
) -> None:
    response = call(front, api_event(form(), names=names), lam)
    assert response["statusCode"] == 200
    assert len(lam.requests) == 1


def test_user_text_in_the_ack_is_escaped(front: ModuleType, lam: RecordedLambda) -> None:
    response = call(front, api_event(form(text="<!channel>")), lam)
    assert answer(response)["text"] == "Working on it… `/square &lt;!channel&gt;`"
    assert invoked_payload(lam.requests[0])["command"]["text"] == "<!channel>"


def test_the_signing_secret_is_cached_between_invocations(
    front: ModuleType, lam: RecordedLambda, ssm: Any
) -> None:
    assert call(front, api_event(form()), lam)["statusCode"] == 200
    ssm.delete_parameter(Name=PARAMETER)
    assert call(front, api_event(form(trigger_id="2.2.2")), lam)["statusCode"] == 200
    assert len(lam.requests) == 2


def test_a_failed_invoke_tells_the_user_plainly(
    front: ModuleType, aws: None, lambda_client: Any
) -> None:
    client = lambda_client
    with Stubber(client) as stubber:
        stubber.add_client_error("invoke", "TooManyRequestsException", http_status_code=429)
        response = front.handler(api_event(form()), FakeLambdaContext(), client=client, now=NOW)
        stubber.assert_no_pending_responses()
    assert response["statusCode"] == 200
    assert answer(response)["text"].startswith("Sorry, I couldn't start `/square 12`")

"""Runs a verified slash command and posts the result to Slack's ``response_url``.

Invoked asynchronously by the front with ``{"command": {<Slack's form fields>}, "verifiedAt":
<epoch seconds>}``. The front checked the signature; this worker never re-checks the timestamp,
which may be minutes old after Lambda's retries.

Once per ``trigger_id`` (Powertools idempotency on DynamoDB): a duplicated or retried event posts
its result once. A failure while running or posting gets one apology through ``response_url``,
then re-raises so the failure destination records it. A ``response_url`` that is not Slack's
is refused before any request is made, and so cannot be apologized to.

Environment: ``IDEMPOTENCY_TABLE``, ``SLACK_RESPONSE_TYPE`` (``ephemeral`` or ``in_channel``),
``SLACK_SLOW_SECONDS``, and ``ACKFLOW_LOCAL=1`` (set by the local runtime only) to allow
loopback response URLs over http.
"""

from __future__ import annotations

import ipaddress
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from commands import SLOW, SQUARE, Command, escape, parse_command
from slack_sdk.webhook import WebhookClient
from squaring.handler import NumberValidationError, parse_number, square

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.utilities.typing import LambdaContext
    from slack_sdk.webhook import WebhookResponse

    WebhookFactory = Callable[[str], WebhookClient]

__all__ = [
    "InvalidEvent",
    "Request",
    "ResponseUrlFailed",
    "ResponseUrlRefused",
    "SlackWorkerError",
    "check_response_url",
    "handler",
    "parse_event",
    "run",
    "webhook_client",
]

IDEMPOTENCY_TABLE_ENV = "IDEMPOTENCY_TABLE"
RESPONSE_TYPE_ENV = "SLACK_RESPONSE_TYPE"
SLOW_SECONDS_ENV = "SLACK_SLOW_SECONDS"
LOCAL_ENV = "ACKFLOW_LOCAL"

SLACK_HOOKS_HOST = "hooks.slack.com"
IDEMPOTENCY_KEY = "command.trigger_id"
IDEMPOTENCY_SECONDS = 3600
RUN_KEY_PREFIX = "slack-worker.run"
APOLOGY_KEY_PREFIX = "slack-worker.apology"
REQUIRED_FIELDS = ("command", "response_url", "trigger_id")

logger = Logger(service="slack-worker")


class SlackWorkerError(Exception):
    """Root of this worker's errors."""


class InvalidEvent(SlackWorkerError):
    """The event is not what the front sends: no command this worker runs, or no reply address."""


class ResponseUrlRefused(SlackWorkerError):
    """The ``response_url`` is not one this worker may post to; nothing was sent."""


class ResponseUrlFailed(SlackWorkerError):
    """The ``response_url`` answered with a non-2xx status."""


@dataclass(frozen=True, kw_only=True)
class Request:
    """What the worker needs from the event."""

    command: Command
    response_url: str
    trigger_id: str


def parse_event(event: Any) -> Request:
    """Read the front's event.

    Raises
    ------
    InvalidEvent
        If ``command`` is not an object with the required string fields, or names a command
        this worker does not run.
    """
    fields = event.get("command") if isinstance(event, dict) else None
    if not isinstance(fields, dict):
        raise InvalidEvent("the event has no 'command' object")
    missing = [name for name in REQUIRED_FIELDS if not _is_text(fields.get(name))]
    if missing:
        raise InvalidEvent(f"the command lacks {', '.join(missing)}")
    text = fields.get("text", "")
    command = parse_command(fields["command"], text if isinstance(text, str) else "")
    if command is None:
        raise InvalidEvent(f"{fields['command']!r:.40} with {text!r:.40} is not a command it runs")
    return Request(
        command=command, response_url=fields["response_url"], trigger_id=fields["trigger_id"]
    )


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_response_url(url: str) -> None:
    """Allow only Slack's hooks over https (and loopback over http when running locally).

    Raises
    ------
    ResponseUrlRefused
        Naming the scheme and host only: the path is a credential for the channel.
    """
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ResponseUrlRefused("response_url is not a URL") from None
    plain = url.isascii() and url.isprintable() and " " not in url and "\\" not in url
    if plain and parts.username is None and parts.password is None:
        if parts.scheme == "https" and host == SLACK_HOOKS_HOST and port in (None, 443):
            return
        if os.environ.get(LOCAL_ENV) == "1" and parts.scheme == "http" and _is_loopback(host):
            return
    raise ResponseUrlRefused(
        f"response_url {parts.scheme}://{host} refused: only https://{SLACK_HOOKS_HOST}"
        " (and loopback over http when ACKFLOW_LOCAL=1)"
    )


def webhook_client(url: str) -> WebhookClient:
    """The SDK's client for a response URL."""
    client = WebhookClient(url)
    if _is_loopback(urlsplit(url).hostname):
        client.proxy = None  # the SDK takes HTTPS_PROXY from the env and ignores NO_PROXY
    return client


def post(url: str, text: str, response_type: str, factory: WebhookFactory) -> None:
    """Send ``text`` to the response URL.

    Raises
    ------
    ResponseUrlRefused
        Before any request, if the URL is not allowed.
    ResponseUrlFailed
        If the URL answers with a non-2xx status.
    """
    check_response_url(url)
    response: WebhookResponse = factory(url).send(text=text, response_type=response_type)
    if not 200 <= response.status_code < 300:
        raise ResponseUrlFailed(
            f"response_url answered {response.status_code}: {str(response.body)[:200]!r}"
        )


def square_reply(argument: str) -> str:
    """The answer to ``/square <argument>``; a bad number gets a friendly reply, not an error."""
    try:
        number = parse_number(argument)
        result = square(number)
    except NumberValidationError as error:
        detail = str(error).removeprefix(f"{type(error).__name__}: ")
        return f"Sorry, I can't square that: {escape(detail)}. Try `{SQUARE} 12`."
    base = str(number)
    return f"({base})² = {result}" if base.startswith("-") else f"{base}² = {result}"


def slow_reply(seconds: float) -> str:
    """The answer to ``/slow``, after working (sleeping) for ``seconds``."""
    started = time.monotonic()
    time.sleep(seconds)
    return f"Done: I worked on `{SLOW}` for {time.monotonic() - started:.1f} s."


def run(command: Command) -> str:
    """Run a parsed command and return the text to post."""
    if command.name == SQUARE:
        return square_reply(command.argument)
    if command.name == SLOW:
        return slow_reply(float(os.environ[SLOW_SECONDS_ENV]))
    raise InvalidEvent(f"no runner for {command.name!r}")  # parse_event lets none through


def _run_and_post(*, event: dict[str, Any], request: Request, factory: WebhookFactory) -> dict:
    """Guarded once per trigger_id by :func:`_guards`; ``event`` is the idempotency data."""
    try:
        text = run(request.command)
        post(request.response_url, text, os.environ.get(RESPONSE_TYPE_ENV, "ephemeral"), factory)
    except Exception as error:
        logger.exception("command failed", extra={"command": request.command.name})
        try:
            _guards().apologize(event=event, request=request, error=error, factory=factory)
        except Exception:
            logger.exception("apology failed")
        raise
    logger.info("posted", extra={"command": request.command.name})
    return {"command": str(request.command), "text": text}


def _apologize(
    *, event: dict[str, Any], request: Request, error: Exception, factory: WebhookFactory
) -> None:
    """Guarded once per trigger_id by :func:`_guards`: retries of a failing event apologize once."""
    text = (
        f"Sorry, `{escape(str(request.command))}` failed ({type(error).__name__}). "
        "Please try again in a moment."
    )
    post(request.response_url, text, "ephemeral", factory)
    logger.info("apologized", extra={"error": type(error).__name__})


@dataclass(frozen=True)
class _Guarded:
    config: IdempotencyConfig
    run_and_post: Callable[..., dict]
    apologize: Callable[..., None]


_guarded: _Guarded | None = None


def _guards() -> _Guarded:
    """The idempotent wrappers, made on first use (after the env names the table and endpoint)."""
    global _guarded
    if _guarded is None:
        table = os.environ[IDEMPOTENCY_TABLE_ENV]
        config = IdempotencyConfig(
            event_key_jmespath=IDEMPOTENCY_KEY, expires_after_seconds=IDEMPOTENCY_SECONDS
        )
        dynamodb = boto3.client("dynamodb")

        def once(function: Callable[..., Any], key_prefix: str) -> Callable[..., Any]:
            # One persistence layer per guarded function: a layer remembers the key prefix of
            # the function that configured it last, so the apology (nested inside the run) on
            # a shared layer would make the run complete or delete the apology's record.
            layer = DynamoDBPersistenceLayer(table_name=table, boto3_client=dynamodb)
            return idempotent_function(
                function,
                data_keyword_argument="event",
                persistence_store=layer,
                config=config,
                key_prefix=key_prefix,
            )

        _guarded = _Guarded(
            config=config,
            run_and_post=once(_run_and_post, RUN_KEY_PREFIX),
            apologize=once(_apologize, APOLOGY_KEY_PREFIX),
        )
    return _guarded


@logger.inject_lambda_context
def handler(
    event: dict[str, Any],
    context: LambdaContext,
    *,
    webhook_factory: WebhookFactory | None = None,
) -> dict:
    """Run the command once per trigger_id and post its result.

    ``webhook_factory`` (URL → WebhookClient) is for tests; the Lambda runtime passes none.

    Returns
    -------
    dict
        ``{"command": "/square 12", "text": "12² = 144"}``, the same for a duplicate.

    Raises
    ------
    InvalidEvent, ResponseUrlRefused
        Before anything is stored or sent.
    Exception
        Whatever failed while running or posting, after one apology.
    """
    request = parse_event(event)
    check_response_url(request.response_url)
    verified_at = event.get("verifiedAt")
    logger.append_keys(trigger_id=request.trigger_id)
    if isinstance(verified_at, int | float):
        logger.info("received", extra={"age_seconds": round(time.time() - verified_at, 3)})
    guards = _guards()
    # In-progress records then expire with this invocation's deadline, so a timed-out run
    # does not block its retries for the whole idempotency window.
    guards.config.register_lambda_context(context)
    return guards.run_and_post(
        event=event, request=request, factory=webhook_factory or webhook_client
    )

"""Slack's slash-command endpoint: verify, acknowledge within 3 s, hand the work to the worker.

Behind an API Gateway ``AWS_PROXY`` route (payload format 1.0). Slack's signature is checked
here, once: the worker receives the verified fields and never re-checks the (by then possibly
old) timestamp. Every answer is JSON; Slack shows a 200's ``text`` to the caller.

Environment: ``SLACK_SIGNING_SECRET_PARAMETER`` (SSM SecureString holding the signing secret),
``WORKER_FUNCTION_NAME`` (the worker invoked with ``InvocationType=Event``).
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import BotoCoreError, ClientError
from commands import escape, help_for, parse_command
from slack_sdk.signature import Clock, SignatureVerifier

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aws_lambda_powertools.utilities.typing import LambdaContext
    from botocore.client import BaseClient

__all__ = [
    "MalformedRequest",
    "handler",
    "lambda_client",
    "parse_form",
    "raw_body",
    "verify",
]

SIGNING_SECRET_PARAMETER_ENV = "SLACK_SIGNING_SECRET_PARAMETER"
WORKER_FUNCTION_NAME_ENV = "WORKER_FUNCTION_NAME"

# Looked up in lower case: API Gateway passes header names in whatever case the client sent.
TIMESTAMP_HEADER = "x-slack-request-timestamp"
SIGNATURE_HEADER = "x-slack-signature"
CONTENT_TYPE_HEADER = "Content-Type"
JSON_CONTENT_TYPE = "application/json"

MAX_REQUEST_AGE_SECONDS = 300
"""Slack's replay window; the SDK's verifier uses the same."""
SECRET_CACHE_SECONDS = 300
REQUIRED_FIELDS = ("command", "response_url", "trigger_id", "user_id")
NOT_FORWARDED = frozenset({"token"})
"""Slack's legacy verification token: a credential the worker does not need, kept out of the
async event (and so out of destination records)."""
MAX_FIELDS = 64

MISSING_SIGNATURE = "missing signature"
INVALID_SIGNATURE = "invalid signature"
STALE_REQUEST = "stale request"

_TIMESTAMP = re.compile(r"[0-9]{1,15}")

logger = Logger(service="slack-front")

_lambda_client: BaseClient | None = None


class MalformedRequest(ValueError):
    """A signed request whose body is not a slash command's form."""


class _FixedClock(Clock):
    """The SDK verifier's clock, pinned to the moment this request is judged at."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def lambda_client() -> BaseClient:
    """The Lambda client, made on first use (after the runtime or a test has set the env)."""
    global _lambda_client
    if _lambda_client is None:
        _lambda_client = boto3.client("lambda")
    return _lambda_client


def header_map(event: Mapping[str, Any]) -> dict[str, str]:
    """The event's headers keyed in lower case (API Gateway keeps the client's case)."""
    return {str(name).lower(): value for name, value in (event.get("headers") or {}).items()}


def raw_body(event: Mapping[str, Any]) -> bytes:
    """The request body exactly as Slack signed it.

    Raises
    ------
    MalformedRequest
        If ``isBase64Encoded`` is set and the body is not base64.
    """
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            raise MalformedRequest("body is flagged base64 but does not decode") from None
    return body.encode("utf-8")


def verify(
    body: bytes, timestamp: str | None, signature: str | None, secret: str, *, now: float
) -> str | None:
    """Return why the request fails Slack's signature check, or ``None`` if it passes."""
    if not timestamp or not signature:
        return MISSING_SIGNATURE
    if not _TIMESTAMP.fullmatch(timestamp):
        return INVALID_SIGNATURE  # the SDK would raise on int() of it
    if abs(now - int(timestamp)) > MAX_REQUEST_AGE_SECONDS:
        return STALE_REQUEST
    verifier = SignatureVerifier(secret, clock=_FixedClock(now))
    try:
        valid = verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
    except UnicodeDecodeError:  # the SDK decodes the body as UTF-8; Slack always sends UTF-8
        return INVALID_SIGNATURE
    return None if valid else INVALID_SIGNATURE


def parse_form(body: bytes) -> dict[str, str]:
    """The slash command's form fields, one value each.

    Raises
    ------
    MalformedRequest
        If the body is not form-encoded UTF-8, repeats a field or lacks a required one.
    """
    try:
        parsed = parse_qs(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=True,
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except ValueError:  # UnicodeDecodeError included
        raise MalformedRequest("body is not form-encoded") from None
    repeated = sorted(name for name, values in parsed.items() if len(values) > 1)
    if repeated:
        raise MalformedRequest(f"fields given more than once: {', '.join(repeated)}")
    fields = {name: values[0] for name, values in parsed.items()}
    missing = [name for name in REQUIRED_FIELDS if not fields.get(name)]
    if missing:
        raise MalformedRequest(f"missing fields: {', '.join(missing)}")
    return fields


def respond(status: int, body: Mapping[str, Any]) -> dict[str, Any]:
    """An ``AWS_PROXY`` answer with a JSON body."""
    return {
        "statusCode": status,
        "headers": {CONTENT_TYPE_HEADER: JSON_CONTENT_TYPE},
        "body": json.dumps(body),
    }


def ephemeral(text: str) -> dict[str, Any]:
    """A 200 that Slack shows to the caller only."""
    return respond(200, {"response_type": "ephemeral", "text": text})


def reject(status: int, reason: str) -> dict[str, Any]:
    logger.warning("rejected", extra={"status": status, "reason": reason})
    return respond(status, {"error": reason})


@logger.inject_lambda_context
def handler(
    event: dict[str, Any],
    context: LambdaContext,
    *,
    client: BaseClient | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """Verify a slash command, start the worker on it and acknowledge.

    ``client`` (a boto3 Lambda client) and ``now`` (epoch seconds) are for tests; the Lambda
    runtime passes neither.
    """
    moment = time.time() if now is None else now
    headers = header_map(event)
    timestamp, signature = headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER)
    if not timestamp or not signature:
        return reject(401, MISSING_SIGNATURE)
    try:
        body = raw_body(event)
    except MalformedRequest as error:
        return reject(400, str(error))
    secret = parameters.get_parameter(
        os.environ[SIGNING_SECRET_PARAMETER_ENV], decrypt=True, max_age=SECRET_CACHE_SECONDS
    )
    reason = verify(body, timestamp, signature, secret, now=moment)
    if reason:
        return reject(401, reason)
    try:
        fields = parse_form(body)
    except MalformedRequest as error:
        return reject(400, str(error))

    command = parse_command(fields["command"], fields.get("text", ""))
    if command is None:
        logger.info("answered with help", extra={"command": fields["command"]})
        return ephemeral(help_for(fields["command"]))

    payload = {
        "command": {name: value for name, value in fields.items() if name not in NOT_FORWARDED},
        "verifiedAt": int(moment),
    }
    try:
        (client or lambda_client()).invoke(
            FunctionName=os.environ[WORKER_FUNCTION_NAME_ENV],
            InvocationType="Event",
            Payload=json.dumps(payload),
        )
    except (BotoCoreError, ClientError):
        # Slack shows any non-200 as a bare "dispatch_failed"; tell the user plainly instead.
        logger.exception("worker invoke failed", extra={"trigger_id": fields["trigger_id"]})
        return ephemeral(f"Sorry, I couldn't start `{escape(str(command))}`. Please try again.")
    logger.info(
        "accepted",
        extra={
            "command": command.name,
            "trigger_id": fields["trigger_id"],
            "user_id": fields["user_id"],
            "team_id": fields.get("team_id"),
        },
    )
    return ephemeral(f"Working on it… `{escape(str(command))}`")

"""``ackflow slack "/square 12"``: play Slack against the local stack.

Sends a slash command signed as Slack signs it to the stack's command URL, shows the
acknowledgement and how long it took, then what the worker posted to the response URL
(the local sink stands in for Slack's).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from slack_sdk.signature import SignatureVerifier

__all__ = ["CommandResult", "send_command", "signed_headers"]


@dataclass
class CommandResult:
    status: int
    ack: Any
    ack_seconds: float
    response_url: str
    posts: list[Any]


def signed_headers(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack adds: ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature``."""
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }


def send_command(endpoints: dict[str, Any], line: str, wait_seconds: float = 30) -> CommandResult:
    """Send ``/command text`` and collect what reaches its response URL within the wait."""
    command, _, text = line.strip().partition(" ")
    response_url = f"{endpoints['response_sink_url']}/{uuid.uuid4()}"
    body = urllib.parse.urlencode(
        {
            "token": "local",
            "team_id": "T0LOCAL",
            "team_domain": "ackflow-local",
            "channel_id": "C0LOCAL",
            "channel_name": "local",
            "user_id": "U0LOCAL",
            "user_name": "you",
            "command": command,
            "text": text,
            "api_app_id": "A0LOCAL",
            "response_url": response_url,
            "trigger_id": f"{time.time_ns()}.local.{uuid.uuid4().hex}",
        }
    )
    request = urllib.request.Request(
        endpoints["slack_command_url"],
        data=body.encode(),
        headers=signed_headers(endpoints["slack_signing_secret"], body),
        method="POST",
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    elapsed = time.monotonic() - started
    posts = _wait_for_posts(response_url, wait_seconds) if status == 200 else []
    return CommandResult(status, _json(raw), elapsed, response_url, posts)


def _wait_for_posts(response_url: str, seconds: float) -> list[Any]:
    deadline = time.monotonic() + seconds
    while True:
        with urllib.request.urlopen(response_url, timeout=5) as answer:
            posts = json.loads(answer.read())
        if posts or time.monotonic() > deadline:
            return posts
        time.sleep(0.2)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")

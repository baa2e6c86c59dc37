"""The bench's slash commands are each their own and signed as Slack signs them."""

from __future__ import annotations

import urllib.parse

from slack_sdk.signature import SignatureVerifier

from bench.slack import command_body
from local.standins.slack_command import signed_headers


def test_each_command_has_its_own_response_url_and_trigger_and_verifies():
    first, second = command_body("http://sink/hooks"), command_body("http://sink/hooks")
    fields = [dict(urllib.parse.parse_qsl(body)) for body in (first, second)]
    headers = signed_headers("secret", first)

    assert fields[0]["command"] == "/square" and fields[0]["text"] == "12"
    assert fields[0]["response_url"] != fields[1]["response_url"]
    assert fields[0]["trigger_id"] != fields[1]["trigger_id"]
    assert SignatureVerifier("secret").is_valid(
        first, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )

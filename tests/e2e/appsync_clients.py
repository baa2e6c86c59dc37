"""Real AppSync clients for a running stack: gql's transports, botocore's signer, websockets."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlsplit

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from gql import Client
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.appsync_auth import AppSyncApiKeyAuthentication, AppSyncIAMAuthentication
from gql.transport.appsync_websockets import AppSyncWebsocketsTransport

from tests.e2e.runner import RunningStack

PUBLISH = """
mutation Publish($streamId: ID!, $seq: Int!, $text: String, $done: Boolean!) {
  publishChunk(streamId: $streamId, seq: $seq, text: $text, done: $done) {
    streamId seq text done
  }
}"""
ON_CHUNK = """
subscription OnChunk($streamId: ID!) {
  onChunk(streamId: $streamId) { streamId seq text done }
}"""


def graphql_host(stack: RunningStack) -> str:
    return urlsplit(stack.endpoints["graphql_url"]).netloc


def credentials(stack: RunningStack, secret: str | None = None) -> Credentials:
    endpoints = stack.endpoints
    return Credentials(endpoints["aws_access_key_id"], secret or endpoints["aws_secret_access_key"])


def api_key_auth(stack: RunningStack, key: str | None = None) -> AppSyncApiKeyAuthentication:
    return AppSyncApiKeyAuthentication(
        host=graphql_host(stack), api_key=key or stack.endpoints["api_key"]
    )


def iam_auth(stack: RunningStack, secret: str | None = None) -> AppSyncIAMAuthentication:
    return AppSyncIAMAuthentication(
        host=graphql_host(stack), region_name="us-east-1", credentials=credentials(stack, secret)
    )


def http_client(stack: RunningStack, auth: Any) -> Client:
    return Client(transport=AIOHTTPTransport(url=stack.endpoints["graphql_url"], auth=auth))


def realtime_client(stack: RunningStack, auth: Any) -> Client:
    transport = AppSyncWebsocketsTransport(url=stack.endpoints["realtime_url"], auth=auth)
    return Client(transport=transport)


def signed_post(
    stack: RunningStack, document: dict[str, Any], secret: str | None = None
) -> requests.Response:
    """A POST signed with botocore's SigV4 signer (service appsync), as any AWS SDK signs it."""
    url = stack.endpoints["graphql_url"]
    body = json.dumps(document)
    request = AWSRequest("POST", url, data=body, headers={"content-type": "application/json"})
    SigV4Auth(credentials(stack, secret), "appsync", "us-east-1").add_auth(request)
    return requests.post(url, data=body, headers=dict(request.headers.items()), timeout=10)


def publish(stack: RunningStack, stream_id: str, seq: int, text: str, done: bool = False) -> Any:
    answer = signed_post(
        stack,
        {
            "query": PUBLISH,
            "variables": {"streamId": stream_id, "seq": seq, "text": text, "done": done},
        },
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def header_param(headers: dict[str, Any]) -> str:
    """AppSync's ``header`` query parameter: the auth headers as base64 JSON."""
    return base64.b64encode(json.dumps(headers).encode()).decode()


def realtime_url(stack: RunningStack, headers: dict[str, Any] | None) -> str:
    url = stack.endpoints["realtime_url"]
    return url if headers is None else f"{url}?header={header_param(headers)}&payload=e30="

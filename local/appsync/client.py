"""``ackflow graphql`` and ``ackflow subscribe``: a client of the local GraphQL API, with the
stack's own auth (its API key, or SigV4 with the local credentials in ``endpoints.json``).

Queries and mutations are one HTTP POST (signed with botocore's SigV4 signer for IAM), so the
answer is printed as AppSync gave it, errors included. Subscriptions go through gql's
``AppSyncWebsocketsTransport``, a real AppSync client.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from gql import Client, GraphQLRequest
from gql.transport.appsync_auth import (
    AppSyncApiKeyAuthentication,
    AppSyncAuthentication,
    AppSyncIAMAuthentication,
)
from gql.transport.appsync_websockets import AppSyncWebsocketsTransport

__all__ = ["AuthMode", "GraphQLAnswer", "post_graphql", "subscribe"]

AuthMode = Literal["apiKey", "iam"]


@dataclass(frozen=True)
class GraphQLAnswer:
    status: int
    body: Any

    @property
    def failed(self) -> bool:
        return self.status >= 400 or bool(isinstance(self.body, dict) and self.body.get("errors"))


def default_auth(endpoints: Mapping[str, Any]) -> AuthMode:
    """The stack's API key when it has one, else IAM."""
    return "apiKey" if endpoints.get("api_key") else "iam"


async def post_graphql(
    endpoints: Mapping[str, Any],
    query: str,
    variables: Mapping[str, Any] | None = None,
    auth: AuthMode | None = None,
) -> GraphQLAnswer:
    """Send one query or mutation to the stack's GraphQL URL."""
    url = _graphql_url(endpoints)
    body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
    headers = {"content-type": "application/json"}
    if (auth or default_auth(endpoints)) == "apiKey":
        headers["x-api-key"] = endpoints["api_key"]
    else:
        request = AWSRequest("POST", url, data=body, headers=headers)
        SigV4Auth(_credentials(endpoints), "appsync", endpoints["region"]).add_auth(request)
        headers = dict(request.headers.items())
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        text = await response.text()
    try:
        return GraphQLAnswer(response.status, json.loads(text))
    except ValueError:
        return GraphQLAnswer(response.status, text)


async def subscribe(
    endpoints: Mapping[str, Any],
    subscription: str,
    variables: Mapping[str, Any] | None = None,
    auth: AuthMode | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """The subscription's events, as they arrive, until the caller stops iterating."""
    transport = AppSyncWebsocketsTransport(
        url=endpoints["realtime_url"], auth=_realtime_auth(endpoints, auth)
    )
    async with Client(transport=transport) as session:
        request = GraphQLRequest(subscription, variable_values=dict(variables or {}))
        async for event in session.subscribe(request):
            yield event


def _realtime_auth(endpoints: Mapping[str, Any], auth: AuthMode | None) -> AppSyncAuthentication:
    host = urlsplit(_graphql_url(endpoints)).netloc
    if (auth or default_auth(endpoints)) == "apiKey":
        return AppSyncApiKeyAuthentication(host=host, api_key=endpoints["api_key"])
    return AppSyncIAMAuthentication(
        host=host, region_name=endpoints["region"], credentials=_credentials(endpoints)
    )


def _graphql_url(endpoints: Mapping[str, Any]) -> str:
    url = endpoints.get("graphql_url")
    if not url:
        raise LookupError(f"stack {endpoints.get('stack')} serves no GraphQL API")
    return url


def _credentials(endpoints: Mapping[str, Any]) -> Credentials:
    return Credentials(endpoints["aws_access_key_id"], endpoints["aws_secret_access_key"])

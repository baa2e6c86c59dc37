"""AWS API calls for coroutines: on the event loop itself, or through boto3 in a thread.

boto3 blocks, so a destination call through it runs in a worker thread, and there botocore's
whole pipeline (event hooks, endpoint rules, retry and user-agent handlers, urllib3: 1.2-1.5 ms
of Python per ``SendMessageBatch``) holds the GIL that the event loop needs for the acks and
the Runtime API. :class:`LoopCalls` keeps the parts of botocore that speak the protocol (the
request's serialization and SigV4 signature, the response's parsing) and sends the request
with aiohttp from the loop. aiobotocore does the same for a whole client, but it pins botocore
to a narrower range than this project's, and keeps the pipeline's cost.

Both answer as a boto3 client does: the parsed response, or for an error response the
service's modeled :class:`botocore.exceptions.ClientError` (``QueueDoesNotExist``), so a caller
classifies failures the same way whichever it is given.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlencode

import aiohttp
import botocore.session
from botocore import parsers, serialize, xform_name
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HeadersDict
from botocore.credentials import Credentials
from botocore.errorfactory import BaseClientExceptions, ClientExceptionsFactory
from botocore.model import ServiceModel

__all__ = ["AwsCalls", "LoopCalls", "ThreadedCalls"]

CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 30


class AwsCalls(Protocol):
    async def call(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Call ``operation`` (its API name, ``SendMessageBatch``) with boto3's parameters."""
        ...


class ThreadedCalls:
    """A boto3 client (or anything with its method names), called in a worker thread."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def call(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        method = getattr(self.client, xform_name(operation))
        return await asyncio.to_thread(method, **params)


class LoopCalls:
    """One service's API at ``endpoint_url``, called from the running event loop.

    One attempt per call, as the destination clients are configured: the outbox retries.
    """

    def __init__(
        self, service: str, *, endpoint_url: str, region: str, credentials: Credentials
    ) -> None:
        self._model = _service_model(service)
        self._exceptions = _exceptions(service)
        protocol = self._model.metadata["protocol"]
        self._serializer = serialize.create_serializer(protocol, include_validation=True)
        self._parser = parsers.create_parser(protocol)
        self._signer = SigV4Auth(credentials, self._model.signing_name, region)
        self._endpoint = endpoint_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(
            sock_connect=CONNECT_TIMEOUT_SECONDS, sock_read=READ_TIMEOUT_SECONDS
        )

    async def call(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        model = self._model.operation_model(operation)
        request = self._serializer.serialize_to_request(dict(params), model)
        url = self._endpoint + request["url_path"]
        if request["query_string"]:
            url += "?" + urlencode(request["query_string"], doseq=True)
        signed = AWSRequest(
            method=request["method"], url=url, data=request["body"], headers=request["headers"]
        )
        self._signer.add_auth(signed)
        # moto's server closes every connection after its answer, so there is none to keep.
        connector = aiohttp.TCPConnector(force_close=True)
        async with (
            aiohttp.ClientSession(connector=connector, timeout=self._timeout) as session,
            session.request(
                signed.method, signed.url, data=signed.body, headers=dict(signed.headers.items())
            ) as answer,
        ):
            body = await answer.read()
            response = {
                "status_code": answer.status,
                "headers": HeadersDict(answer.headers.items()),
                "body": body,
            }
        parsed = self._parser.parse(response, model.output_shape)
        if answer.status >= 300:
            error = parsed.get("Error", {})
            code = error.get("QueryErrorCode") or error.get("Code")  # as botocore's client reads it
            raise self._exceptions.from_code(code)(parsed, operation)  # type: ignore[arg-type]
        return parsed


@functools.cache
def _service_model(service: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


@functools.cache
def _exceptions(service: str) -> BaseClientExceptions:
    return ClientExceptionsFactory().create_client_exceptions(_service_model(service))

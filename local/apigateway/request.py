"""One request on its way through the local REST gateway: what arrived, and where it was routed.

Every stage of the gateway (method request, integration mappings, the Lambda proxy event) reads
the request through these two types, and writes to one execution log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from local.apigateway.vtl import RequestParams

if TYPE_CHECKING:
    from local.apigateway.model import RestApi, Route

__all__ = ["EXECUTION_LOG", "JSON", "NOT_FORWARDED_HEADERS", "IncomingRequest", "RoutedRequest"]

EXECUTION_LOG = logging.getLogger("local.apigateway.gateway")
"""The gateway's execution log; every stage writes here, under the gateway's logger name."""
JSON = "application/json"
NOT_FORWARDED_HEADERS = frozenset({"content-length", "connection", "transfer-encoding"})
"""Headers the gateway never passes on, to the integration or back to the client."""
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@dataclass(frozen=True)
class IncomingRequest:
    """The HTTP request, as API Gateway hands it on (header names keep the client's case)."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    query: list[tuple[str, str]]
    body: bytes
    source_ip: str
    host: str
    scheme: str
    port: int | None
    protocol: str

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in reversed(self.headers) if k.lower() == lowered), None)

    def single_headers(self) -> dict[str, str]:
        return dict(self.headers)

    def single_query(self) -> dict[str, str]:
        return dict(self.query)

    @property
    def content_type(self) -> str:
        """The media type, lower-cased without parameters; API Gateway assumes JSON if absent."""
        value = self.header("Content-Type")
        return value.split(";")[0].strip().lower() if value else JSON


@dataclass(frozen=True)
class RoutedRequest:
    """One request on its way through a route."""

    api: RestApi
    stage: str
    route: Route
    incoming: IncomingRequest
    request_id: str
    extended_request_id: str
    started: float = field(default_factory=time.time)

    @property
    def stage_variables(self) -> Mapping[str, str]:
        return self.api.stages.get(self.stage, {})

    @cached_property
    def params(self) -> RequestParams:
        return RequestParams(
            path=self.route.path_parameters,
            querystring=self.incoming.single_query(),
            header=self.incoming.single_headers(),
        )

    def context(self) -> dict[str, Any]:
        """``$context`` for templates and ``requestContext`` of a proxy event (built once per
        request; callers read it and do not change it)."""
        return self._context

    @cached_property
    def _context(self) -> dict[str, Any]:
        incoming = self.incoming
        return {
            "resourceId": self.route.resource.id,
            "resourcePath": self.route.resource.path,
            "httpMethod": incoming.method,
            "extendedRequestId": self.extended_request_id,
            "requestTime": _request_time(self.started),
            "path": f"/{self.stage}{incoming.path}",
            "accountId": self.api.account_id,
            "protocol": incoming.protocol,
            "stage": self.stage,
            "domainPrefix": incoming.host.split(".")[0].split(":")[0],
            "requestTimeEpoch": int(self.started * 1000),
            "requestId": self.request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": incoming.source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": incoming.header("User-Agent"),
                "user": None,
            },
            "domainName": incoming.host,
            "apiId": self.api.id,
        }

    def parameter(self, location: str, name: str) -> str | None:
        if location == "path":
            return self.route.path_parameters.get(name)
        if location == "querystring":
            return self.incoming.single_query().get(name)
        return self.incoming.header(name)


def _request_time(epoch: float) -> str:
    """``09/Apr/2015:12:34:56 +0000``, the format of ``$context.requestTime``."""
    t = time.gmtime(epoch)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{time.strftime('%H:%M:%S', t)} +0000"
    )

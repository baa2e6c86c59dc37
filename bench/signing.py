"""SigV4 headers for a request, made by botocore's signer as any AWS SDK makes them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

__all__ = ["invoke_url", "sigv4_headers"]


def invoke_url(endpoints: Mapping[str, Any], function_name: str) -> str:
    """The Invoke API's URL of a function (``POST /2015-03-31/functions/{name}/invocations``)."""
    return f"{endpoints['lambda_endpoint_url']}/2015-03-31/functions/{function_name}/invocations"


def sigv4_headers(
    endpoints: Mapping[str, Any],
    url: str,
    body: str,
    service: str,
    headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``headers`` plus the signature of a POST of ``body`` to ``url`` with the stack's local
    IAM user. A signed request stays valid for AWS's five minutes, so wrk may resend it."""
    credentials = Credentials(endpoints["aws_access_key_id"], endpoints["aws_secret_access_key"])
    request = AWSRequest("POST", url, data=body.encode(), headers=dict(headers or {}))
    SigV4Auth(credentials, service, endpoints["region"]).add_auth(request)
    return dict(request.headers.items())

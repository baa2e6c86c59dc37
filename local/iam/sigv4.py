"""Verifying a SigV4 signature as an AWS service does, with botocore's own signer.

The request is rebuilt from what the client said it signed (``SignedHeaders``), signed again
with the secret of the access key it names, and the two signatures compared in constant time.
The clock skew allowed is AWS's 5 minutes. Errors carry the type, status and message AWS
answers with, so the service in front can pass them on as they are.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.iam.credentials import LocalCredentials, Principal

__all__ = ["SignatureError", "SignedRequest", "is_sigv4", "signing_key", "verify_sigv4"]

ALGORITHM = "AWS4-HMAC-SHA256"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_SKEW = timedelta(minutes=5)
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

_AUTHORIZATION = re.compile(
    rf"^{ALGORITHM}\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{{8}})/(?P<region>[^/,\s]+)"
    r"/(?P<service>[^/,\s]+)/aws4_request,\s*SignedHeaders=(?P<headers>[a-z0-9;_.-]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})$"
)

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
UNKNOWN_KEY = "The security token included in the request is invalid."


class SignatureError(Exception):
    """The signature is missing, malformed, stale or wrong: AWS's 403 and its error type."""

    def __init__(self, error_type: str, message: str, status: int = 403) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
        self.status = status


@dataclass(frozen=True)
class SignedRequest:
    """What was signed: method, host, path, query, headers (any case) and the raw body."""

    method: str
    host: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    query: str = ""


def is_sigv4(authorization: str | None) -> bool:
    return bool(authorization) and authorization.startswith(ALGORITHM)


def signing_key(authorization: str | None) -> str | None:
    """The access key id an ``Authorization`` header names (not verified), if it is SigV4's."""
    match = _AUTHORIZATION.match((authorization or "").strip())
    return match["key"] if match else None


def verify_sigv4(
    request: SignedRequest,
    credentials: LocalCredentials,
    *,
    service: str,
    region: str,
    now: datetime | None = None,
) -> Principal:
    """The principal that signed ``request``, or :class:`SignatureError` as AWS words it."""
    headers = {name.lower(): value for name, value in request.headers.items()}
    match = _AUTHORIZATION.match(headers.get("authorization", "").strip())
    if match is None:
        raise SignatureError(
            "IncompleteSignatureException",
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
            f"parameters in the {ALGORITHM} format.",
        )
    stamp = headers.get("x-amz-date", "")
    signed_at = _parse_timestamp(stamp)
    _check_skew(stamp, signed_at, now or datetime.now(UTC))
    if match["date"] != stamp[:8]:
        raise SignatureError(
            "InvalidSignatureException",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{match['date']}' != '{stamp[:8]}', from '{stamp}'.",
        )
    if match["service"] != service:
        raise SignatureError(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{service}'.",
        )
    if match["region"] != region:
        raise SignatureError(
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region, not '{match['region']}'.",
        )
    principal = credentials.lookup(match["key"])
    if principal is None:
        raise SignatureError("UnrecognizedClientException", UNKNOWN_KEY)
    signed_names = match["headers"].split(";")
    if "host" not in signed_names:
        raise SignatureError(
            "InvalidSignatureException", "'Host' must be a 'SignedHeader' in the AWS Authorization."
        )
    _check_payload_hash(headers, request.body)
    expected = _signature(request, headers, signed_names, principal, service, region, stamp)
    if not hmac.compare_digest(expected, match["signature"]):
        raise SignatureError("InvalidSignatureException", SIGNATURE_MISMATCH)
    return principal


def _parse_timestamp(stamp: str) -> datetime:
    try:
        return datetime.strptime(stamp, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise SignatureError(
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ) from None


def _check_skew(stamp: str, signed_at: datetime, now: datetime) -> None:
    if signed_at < now - MAX_SKEW:
        earliest = (now - MAX_SKEW).strftime(TIMESTAMP_FORMAT)
        raise SignatureError(
            "InvalidSignatureException",
            f"Signature expired: {stamp} is now earlier than {earliest} "
            f"({now.strftime(TIMESTAMP_FORMAT)} - 5 min.)",
        )
    if signed_at > now + MAX_SKEW:
        latest = (now + MAX_SKEW).strftime(TIMESTAMP_FORMAT)
        raise SignatureError(
            "InvalidSignatureException",
            f"Signature not yet current: {stamp} is still later than {latest} "
            f"({now.strftime(TIMESTAMP_FORMAT)} + 5 min.)",
        )


def _check_payload_hash(headers: Mapping[str, str], body: bytes) -> None:
    """A signed ``x-amz-content-sha256`` must be the body's: else the body was swapped."""
    claimed = headers.get("x-amz-content-sha256")
    if claimed and claimed != UNSIGNED_PAYLOAD and claimed != hashlib.sha256(body).hexdigest():
        raise SignatureError(
            "InvalidSignatureException",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            status=400,
        )


def _signature(
    request: SignedRequest,
    headers: Mapping[str, str],
    signed_names: list[str],
    principal: Principal,
    service: str,
    region: str,
    stamp: str,
) -> str:
    signed = {name: headers.get(name, "") for name in signed_names}
    signed["host"] = headers.get("host", request.host)
    url = f"https://{signed['host']}{request.path}" + (f"?{request.query}" if request.query else "")
    rebuilt = AWSRequest(method=request.method.upper(), url=url, headers=signed, data=request.body)
    rebuilt.context["timestamp"] = stamp
    signer = SigV4Auth(
        Credentials(
            principal.access_key, principal.secret_key, headers.get("x-amz-security-token")
        ),
        service,
        region,
    )
    canonical = signer.canonical_request(rebuilt)
    return signer.signature(signer.string_to_sign(rebuilt, canonical), rebuilt)

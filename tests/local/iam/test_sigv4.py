"""SigV4 verification: requests signed by botocore's own signer, and every way to get it wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.iam.credentials import LocalCredentials
from local.iam.sigv4 import SignatureError, SignedRequest, verify_sigv4

URL = "http://127.0.0.1:4756/graphql"
BODY = b'{"query":"{ square(number: \\"2\\") { square } }"}'
CREDENTIALS = LocalCredentials("000000000000", b"a seed")
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def signed(
    body: bytes = BODY,
    secret: str | None = None,
    key: str | None = None,
    service: str = "appsync",
    region: str = "us-east-1",
    at: datetime = NOW,
    headers: dict[str, str] | None = None,
) -> dict[str, str]:
    user = CREDENTIALS.user
    request = AWSRequest(
        "POST", URL, data=body, headers={"content-type": "application/json", **(headers or {})}
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=at):
        SigV4Auth(
            Credentials(key or user.access_key, secret or user.secret_key), service, region
        ).add_auth(request)
    return {**dict(request.headers.items()), "Host": "127.0.0.1:4756"}


def verify(headers: dict[str, str], body: bytes = BODY, now: datetime = NOW):
    request = SignedRequest("POST", "127.0.0.1:4756", "/graphql", headers, body)
    return verify_sigv4(request, CREDENTIALS, service="appsync", region="us-east-1", now=now)


def test_a_request_botocore_signed_with_the_users_key_verifies_as_the_user():
    assert verify(signed()) == CREDENTIALS.user


def test_a_function_signs_as_its_role():
    CREDENTIALS.add_functions([("worker", "arn:aws:iam::000000000000:role/worker-role")])
    function = CREDENTIALS.for_function("worker")

    principal = verify(signed(key=function.access_key, secret=function.secret_key))

    assert principal.role_arn == "arn:aws:iam::000000000000:role/worker-role"
    assert principal.arn == "arn:aws:sts::000000000000:assumed-role/worker-role/worker"


@pytest.mark.parametrize(
    ("headers", "body", "now", "error_type", "message"),
    [
        (
            signed(secret="wrong"),
            BODY,
            NOW,
            "InvalidSignatureException",
            "The request signature we calculated does not match",
        ),
        (
            signed(),
            BODY + b" ",
            NOW,
            "InvalidSignatureException",
            "The request signature we calculated does not match",
        ),
        (
            signed(key="AKIAIOSFODNN7EXAMPLE"),
            BODY,
            NOW,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        (
            signed(),
            BODY,
            NOW + timedelta(minutes=6),
            "InvalidSignatureException",
            "Signature expired: 20261201T080000Z is now earlier than 20261201T080100Z",
        ),
        (
            signed(),
            BODY,
            NOW - timedelta(minutes=6),
            "InvalidSignatureException",
            "Signature not yet current",
        ),
        (
            signed(service="lambda"),
            BODY,
            NOW,
            "InvalidSignatureException",
            "Credential should be scoped to correct service: 'appsync'.",
        ),
        (
            signed(region="eu-west-1"),
            BODY,
            NOW,
            "InvalidSignatureException",
            "Credential should be scoped to a valid region",
        ),
        (
            {**signed(), "Authorization": "AWS4-HMAC-SHA256 garbage"},
            BODY,
            NOW,
            "IncompleteSignatureException",
            "Authorization header requires",
        ),
        (
            {k: v for k, v in signed().items() if k != "X-Amz-Date"},
            BODY,
            NOW,
            "IncompleteSignatureException",
            "X-Amz-Date",
        ),
        (
            signed(headers={"x-amz-content-sha256": "0" * 64}),
            BODY,
            NOW,
            "InvalidSignatureException",
            "x-amz-content-sha256",
        ),
    ],
    ids=[
        "wrong secret",
        "body changed",
        "unknown key",
        "too old",
        "too new",
        "other service",
        "other region",
        "malformed",
        "no date",
        "payload hash lies",
    ],
)
def test_a_wrong_signature_is_refused_as_aws_words_it(headers, body, now, error_type, message):
    with pytest.raises(SignatureError) as refused:
        verify(headers, body, now)

    assert refused.value.error_type == error_type
    assert message in refused.value.message
    assert refused.value.status in (400, 403)


def test_secrets_derive_from_the_seed_so_they_last_across_runs():
    again = LocalCredentials("000000000000", b"a seed")
    other = LocalCredentials("000000000000", b"another seed")

    assert again.user == CREDENTIALS.user
    assert other.user.access_key == CREDENTIALS.user.access_key
    assert other.user.secret_key != CREDENTIALS.user.secret_key

"""Who is calling: API keys and their expiry, and Cognito user-pool tokens verified against
the JWKS of a pool in moto's cognito-idp (the stand-in pools `ackflow up` makes)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from local.appsync.auth import Authenticator, CognitoPools
from local.appsync.errors import AppSyncRequestError
from local.appsync.model import API_KEY, COGNITO, ApiKey, AuthProvider
from local.aws_services.cognito import stand_in_pools
from local.iam.credentials import LocalCredentials
from local.iam.policies import RolePolicies
from local.iam.sigv4 import SignedRequest
from tests.local.appsync.test_executor import make_api

CONFIGURED_POOL = "us-east-1_configured"
EXPIRES = datetime(2027, 1, 1, tzinfo=UTC)


def authenticator(api, clock=None, cognito=None) -> Authenticator:
    return Authenticator(
        api, LocalCredentials("000000000000", b"s"), RolePolicies({}), cognito, clock=clock
    )


def request(**headers: str) -> SignedRequest:
    return SignedRequest("POST", "localhost", "/graphql", headers, b"{}")


def authenticate(auth: Authenticator, **headers: str):
    return asyncio.run(auth.authenticate(request(**headers), "203.0.113.9"))


def keyed_api():
    api = make_api()
    api.api_keys = (ApiKey("da2-live", EXPIRES),)
    return api


def test_a_live_key_authenticates_with_no_identity():
    caller = authenticate(
        authenticator(keyed_api(), lambda: EXPIRES - timedelta(hours=1)),
        **{"x-api-key": "da2-live"},
    )

    assert caller.mode == API_KEY
    assert caller.identity is None


@pytest.mark.parametrize(
    ("key", "now"),
    [
        ("da2-live", EXPIRES),
        ("da2-live", EXPIRES + timedelta(days=1)),
        ("da2-other", EXPIRES - timedelta(days=1)),
    ],
    ids=["at its expiry", "past it", "unknown"],
)
def test_an_expired_or_unknown_key_is_refused(key, now):
    with pytest.raises(AppSyncRequestError) as refused:
        authenticate(authenticator(keyed_api(), lambda: now), **{"x-api-key": key})

    assert (refused.value.status, refused.value.error_type) == (401, "UnauthorizedException")
    assert refused.value.message == "You are not authorized to make this call."


@pytest.fixture(scope="module")
def pool(endpoint):
    cognito = boto3.client(
        "cognito-idp",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    (stand_in,) = stand_in_pools(cognito, [CONFIGURED_POOL])
    cognito.admin_create_user(
        UserPoolId=stand_in.local_id, Username="ada", TemporaryPassword="Temp-pass-1!"
    )
    cognito.admin_set_user_password(
        UserPoolId=stand_in.local_id, Username="ada", Password="Real-pass-1!", Permanent=True
    )
    cognito.create_group(GroupName="admins", UserPoolId=stand_in.local_id)
    cognito.admin_add_user_to_group(
        UserPoolId=stand_in.local_id, Username="ada", GroupName="admins"
    )
    tokens = cognito.initiate_auth(
        ClientId=stand_in.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ada", "PASSWORD": "Real-pass-1!"},
    )["AuthenticationResult"]
    return endpoint, cognito, stand_in, tokens


def cognito_api():
    api = make_api()
    api.default_auth = AuthProvider(
        COGNITO, user_pool_id=CONFIGURED_POOL, user_pool_region="us-east-1"
    )
    return api


def test_a_user_pool_token_authenticates_with_its_claims_and_groups(pool):
    endpoint, _, stand_in, tokens = pool
    auth = authenticator(
        cognito_api(), cognito=CognitoPools(endpoint, {CONFIGURED_POOL: stand_in.local_id})
    )

    caller = authenticate(auth, Authorization=tokens["IdToken"])

    assert caller.mode == COGNITO
    assert caller.groups == ("admins",)
    assert caller.identity["username"] == "ada"
    assert caller.identity["sub"] == caller.identity["claims"]["sub"]
    assert caller.identity["issuer"].endswith(f"/{stand_in.local_id}")
    assert caller.identity["sourceIp"] == ["203.0.113.9"]


def test_a_stand_in_pool_is_found_again_by_name(pool):
    _, cognito, stand_in, _ = pool

    assert stand_in_pools(cognito, [CONFIGURED_POOL]) == [stand_in]


@pytest.mark.parametrize("damage", ["tampered", "other pool", "expired"])
def test_a_token_that_does_not_verify_is_refused(pool, damage):
    endpoint, cognito, stand_in, tokens = pool
    token = tokens["IdToken"]
    pools = {CONFIGURED_POOL: stand_in.local_id}
    clock = None
    if damage == "tampered":
        header, payload, signature = token.split(".")
        token = ".".join(
            (header, payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB"), signature)
        )
    elif damage == "other pool":
        (other,) = stand_in_pools(cognito, ["us-east-1_other"])
        pools = {CONFIGURED_POOL: other.local_id}
    else:
        clock = lambda: datetime.now(UTC) + timedelta(days=2)  # noqa: E731
    auth = authenticator(cognito_api(), clock=clock, cognito=CognitoPools(endpoint, pools))

    with pytest.raises(AppSyncRequestError) as refused:
        authenticate(auth, Authorization=token)

    assert refused.value.status == 401

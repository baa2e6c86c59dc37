"""A GraphQL API with Cognito user-pool auth against a real `ackflow up`: tokens from the
stand-in pool in moto's cognito-idp are verified against its JWKS; others are refused."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
import requests

from tests.e2e.runner import HERE, RunningStack, free_port_base

SQUARE = {"query": 'query { square(number: "9") { square } }'}
PASSWORD = "Correct-horse-1!"


@pytest.fixture(scope="module")
def cognito_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    stack = RunningStack(
        tmp_path_factory.mktemp("cognito"),
        free_port_base(),
        stack_file=HERE / "Pulumi.cognito.yaml",
    )
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
        stack.down()


def cognito(stack: RunningStack):
    return boto3.client(
        "cognito-idp",
        endpoint_url=stack.endpoints["aws_endpoint_url"],
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


def signed_in(stack: RunningStack, pool_id: str, client_id: str, user: str) -> str:
    idp = cognito(stack)
    idp.admin_create_user(UserPoolId=pool_id, Username=user, TemporaryPassword="Temp-pass-1!")
    idp.admin_set_user_password(
        UserPoolId=pool_id, Username=user, Password=PASSWORD, Permanent=True
    )
    tokens = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user, "PASSWORD": PASSWORD},
    )
    return tokens["AuthenticationResult"]["IdToken"]


def post(stack: RunningStack, **headers: str) -> requests.Response:
    return requests.post(stack.endpoints["graphql_url"], json=SQUARE, headers=headers, timeout=10)


def test_a_token_from_the_stand_in_pool_is_accepted(cognito_stack: RunningStack):
    endpoints = cognito_stack.endpoints
    token = signed_in(
        cognito_stack, endpoints["cognito_user_pool_id"], endpoints["cognito_client_id"], "ada"
    )

    answer = post(cognito_stack, Authorization=token)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"data": {"square": {"square": "81"}}}
    assert "api_key" not in endpoints or endpoints["api_key"] is None


def test_a_token_from_another_pool_or_no_token_is_refused(cognito_stack: RunningStack):
    idp = cognito(cognito_stack)
    other = idp.create_user_pool(PoolName="someone-else")["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=other, ClientName="c", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )
    token = signed_in(cognito_stack, other, client["UserPoolClient"]["ClientId"], "eve")

    foreign = post(cognito_stack, Authorization=token)
    missing = post(cognito_stack)

    assert foreign.status_code == 401
    assert foreign.json()["errors"][0]["errorType"] == "UnauthorizedException"
    assert missing.status_code == 401
    assert missing.json()["errors"][0]["message"] == "Missing authorization header"

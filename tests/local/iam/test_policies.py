"""Role policies from the captured stacks, evaluated as IAM evaluates them."""

from __future__ import annotations

import json

import pytest

from local.cloud.capture import capture
from local.iam.policies import RolePolicies

ROLE = "arn:aws:iam::000000000000:role/r"
FIELD = "arn:aws:appsync:us-east-1:000000000000:apis/a/types/Mutation/fields/publishChunk"


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_an_allow_grants_and_nothing_is_an_implicit_deny():
    policies = RolePolicies(
        {ROLE: [policy({"Effect": "Allow", "Action": "appsync:GraphQL", "Resource": FIELD})]}
    )

    assert policies.allows(ROLE, "appsync:GraphQL", FIELD)
    assert not policies.allows(ROLE, "appsync:GraphQL", FIELD.replace("publishChunk", "other"))
    assert not policies.allows("arn:aws:iam::000000000000:role/none", "appsync:GraphQL", FIELD)


def test_an_explicit_deny_wins_over_an_allow():
    policies = RolePolicies(
        {
            ROLE: [
                policy({"Effect": "Allow", "Action": "appsync:*", "Resource": "*"}),
                policy({"Effect": "Deny", "Action": "appsync:GraphQL", "Resource": FIELD}),
            ]
        }
    )

    assert not policies.allows(ROLE, "appsync:GraphQL", FIELD)


@pytest.fixture(scope="module")
def dev():
    return capture("dev")


def test_the_dev_stacks_roles_carry_their_declared_statements(dev):
    policies = RolePolicies.from_capture(dev)
    squaring = next(
        r.inputs["role"]
        for r in dev.of_type("aws:lambda/function:Function")
        if r.outputs["name"] == "ackflow-dev-squaring-worker"
    )
    queue = next(
        r.outputs["arn"]
        for r in dev.of_type("aws:sqs/queue:Queue")
        if r.name.startswith("squaring-worker-success")
    )

    assert policies.allows(squaring, "sqs:SendMessage", queue)
    assert not policies.allows(squaring, "sqs:SendMessage", queue + "-other")
    api = dev.of_type("aws:appsync/graphQLApi:GraphQLApi")[0].outputs["arn"]
    assert not policies.allows(
        squaring, "appsync:GraphQL", f"{api}/types/Mutation/fields/publishChunk"
    )

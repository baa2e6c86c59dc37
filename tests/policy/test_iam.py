"""iam-no-wildcard-resource: no statement on "*" but the actions AWS cannot scope."""

from __future__ import annotations

import json

import pytest

from local.cloud.capture import Capture
from policy.iam import UNSCOPABLE_ACTIONS, wildcard_problems
from tests.policy.adapter import adding, changed, named, policy_named, replacing, resource, run

POLICY = policy_named("iam-no-wildcard-resource")
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SQS_ARN = "arn:aws:sqs:us-east-1:000000000000:q"


def _document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action: object, resource: object, **extra: object) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def _with_statement(stack: Capture, statement: dict) -> Capture:
    worker_policy = named(stack, ROLE_POLICY, "squaring-worker")
    document = json.loads(worker_policy.inputs["policy"])
    document["Statement"].append(statement)
    return replacing(stack, changed(worker_policy, policy=json.dumps(document)))


def test_the_example_stacks_pass(example_stack: Capture):
    assert example_stack.of_type(ROLE_POLICY), "no inline role policy to check"
    assert run(POLICY, example_stack) == []


def test_prods_xray_statement_on_star_is_the_allowlisted_exception(prod: Capture):
    documents = [json.loads(r.inputs["policy"]) for r in prod.of_type(ROLE_POLICY)]
    on_star = [s for d in documents for s in d["Statement"] if s["Resource"] == "*"]
    assert on_star and all(set(s["Action"]) <= set(UNSCOPABLE_ACTIONS) for s in on_star)


def test_an_action_on_star_in_a_role_policy_is_named_with_its_resource(dev: Capture):
    violations = run(POLICY, _with_statement(dev, _allow("sqs:SendMessage", "*")))
    assert len(violations) == 1
    message = violations[0].message
    assert message.startswith("aws:iam/rolePolicy:RolePolicy squaring-worker: policy ")
    assert 'allows sqs:SendMessage on "*"' in message
    assert violations[0].urn == named(dev, ROLE_POLICY, "squaring-worker").urn


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (_allow("*", "*"), 'allows * on "*"'),
        (_allow(["xray:PutTraceSegments", "s3:GetObject"], ["*"]), 'allows s3:GetObject on "*"'),
        (_allow("xray:*", "*"), 'allows xray:* on "*"'),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, "every action but"),
        ({"Effect": "Allow", "Action": "sqs:SendMessage", "NotResource": SQS_ARN}, "NotResource"),
        (_allow("sqs:SendMessage", "*", Sid="Wide"), "statement 'Wide' allows"),
    ],
)
def test_wide_statements_are_caught(dev: Capture, statement: dict, expected: str):
    messages = [v.message for v in run(POLICY, _with_statement(dev, statement))]
    assert len(messages) == 1 and expected in messages[0], messages


@pytest.mark.parametrize(
    "statement",
    [
        _allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"),
        _allow("XRay:PutTraceSegments", "*"),  # IAM action names ignore case
        {"Effect": "Deny", "Action": "*", "Resource": "*"},
        # The streaming workload's grants: exact model ARNs and one field of one API.
        _allow(
            "bedrock:InvokeModelWithResponseStream",
            [
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
                "arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.anthropic.claude-3-haiku",
            ],
        ),
        _allow(
            "appsync:GraphQL",
            "arn:aws:appsync:us-east-1:000000000000:apis/abc/types/Mutation/fields/publishChunk",
        ),
    ],
)
def test_scoped_and_unscopable_statements_pass(dev: Capture, statement: dict):
    assert run(POLICY, _with_statement(dev, statement)) == []


def test_managed_policies_and_a_roles_inline_policies_are_checked_too(dev: Capture):
    wide = _document(_allow("dynamodb:*", "*"))
    managed = resource(dev, "aws:iam/policy:Policy", "wide-managed", {"policy": wide})
    role = resource(
        dev,
        "aws:iam/role:Role",
        "wide-role",
        {
            "assumeRolePolicy": "{}",
            "inlinePolicies": [
                {"name": "ok", "policy": _document()},
                {"name": "wide", "policy": wide},
            ],
        },
    )
    messages = sorted(v.message for v in run(POLICY, adding(dev, managed, role)))
    assert len(messages) == 2
    assert messages[0].startswith("aws:iam/policy:Policy wide-managed: policy ")
    assert messages[1].startswith("aws:iam/role:Role wide-role: inlinePolicies[1].policy ")


def test_a_document_that_is_not_json_is_reported():
    assert wildcard_problems('{"Statement": [') == ["is not valid JSON (Expecting value)"]

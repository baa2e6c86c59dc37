"""The Bedrock workload as the program declares it (under the fake cloud): its worker may call
exactly its model and publish on exactly one field, its settings are checked, and its
asynchronous field checks the arguments before anything is queued."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.cloud.capture import Capture, CaptureError, capture, read_stack_file, stack_file
from workloads.bedrock.model_ids import ModelError, default_model_id, invoke_arns

HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"


@pytest.fixture(scope="module")
def stacks() -> dict[str, Capture]:
    return {name: capture(name) for name in ("dev", "prod")}


def worker_statements(stack: Capture) -> list[dict[str, Any]]:
    """Every statement any policy grants the bedrock worker's role."""
    (function,) = [
        f for f in stack.of_type("aws:lambda/function:Function") if f.name == "bedrock-worker"
    ]
    role = next(
        r for r in stack.of_type("aws:iam/role:Role") if r.outputs["arn"] == function.inputs["role"]
    )
    assert role.id is not None
    found = []
    for policy in stack.of_type("aws:iam/rolePolicy:RolePolicy"):
        if policy.inputs["role"] in (role.id, role.outputs["name"]):
            document = policy.inputs["policy"]
            assert isinstance(document, str), f"{policy.name}: policy is not resolved"
            found += json.loads(document)["Statement"]
    return found


@pytest.mark.parametrize(
    ("stack", "region", "geography", "routed"),
    [
        ("dev", "us-east-1", "us", ["us-east-1", "us-east-2", "us-west-2"]),
        (
            "prod",
            "eu-west-1",
            "eu",
            ["eu-central-1", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-3"],
        ),
    ],
)
def test_the_worker_may_invoke_exactly_its_models_profile_and_the_models_it_routes_to(
    stacks, stack, region, geography, routed
):
    (grant,) = [s for s in worker_statements(stacks[stack]) if "bedrock" in str(s["Action"])]

    assert grant["Action"] == "bedrock:InvokeModelWithResponseStream"
    assert grant["Resource"] == [
        f"arn:aws:bedrock:{region}:000000000000:inference-profile/{geography}.{HAIKU}",
        *(f"arn:aws:bedrock:{r}::foundation-model/{HAIKU}" for r in routed),
    ]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_worker_publishes_on_one_field_and_nothing_is_granted_on_star(stacks, stack):
    captured = stacks[stack]
    statements = worker_statements(captured)
    api_arn = captured.of_type("aws:appsync/graphQLApi:GraphQLApi")[0].outputs["arn"]
    (parameter,) = [
        p for p in captured.of_type("aws:ssm/parameter:Parameter") if p.name == "api-graphql-url"
    ]

    assert {
        "Effect": "Allow",
        "Action": "appsync:GraphQL",
        "Resource": f"{api_arn}/types/Mutation/fields/publishChunk",
    } in statements
    assert {
        "Effect": "Allow",
        "Action": "ssm:GetParameter",
        "Resource": parameter.outputs["arn"],
    } in statements
    resources = [
        r
        for s in statements
        for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    ]
    assert "*" not in resources
    assert not [r for r in resources if ":bedrock:" in r and "*" in r]
    assert not any(s["Action"] in ("appsync:*", "bedrock:*") for s in statements)


def test_the_worker_finds_the_api_through_a_parameter_not_an_environment_cycle(stacks):
    dev = stacks["dev"]
    (function,) = [
        f for f in dev.of_type("aws:lambda/function:Function") if f.name == "bedrock-worker"
    ]
    (parameter,) = [
        p for p in dev.of_type("aws:ssm/parameter:Parameter") if p.name == "api-graphql-url"
    ]
    environment = function.inputs["environment"]["variables"]

    assert (
        environment["GRAPHQL_URL_PARAMETER"]
        == parameter.inputs["name"]
        == "/ackflow/dev/graphql-url"
    )
    api = dev.of_type("aws:appsync/graphQLApi:GraphQLApi")[0]
    assert parameter.inputs["value"] == api.outputs["uris"]["GRAPHQL"]


def test_the_invoke_config_retries_a_failed_stream(stacks):
    (config,) = [
        c
        for c in stacks["dev"].of_type(
            "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
        )
        if c.name == "bedrock-worker"
    ]

    assert config.inputs["maximumRetryAttempts"] == 2
    assert config.inputs["maximumEventAgeInSeconds"] == 3600
    assert config.inputs["destinationConfig"]["onFailure"]["destination"].startswith("arn:aws:sqs:")


def test_start_streams_resolver_checks_the_arguments_with_the_stacks_limits(stacks):
    (resolver,) = [
        r
        for r in stacks["dev"].of_type("aws:appsync/resolver:Resolver")
        if r.inputs["field"] == "startStream"
    ]
    rules_line = next(
        line for line in resolver.inputs["code"].splitlines() if line.startswith("const RULES = ")
    )
    rules = json.loads(rules_line.removeprefix("const RULES = ").removesuffix(";"))

    assert rules["prompt"] == {"minLength": 1, "maxLength": 20000, "pattern": r"[\s\S]*\S[\s\S]*"}
    assert rules["streamId"] == {"pattern": "[A-Za-z0-9_-]{16,128}"}
    assert rules["maxTokens"] == {"minimum": 1, "maximum": 1024}


def test_a_model_id_the_role_cannot_be_scoped_to_stops_the_program_naming_the_key():
    config = read_stack_file(stack_file("dev"))
    config["ackflow:workloads"]["bedrock"]["modelId"] = f"global.{HAIKU}"

    with pytest.raises(CaptureError, match=r"ackflow:workloads\.bedrock\.modelId"):
        capture("dev", config)


def test_model_ids_map_to_the_arns_iam_needs():
    assert invoke_arns("anthropic.claude-3-haiku-20240307-v1:0", "eu-west-1", "1") == [
        "arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    ]
    profile = f"arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.{HAIKU}"
    assert invoke_arns(profile, "eu-west-1", "1")[0] == profile
    assert default_model_id("ap-southeast-2") == f"apac.{HAIKU}"
    with pytest.raises(ModelError, match="set modelId"):
        default_model_id("sa-east-1")
    with pytest.raises(ModelError, match="not a Bedrock model id"):
        invoke_arns("claude", "us-east-1", "1")

"""components.graphql_front: the AppSync resources a GraphQLFront declares, under the fake cloud."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.api_args import ApiTarget, AsyncResolverApiArgs, GraphQLOperation
from components.graphql_front import GraphQLFront, api_key_expiry, resolver_code
from local.cloud.capture import Capture, evaluate
from local.cloud.fake_cloud import RecordedResource

REGION = "eu-west-1"
ACCOUNT = "000000000000"
SQUARING = (Path(__file__).parents[2] / "workloads" / "squaring" / "schema.graphql").read_text()

API = "aws:appsync/graphQLApi:GraphQLApi"
API_KEY = "aws:appsync/apiKey:ApiKey"
DATA_SOURCE = "aws:appsync/dataSource:DataSource"
RESOLVER = "aws:appsync/resolver:Resolver"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


TARGETS = (
    ApiTarget(
        key="squaring-front",
        workload="squaring",
        function_name="squaring-front",
        function_arn=function_arn("squaring-front"),
        invoke_arn=f"arn:aws:apigateway:{REGION}:lambda:path/functions/squaring-front",
        role_name="squaring-front-role",
    ),
    ApiTarget(
        key="squaring-worker",
        workload="squaring",
        function_name="squaring-worker",
        function_arn=function_arn("squaring-worker"),
        invoke_arn=f"arn:aws:apigateway:{REGION}:lambda:path/functions/squaring-worker",
        role_name="squaring-worker-role",
    ),
)
OPERATIONS = (
    GraphQLOperation(
        workload="squaring",
        type_name="Query",
        field_name="square",
        target="squaring-front",
        invocation="RequestResponse",
    ),
    GraphQLOperation(
        workload="squaring",
        type_name="Mutation",
        field_name="squareAsync",
        target="squaring-worker",
        invocation="Event",
    ),
)


def api_args(**overrides: Any) -> AsyncResolverApiArgs:
    settings: dict[str, Any] = {
        "targets": TARGETS,
        "schema_fragments": {"squaring": SQUARING},
        "graphql": OPERATIONS,
        "streaming_targets": ("squaring-worker",),
    }
    return AsyncResolverApiArgs(**{**settings, **overrides})


def declare(args: AsyncResolverApiArgs) -> Capture:
    """Evaluate a GraphQLFront named ``api`` under a throwaway parent component."""

    def program() -> None:
        parent = pulumi.ComponentResource("test:index:Parent", "parent")
        front = GraphQLFront(parent, "api", args)
        pulumi.export("graphqlUrl", front.graphql_url)
        pulumi.export("realtimeUrl", front.realtime_url)
        pulumi.export("apiKey", front.api_key)

    return evaluate(program, "test", {"aws:region": REGION})


@cache
def declared(auth: str) -> Capture:
    """One evaluation per auth mode, shared by the tests that only read it."""
    if auth == "apiKey":
        args = api_args(auth=auth, xray=True, field_log_level="ALL", log_retention_days=30)
    else:
        pool = f"{REGION}_AbC123" if auth == "cognito" else None
        args = api_args(auth=auth, cognito_user_pool_id=pool)
    return declare(args)


def only(capture: Capture, type_token: str) -> RecordedResource:
    (resource,) = capture.of_type(type_token)
    return resource


def statements(policy: RecordedResource) -> list[dict[str, Any]]:
    document = policy.inputs["policy"]
    assert isinstance(document, str), document
    return json.loads(document)["Statement"]


def policy_of(capture: Capture, role: RecordedResource) -> RecordedResource:
    (policy,) = [p for p in capture.of_type(ROLE_POLICY) if p.inputs["role"] == role.id]
    return policy


@pytest.mark.parametrize(
    ("auth", "default_mode", "extra_modes"),
    [
        ("apiKey", "API_KEY", ["AWS_IAM"]),
        ("iam", "AWS_IAM", []),
        ("cognito", "AMAZON_COGNITO_USER_POOLS", ["AWS_IAM"]),
    ],
)
def test_api_authentication_follows_auth_with_iam_as_the_extra_mode(
    auth, default_mode, extra_modes
):
    api = only(declared(auth), API)
    assert api.inputs["authenticationType"] == default_mode
    extra = api.inputs.get("additionalAuthenticationProviders") or []
    assert [p["authenticationType"] for p in extra] == extra_modes
    assert ("userPoolConfig" in api.inputs) == (auth == "cognito")


def test_cognito_api_allows_by_default_with_the_pool_and_the_stacks_region():
    api = only(declared("cognito"), API)
    assert api.inputs["userPoolConfig"] == {
        "defaultAction": "ALLOW",
        "userPoolId": f"{REGION}_AbC123",
        "awsRegion": REGION,
    }


@pytest.mark.parametrize("auth", ["apiKey", "iam", "cognito"])
def test_schema_is_the_merged_sdl_for_the_auth_mode(auth):
    schema = only(declared(auth), API).inputs["schema"]
    assert "squareAsync(number: String!, streamId: ID): Accepted" in schema
    assert "publishChunk(" in schema and "extend type" not in schema
    assert ("@aws_api_key" in schema) == (auth == "apiKey")


def test_api_key_exists_only_for_api_key_auth_and_expires_about_api_key_days_ahead():
    capture = declared("apiKey")
    key = only(capture, API_KEY)
    assert key.inputs["apiId"] == only(capture, API).id
    expires = datetime.fromisoformat(key.inputs["expires"].replace("Z", "+00:00"))
    ahead = expires - datetime.now(UTC)
    assert timedelta(days=29) < ahead <= timedelta(days=31)
    assert (expires.minute, expires.second) == (0, 0)
    assert capture.outputs["apiKey"] is not None
    assert capture.outputs["apiKey"].startswith("da2-")
    for auth in ("iam", "cognito"):
        assert declared(auth).of_type(API_KEY) == []
        assert declared(auth).outputs["apiKey"] is None


@pytest.mark.parametrize(
    ("days", "today", "expected"),
    [
        (30, date(2025, 1, 10), "2025-02-10T00:00:00Z"),
        (1, date(2025, 12, 31), "2026-01-02T00:00:00Z"),
        (365, date(2025, 1, 1), "2026-01-01T00:00:00Z"),
    ],
)
def test_api_key_expiry_is_midnight_utc_within_appsyncs_one_to_365_days(days, today, expected):
    assert api_key_expiry(days, today) == expected


def test_urls_are_the_apis_graphql_and_realtime_endpoints():
    capture = declared("apiKey")
    uris = only(capture, API).outputs["uris"]
    assert capture.outputs["graphqlUrl"] is not None
    assert capture.outputs["graphqlUrl"] == uris["GRAPHQL"]
    assert capture.outputs["realtimeUrl"] is not None
    assert capture.outputs["realtimeUrl"] == uris["REALTIME"]


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.key)
def test_each_target_gets_a_lambda_data_source_whose_role_invokes_only_that_function(target):
    capture = declared("apiKey")
    role = capture.named(ROLE, f"api-invoke-{target.key}")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "appsync.amazonaws.com"}]
    assert statements(policy_of(capture, role)) == [
        {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": target.function_arn}
    ]

    source = capture.named(DATA_SOURCE, f"api-invoke-{target.key}")
    assert source.inputs["type"] == "AWS_LAMBDA"
    assert source.inputs["apiId"] == only(capture, API).id
    assert source.inputs["lambdaConfig"] == {"functionArn": target.function_arn}
    assert role.outputs["arn"] is not None
    assert source.inputs["serviceRoleArn"] == role.outputs["arn"]
    assert source.inputs["name"].replace("_", "").isalnum()


def test_there_is_one_lambda_data_source_per_target_and_one_none_source():
    sources = declared("apiKey").of_type(DATA_SOURCE)
    assert sorted(s.inputs["type"] for s in sources) == ["AWS_LAMBDA", "AWS_LAMBDA", "NONE"]
    assert len({s.inputs["name"] for s in sources}) == 3


@pytest.mark.parametrize(
    ("type_name", "field", "source", "code_file"),
    [
        ("Query", "square", "api-invoke-squaring-front", "invoke_sync.js"),
        ("Mutation", "squareAsync", "api-invoke-squaring-worker", "invoke_async.js"),
        ("Mutation", "publishChunk", "api-none", "publish.js"),
        ("Subscription", "onChunk", "api-none", "subscribe.js"),
    ],
)
def test_each_field_has_an_appsync_js_unit_resolver_on_its_data_source(
    type_name, field, source, code_file
):
    capture = declared("iam")
    (resolver,) = [
        r
        for r in capture.of_type(RESOLVER)
        if (r.inputs["type"], r.inputs["field"]) == (type_name, field)
    ]
    assert resolver.inputs["runtime"] == {"name": "APPSYNC_JS", "runtimeVersion": "1.0.0"}
    assert resolver.inputs["kind"] == "UNIT"
    assert resolver.inputs["code"] == resolver_code(code_file)
    assert resolver.inputs["apiId"] == only(capture, API).id
    data_source = capture.named(DATA_SOURCE, source)
    assert resolver.inputs["dataSource"] == data_source.inputs["name"]
    if source == "api-none":
        assert data_source.inputs["type"] == "NONE"


def test_only_operations_and_the_stream_channel_get_resolvers():
    fields = {(r.inputs["type"], r.inputs["field"]) for r in declared("iam").of_type(RESOLVER)}
    assert fields == {
        ("Query", "square"),
        ("Mutation", "squareAsync"),
        ("Mutation", "publishChunk"),
        ("Subscription", "onChunk"),
    }


def test_streaming_targets_may_call_publish_chunk_and_read_the_url_parameter_and_nothing_else():
    capture = declared("apiKey")
    api = only(capture, API)
    (parameter,) = capture.of_type("aws:ssm/parameter:Parameter")
    assert api.outputs["arn"] is not None and parameter.outputs["arn"] is not None
    assert parameter.inputs["name"] == "/ackflow/test/graphql-url"
    assert parameter.inputs["value"] == api.outputs["uris"]["GRAPHQL"]
    grants = [p for p in capture.of_type(ROLE_POLICY) if p.name.startswith("api-publish-")]
    assert [g.inputs["role"] for g in grants] == ["squaring-worker-role"]
    assert statements(grants[0]) == [
        {
            "Effect": "Allow",
            "Action": "appsync:GraphQL",
            "Resource": f"{api.outputs['arn']}/types/Mutation/fields/publishChunk",
        },
        {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": parameter.outputs["arn"]},
    ]


def test_api_logs_go_to_its_own_log_group_through_an_appsync_role():
    capture = declared("apiKey")
    api = only(capture, API)
    log_group = only(capture, LOG_GROUP)
    assert log_group.inputs["name"] == f"/aws/appsync/apis/{api.id}"
    assert log_group.inputs["retentionInDays"] == 30
    role = capture.named(ROLE, "api-logs")
    assert api.inputs["logConfig"] == {
        "cloudwatchLogsRoleArn": role.outputs["arn"],
        "fieldLogLevel": "ALL",
    }
    assert log_group.outputs["arn"] is not None
    assert statements(policy_of(capture, role)) == [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group.outputs['arn']}:*",
        }
    ]


def test_xray_and_log_level_follow_the_args():
    assert only(declared("apiKey"), API).inputs["xrayEnabled"] is True
    iam_api = only(declared("iam"), API)
    assert iam_api.inputs["xrayEnabled"] is False
    assert iam_api.inputs["logConfig"]["fieldLogLevel"] == "ERROR"
    assert only(declared("iam"), LOG_GROUP).inputs["retentionInDays"] == 14


def test_every_resource_is_a_child_of_the_parent_and_modelled_by_the_fake_cloud():
    capture = declared("apiKey")
    (parent,) = capture.of_type("test:index:Parent")
    assert {r.urn for r in capture.children(parent)} == {
        r.urn for r in capture.resources if r is not parent
    }
    assert capture.unmodelled == set()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"auth": "cognito"}, "cognito_user_pool_id"),
        ({"api_key_days": 400}, "api_key_days must be between 1 and 365"),
        ({"log_retention_days": 10}, "log_retention_days must be one of"),
    ],
)
def test_settings_appsync_would_refuse_are_rejected_with_the_setting_named(overrides, message):
    with pytest.raises(ValueError, match=message):
        declare(api_args(**overrides))


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (
            GraphQLOperation(
                workload="squaring",
                type_name="Query",
                field_name="square",
                target="squaring-worker",
                invocation="Event",
            ),
            "must return Accepted",
        ),
        (
            GraphQLOperation(
                workload="squaring",
                type_name="Query",
                field_name="cube",
                target="squaring-worker",
                invocation="RequestResponse",
            ),
            "not a field of its schema fragment",
        ),
        (
            GraphQLOperation(
                workload="squaring",
                type_name="Query",
                field_name="square",
                target="nowhere",
                invocation="RequestResponse",
            ),
            "no API target 'nowhere'",
        ),
    ],
)
def test_operations_that_do_not_match_the_schema_or_targets_are_rejected(operation, message):
    with pytest.raises((ValueError, KeyError), match=message):
        declare(api_args(graphql=(operation,)))


def test_a_streaming_target_without_a_role_is_rejected():
    targets = (*TARGETS[:1], ApiTarget(**{**vars(TARGETS[1]), "role_name": None}))
    with pytest.raises(ValueError, match="streaming target 'squaring-worker' has no role_name"):
        declare(api_args(targets=targets))

"""components.schema: the base SDL plus workload fragments, merged for AppSync."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLNonNull,
    GraphQLObjectType,
    ObjectTypeDefinitionNode,
    parse,
    print_ast,
)

from components.schema import (
    PLACEHOLDER_FIELD,
    SchemaError,
    build_appsync_schema,
    merge_schema,
)

SQUARING = (Path(__file__).parents[2] / "workloads" / "squaring" / "schema.graphql").read_text()
MODES = ("apiKey", "iam", "cognito")


def directives_of(sdl: str, type_name: str, field_name: str | None = None) -> list[str]:
    """The applied directives, printed, of a type (or one of its fields) in ``sdl``."""
    (node,) = [
        d
        for d in parse(sdl).definitions
        if isinstance(d, ObjectTypeDefinitionNode) and d.name.value == type_name
    ]
    if field_name is not None:
        (node,) = [f for f in node.fields if f.name.value == field_name]
    return [print_ast(d) for d in node.directives or ()]


@pytest.mark.parametrize("auth", MODES)
def test_merged_squaring_schema_builds_with_its_fields_and_the_stream_channel(auth):
    schema = build_appsync_schema(merge_schema({"squaring": SQUARING}, auth))

    square = schema.query_type.fields["square"]
    assert str(square.type) == "SquareResult"
    assert str(square.args["number"].type) == "String!"
    square_async = schema.mutation_type.fields["squareAsync"]
    assert str(square_async.type) == "Accepted"
    assert str(square_async.args["streamId"].type) == "ID"
    publish = schema.mutation_type.fields["publishChunk"]
    assert str(publish.type) == "Chunk"
    assert {name: str(arg.type) for name, arg in publish.args.items()} == {
        "streamId": "ID!",
        "seq": "Int!",
        "attempt": "Int",
        "text": "String",
        "done": "Boolean!",
        "error": "String",
        "stopReason": "String",
        "usage": "AWSJSON",
    }
    on_chunk = schema.subscription_type.fields["onChunk"]
    assert str(on_chunk.type) == "Chunk"
    assert isinstance(on_chunk.args["streamId"].type, GraphQLNonNull)
    accepted = schema.get_type("Accepted")
    assert isinstance(accepted, GraphQLObjectType)
    assert {n: str(f.type) for n, f in accepted.fields.items()} == {
        "requestId": "ID!",
        "status": "String!",
        "streamId": "ID",
    }
    chunk = schema.get_type("Chunk")
    assert set(chunk.fields) == {
        "streamId",
        "seq",
        "attempt",
        "text",
        "done",
        "error",
        "stopReason",
        "usage",
    }


@pytest.mark.parametrize("auth", MODES)
def test_publish_chunk_is_iam_only_and_on_chunk_subscribes_to_it(auth):
    sdl = merge_schema({"squaring": SQUARING}, auth)
    assert directives_of(sdl, "Mutation", "publishChunk") == ["@aws_iam"]
    assert directives_of(sdl, "Subscription", "onChunk") == [
        '@aws_subscribe(mutations: ["publishChunk"])'
    ]
    assert "extend" not in sdl
    assert "schema {" in sdl


@pytest.mark.parametrize(
    ("auth", "readers"),
    [
        ("apiKey", ["@aws_api_key", "@aws_iam"]),
        ("iam", ["@aws_iam"]),
        ("cognito", ["@aws_cognito_user_pools", "@aws_iam"]),
    ],
)
def test_chunk_and_accepted_are_readable_by_the_default_mode_and_iam(auth, readers):
    sdl = merge_schema({"squaring": SQUARING}, auth)
    assert directives_of(sdl, "Chunk") == readers
    assert directives_of(sdl, "Accepted") == readers
    # Workload fields stay in the default mode: no directive added to them.
    assert directives_of(sdl, "Query", "square") == []
    assert directives_of(sdl, "Mutation", "squareAsync") == []


def test_iam_alone_names_no_api_key_or_cognito_anywhere():
    sdl = merge_schema({"squaring": SQUARING}, "iam")
    assert "@aws_api_key" not in sdl
    assert "@aws_cognito_user_pools" not in sdl


def test_api_key_mode_names_no_cognito_and_cognito_mode_names_no_api_key():
    assert "@aws_cognito_user_pools" not in merge_schema({"squaring": SQUARING}, "apiKey")
    assert "@aws_api_key" not in merge_schema({"squaring": SQUARING}, "cognito")


def test_two_workloads_adding_query_fields_both_appear_with_their_types():
    other = """
    type Greeting { text: String! }
    extend type Query { hello(name: String): Greeting }
    extend type Subscription { onHello: Greeting @aws_subscribe(mutations: ["squareAsync"]) }
    """
    schema = build_appsync_schema(merge_schema({"squaring": SQUARING, "greeter": other}, "apiKey"))
    assert set(schema.query_type.fields) == {"square", "hello"}
    assert str(schema.query_type.fields["hello"].type) == "Greeting"
    assert set(schema.subscription_type.fields) == {"onChunk", "onHello"}


def test_merging_is_independent_of_the_order_workloads_are_given_in():
    other = "extend type Query { hello: String }"
    assert merge_schema({"squaring": SQUARING, "greeter": other}, "apiKey") == merge_schema(
        {"greeter": other, "squaring": SQUARING}, "apiKey"
    )


def test_a_field_defined_by_two_workloads_names_both_and_the_field():
    with pytest.raises(SchemaError) as raised:
        merge_schema({"squaring": SQUARING, "cubing": "extend type Query { square: Int }"}, "iam")
    message = str(raised.value)
    assert "Query.square" in message
    assert "'squaring'" in message and "'cubing'" in message


def test_a_type_defined_by_two_workloads_names_both_and_the_type():
    clash = "type SquareResult { n: Int }\nextend type Query { other: SquareResult }"
    with pytest.raises(SchemaError, match=r"SquareResult.*'other'.*'squaring'"):
        merge_schema({"squaring": SQUARING, "other": clash}, "apiKey")


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("extend type Mutation { publishChunk(streamId: ID!): Chunk }", "Mutation.publishChunk"),
        ("type Chunk { n: Int }", "type Chunk"),
        ("scalar AWSJSON", "AppSync's prelude"),
        ("type Query { x: Int }", "type Query"),
    ],
)
def test_a_workload_cannot_redefine_what_the_base_or_appsync_defines(fragment, expected):
    with pytest.raises(SchemaError, match="'w'") as raised:
        merge_schema({"w": fragment}, "apiKey")
    assert expected in str(raised.value)


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("extend type Query {", "does not parse"),
        ("extend type Chunk { extra: Int }", "may only define types and extend"),
        ("extend type Query @aws_iam { x: Int }", "without directives"),
        ("extend type Query { x: Missing }", "Unknown type 'Missing'"),
        (
            'extend type Subscription { s: Chunk @aws_subscribe(mutations: ["nope"]) }',
            "Mutation.nope",
        ),
    ],
)
def test_bad_fragments_are_rejected_with_the_reason(fragment, expected):
    with pytest.raises(SchemaError) as raised:
        merge_schema({"w": fragment}, "apiKey")
    assert expected in str(raised.value)


def test_query_gets_a_placeholder_field_only_when_no_workload_adds_one():
    bare = build_appsync_schema(merge_schema({}, "iam"))
    assert set(bare.query_type.fields) == {PLACEHOLDER_FIELD}
    with_square = build_appsync_schema(merge_schema({"squaring": SQUARING}, "iam"))
    assert PLACEHOLDER_FIELD not in with_square.query_type.fields


def test_an_unknown_auth_mode_is_rejected():
    with pytest.raises(SchemaError, match="apiKey, iam, cognito"):
        merge_schema({}, "oidc")


def test_the_prelude_declares_every_appsync_scalar_and_directive():
    schema = build_appsync_schema("type Query { x: AWSDateTime }")
    for scalar in ("AWSDate", "AWSTime", "AWSDateTime", "AWSTimestamp", "AWSEmail", "AWSJSON"):
        assert schema.get_type(scalar) is not None
    for scalar in ("AWSURL", "AWSPhone", "AWSIPAddress"):
        assert schema.get_type(scalar) is not None
    directives = {d.name for d in schema.directives}
    assert {
        "aws_subscribe",
        "aws_api_key",
        "aws_iam",
        "aws_cognito_user_pools",
        "aws_oidc",
        "aws_lambda",
        "aws_auth",
    } <= directives

"""The AppSync schema: ackflow's base SDL plus each workload's fragment, merged at the AST level.

Workload fragments add root fields with ``extend type Query/Mutation/Subscription { ... }``
and may define their own types. Merging folds those extensions into the base definitions
and prints the document back with ``print_ast``, so applied directives (``@aws_iam``,
``@aws_subscribe``) survive and no ``extend type`` reaches AppSync.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard

from graphql import (
    DefinitionNode,
    DirectiveDefinitionNode,
    DocumentNode,
    FieldDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    TypeDefinitionNode,
    build_schema,
    parse,
    print_ast,
    validate_schema,
)

__all__ = [
    "APPSYNC_PRELUDE",
    "PLACEHOLDER_FIELD",
    "PUBLISH_FIELD",
    "SUBSCRIBE_FIELD",
    "SchemaError",
    "build_appsync_schema",
    "merge_schema",
]

PUBLISH_FIELD = "publishChunk"
SUBSCRIBE_FIELD = "onChunk"
PLACEHOLDER_FIELD = "_empty"
"""Added to Query only when no workload adds a Query field (GraphQL needs one); always null."""

APPSYNC_PRELUDE = """
scalar AWSDate
scalar AWSTime
scalar AWSDateTime
scalar AWSTimestamp
scalar AWSEmail
scalar AWSJSON
scalar AWSURL
scalar AWSPhone
scalar AWSIPAddress

directive @aws_subscribe(mutations: [String]) on FIELD_DEFINITION
directive @aws_api_key on OBJECT | FIELD_DEFINITION
directive @aws_iam on OBJECT | FIELD_DEFINITION
directive @aws_cognito_user_pools(cognito_groups: [String]) on OBJECT | FIELD_DEFINITION
directive @aws_oidc on OBJECT | FIELD_DEFINITION
directive @aws_lambda on OBJECT | FIELD_DEFINITION
directive @aws_auth(cognito_groups: [String]) on FIELD_DEFINITION
"""
"""What AppSync declares itself: its scalars and directives. Not part of the deployed SDL."""

_ROOTS = ("Query", "Mutation", "Subscription")

# The default mode's directive per ``auth``. With an additional mode (IAM) on a type, AppSync
# no longer implies the default one there: both must be named.
_DEFAULT_MODE = {"apiKey": "@aws_api_key", "iam": "@aws_iam", "cognito": "@aws_cognito_user_pools"}

# ``$readers``: the modes that may read a type both the publisher (IAM) and clients return.
_BASE = f'''
schema {{
  query: Query
  mutation: Mutation
  subscription: Subscription
}}

type Query

type Mutation {{
  "Publishes one chunk of a stream to its subscribers. Workers only (IAM)."
  {PUBLISH_FIELD}(
    streamId: ID!
    seq: Int!
    attempt: Int
    text: String
    done: Boolean!
    error: String
    stopReason: String
    usage: AWSJSON
  ): Chunk @aws_iam
}}

type Subscription {{
  "The chunks of one stream: subscribe first, then start the work with this streamId."
  {SUBSCRIBE_FIELD}(streamId: ID!): Chunk @aws_subscribe(mutations: ["{PUBLISH_FIELD}"])
}}

"The answer of an asynchronous operation: the work was queued, not done."
type Accepted $readers {{
  requestId: ID!
  status: String!
  streamId: ID
}}

"""One piece of a streamed result: seq counts from 0 within an attempt (a retried stream
starts a new attempt, at 0 again); the last chunk has done: true, and the stop reason and
usage, or the error that ended the stream."""
type Chunk $readers {{
  streamId: ID!
  seq: Int!
  attempt: Int
  text: String
  done: Boolean!
  error: String
  stopReason: String
  usage: AWSJSON
}}
'''

_BASE_OWNER = "ackflow's base schema"
_PRELUDE_OWNER = "AppSync's prelude"


class SchemaError(ValueError):
    """The workloads' fragments cannot be merged into one valid AppSync schema."""


def merge_schema(fragments: Mapping[str, str], auth: str) -> str:
    """The SDL to deploy: the base schema for ``auth`` plus every fragment (workload → SDL).

    Raises :class:`SchemaError` naming the workload(s) at fault: a fragment that does not
    parse, extends anything but a root type, or defines a type or root field that another
    workload (or the base) already defines; or a merged schema GraphQL rejects.
    """
    if auth not in _DEFAULT_MODE:
        raise SchemaError(f"auth must be one of {', '.join(_DEFAULT_MODE)}, got {auth!r}")
    readers = _DEFAULT_MODE[auth] if auth == "iam" else f"{_DEFAULT_MODE[auth]} @aws_iam"
    base = parse(_BASE.replace("$readers", readers)).definitions

    type_owner = {_key(d): _PRELUDE_OWNER for d in parse(APPSYNC_PRELUDE).definitions}
    field_owner: dict[tuple[str, str], str] = {}
    fields: dict[str, list[FieldDefinitionNode]] = {root: [] for root in _ROOTS}
    for definition in base:
        if isinstance(definition, TypeDefinitionNode):
            _claim(type_owner, _key(definition), _BASE_OWNER)
        if _is_root(definition):
            for field in definition.fields or ():
                _claim(field_owner, (definition.name.value, field.name.value), _BASE_OWNER)
                fields[definition.name.value].append(field)

    added: list[DefinitionNode] = []
    for workload in sorted(fragments):
        owner = f"workload {workload!r}"
        for definition in _parse_fragment(workload, fragments[workload]).definitions:
            if isinstance(definition, ObjectTypeExtensionNode) and _extends_root(definition):
                root = definition.name.value
                for field in definition.fields or ():
                    _claim(field_owner, (root, field.name.value), owner)
                    fields[root].append(field)
            elif isinstance(definition, TypeDefinitionNode | DirectiveDefinitionNode):
                _claim(type_owner, _key(definition), owner)
                added.append(definition)
            else:
                raise SchemaError(
                    f"{owner}: its fragment may only define types and extend "
                    f"{', '.join(_ROOTS)} (without directives), found {definition.kind}"
                )

    if not fields["Query"]:
        fields["Query"] = [_placeholder_field()]
    merged = [_with_fields(d, fields[d.name.value]) if _is_root(d) else d for d in base]
    sdl = print_ast(DocumentNode(definitions=(*merged, *added)))
    _check(sdl, sorted(fragments))
    return sdl


def build_appsync_schema(sdl: str) -> GraphQLSchema:
    """A graphql-core schema from AppSync SDL, with AppSync's scalars and directives declared."""
    return build_schema(APPSYNC_PRELUDE + "\n" + sdl)


def _parse_fragment(workload: str, sdl: str) -> DocumentNode:
    try:
        return parse(sdl)
    except GraphQLError as error:
        message = f"workload {workload!r}: its schema fragment does not parse: {error}"
        raise SchemaError(message) from None


def _is_root(definition: DefinitionNode) -> TypeGuard[ObjectTypeDefinitionNode]:
    return isinstance(definition, ObjectTypeDefinitionNode) and definition.name.value in _ROOTS


def _extends_root(extension: ObjectTypeExtensionNode) -> bool:
    return extension.name.value in _ROOTS and not extension.directives and not extension.interfaces


def _placeholder_field() -> FieldDefinitionNode:
    (query,) = parse(f"type Query {{ {PLACEHOLDER_FIELD}: String }}").definitions
    assert isinstance(query, ObjectTypeDefinitionNode) and query.fields
    return query.fields[0]


def _key(definition: TypeDefinitionNode | DirectiveDefinitionNode) -> str:
    name = definition.name.value
    return f"@{name}" if isinstance(definition, DirectiveDefinitionNode) else name


def _claim(owners: dict[Any, str], key: str | tuple[str, str], owner: str) -> None:
    """Record that ``owner`` defines ``key``; raise if someone else already does."""
    if key in owners:
        what = f"field {'.'.join(key)}" if isinstance(key, tuple) else f"type {key}"
        raise SchemaError(f"{what} is defined by both {owners[key]} and {owner}")
    owners[key] = owner


def _with_fields(
    root: ObjectTypeDefinitionNode, fields: list[FieldDefinitionNode]
) -> ObjectTypeDefinitionNode:
    return ObjectTypeDefinitionNode(
        name=root.name,
        description=root.description,
        interfaces=root.interfaces,
        directives=root.directives,
        fields=tuple(fields),
    )


def _check(sdl: str, workloads: list[str]) -> None:
    """Build the merged schema as AppSync would and check its subscriptions' mutations exist."""
    blame = f" (workloads: {', '.join(workloads)})" if workloads else ""
    try:
        schema = build_appsync_schema(sdl)
    except (GraphQLError, TypeError) as error:
        raise SchemaError(f"the merged schema is invalid{blame}: {error}") from None
    if errors := validate_schema(schema):
        raise SchemaError(f"the merged schema is invalid{blame}: {errors[0].message}")
    mutations = schema.mutation_type.fields if schema.mutation_type else {}
    subscriptions = schema.subscription_type.fields if schema.subscription_type else {}
    for name, field in subscriptions.items():
        for directive in field.ast_node.directives if field.ast_node else ():
            if directive.name.value != "aws_subscribe":
                continue
            for argument in directive.arguments:
                for value in getattr(argument.value, "values", ()):
                    if value.value not in mutations:
                        raise SchemaError(
                            f"Subscription.{name} subscribes to Mutation.{value.value}, "
                            f"which no workload defines{blame}"
                        )

"""Which authorization modes may use each field, from the schema's ``@aws_*`` directives.

AppSync's rules: a field's own directives decide; without any, its type's directives do; with
none on either, only the API's default mode may use it. ``@aws_cognito_user_pools`` (and
``@aws_auth``) may name the user-pool groups that are allowed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLObjectType, GraphQLSchema
from graphql.language import DirectiveNode, ListValueNode, StringValueNode

from local.appsync.auth import Caller
from local.appsync.model import API_KEY, AWS_IAM, COGNITO, LAMBDA_AUTHORIZER, OIDC

__all__ = ["FieldAccess", "field_access"]

_MODES = {
    "aws_api_key": API_KEY,
    "aws_iam": AWS_IAM,
    "aws_cognito_user_pools": COGNITO,
    "aws_auth": COGNITO,
    "aws_oidc": OIDC,
    "aws_lambda": LAMBDA_AUTHORIZER,
}


@dataclass(frozen=True)
class FieldAccess:
    """The modes allowed on one field, and the Cognito groups when they are restricted."""

    modes: frozenset[str]
    cognito_groups: frozenset[str] | None = None

    def allows(self, caller: Caller) -> bool:
        if caller.mode not in self.modes:
            return False
        if caller.mode == COGNITO and self.cognito_groups is not None:
            return bool(self.cognito_groups.intersection(caller.groups))
        return True


def field_access(schema: GraphQLSchema, default_mode: str) -> dict[tuple[str, str], FieldAccess]:
    """``(type, field)`` → who may use it, for every field of every object type."""
    access = {}
    for type_name, graphql_type in schema.type_map.items():
        if not isinstance(graphql_type, GraphQLObjectType) or type_name.startswith("__"):
            continue
        type_rule = _rule(_directives(graphql_type.ast_node))
        for field_name, graphql_field in graphql_type.fields.items():
            field_rule = _rule(_directives(graphql_field.ast_node))
            access[(type_name, field_name)] = (
                field_rule or type_rule or FieldAccess(frozenset({default_mode}))
            )
    return access


def _directives(node: Any) -> Iterable[DirectiveNode]:
    return (getattr(node, "directives", None) or ()) if node is not None else ()


def _rule(directives: Iterable[DirectiveNode]) -> FieldAccess | None:
    modes = set()
    groups: set[str] | None = None
    for directive in directives:
        mode = _MODES.get(directive.name.value)
        if mode is None:
            continue
        modes.add(mode)
        for argument in directive.arguments or ():
            if argument.name.value == "cognito_groups" and isinstance(
                argument.value, ListValueNode
            ):
                groups = (groups or set()) | {
                    v.value for v in argument.value.values if isinstance(v, StringValueNode)
                }
    if not modes:
        return None
    return FieldAccess(frozenset(modes), frozenset(groups) if groups is not None else None)

"""Parsing and validating a GraphQL document as AppSync reports it.

AppSync runs on graphql-java, so its errors read ``Validation error of type FieldUndefined:
Field 'x' in type 'Query' is undefined @ 'x'``: graphql-java's error type, its wording, and the
field path where the error sits. graphql-core does the checking here, rule by rule, so each
error is known by the rule that found it and worded the way AppSync words it. The API's query
depth and resolver count limits are checked too.

AppSync documented (in 2020) HTTP 200 for validation errors; this runtime answers them 400, as
the GraphQL-over-HTTP spec asks, so that every malformed request is a 4xx at the edge.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    Node,
    OperationDefinitionNode,
    parse,
    specified_rules,
    validate,
)
from graphql.language import ast as nodes
from graphql.language.visitor import Visitor, visit
from graphql.validation import ASTValidationRule

from local.appsync.errors import graphql_error
from local.appsync.selections import collect_fields, subfields

__all__ = ["DocumentError", "parse_document"]

VALIDATION_ERROR = "ValidationError"
INVALID_SYNTAX = "InvalidSyntax"
DEFAULT_RESOLVER_COUNT_LIMIT = 10_000
"""AppSync's limit when the API sets none (``resolverCountLimit`` 0)."""

# graphql-core's rules, by the graphql-java ValidationErrorType AppSync reports.
_ERROR_TYPES = {
    "ExecutableDefinitionsRule": "NonExecutableDefinition",
    "UniqueOperationNamesRule": "DuplicateOperationName",
    "LoneAnonymousOperationRule": "LoneAnonymousOperationViolation",
    "SingleFieldSubscriptionsRule": "SubscriptionMultipleRootFields",
    "KnownTypeNamesRule": "UnknownType",
    "FragmentsOnCompositeTypesRule": "InlineFragmentTypeConditionInvalid",
    "VariablesAreInputTypesRule": "NonInputTypeOnVariable",
    "ScalarLeafsRule": "SubSelectionRequired",
    "FieldsOnCorrectTypeRule": "FieldUndefined",
    "UniqueFragmentNamesRule": "DuplicateFragmentName",
    "KnownFragmentNamesRule": "UndefinedFragment",
    "NoUnusedFragmentsRule": "UnusedFragment",
    "PossibleFragmentSpreadsRule": "InvalidFragmentType",
    "NoFragmentCyclesRule": "FragmentCycle",
    "UniqueVariableNamesRule": "DuplicateVariableName",
    "NoUndefinedVariablesRule": "UndefinedVariable",
    "NoUnusedVariablesRule": "UnusedVariable",
    "KnownDirectivesRule": "UnknownDirective",
    "UniqueDirectivesPerLocationRule": "DuplicateDirectiveName",
    "KnownArgumentNamesRule": "UnknownArgument",
    "UniqueArgumentNamesRule": "DuplicateArgumentNames",
    "ValuesOfCorrectTypeRule": "WrongType",
    "ProvidedRequiredArgumentsRule": "MissingFieldArgument",
    "VariablesInAllowedPositionRule": "VariableTypeMismatch",
    "OverlappingFieldsCanBeMergedRule": "FieldsConflict",
    "UniqueInputFieldNamesRule": "DuplicateInputField",
}


def _tagged(rule: type[ASTValidationRule]) -> type[ASTValidationRule]:
    """``rule``, marking each error it reports with its name, so that all the rules can run
    in one pass over the document (a pass per rule made a 20,000-alias flood take 25 s)."""

    def report_error(self: ASTValidationRule, error: GraphQLError) -> None:
        setattr(error, _RULE_ATTRIBUTE, rule.__name__)
        rule.report_error(self, error)

    return type(rule.__name__, (rule,), {"report_error": report_error})


_RULE_ATTRIBUTE = "ackflow_validation_rule"
_TAGGED_RULES = [_tagged(rule) for rule in specified_rules]
_RULE_ORDER = {rule.__name__: index for index, rule in enumerate(specified_rules)}


def _rule_of(error: GraphQLError) -> str:
    """The rule that reported ``error`` (none for the error that aborts a long list)."""
    return getattr(error, _RULE_ATTRIBUTE, "")


class DocumentError(Exception):
    """The document does not parse or validate: AppSync's ``errors`` for a 400 answer."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "invalid document")
        self.errors = errors


def parse_document(
    schema: GraphQLSchema,
    query: str,
    *,
    depth_limit: int = 0,
    resolver_count_limit: int = 0,
    has_resolver: Callable[[str, str], bool] = lambda _type, _field: False,
) -> DocumentNode:
    """The parsed document, or :class:`DocumentError` with every error AppSync would give."""
    try:
        document = parse(query)
    except GraphQLSyntaxError as error:
        raise DocumentError([_syntax_error(query, error)]) from None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    # Before validation, which costs seconds for a flood of aliases that this refuses at once.
    _check_resolver_count(schema, document, fragments, resolver_count_limit, has_resolver)
    found = validate(schema, document, _TAGGED_RULES)
    if found:
        paths, arguments = _field_paths(document)
        # Grouped by rule, in the order graphql-core lists its rules (as one pass per rule did).
        found.sort(key=lambda error: _RULE_ORDER.get(_rule_of(error), len(_RULE_ORDER)))
        errors = [_validation_error(_rule_of(error), error, paths, arguments) for error in found]
        raise DocumentError(errors)
    _check_depth(document, fragments, depth_limit)
    return document


def _syntax_error(query: str, error: GraphQLSyntaxError) -> dict[str, Any]:
    location = (error.locations or [None])[0]
    line, column = (location.line, location.column) if location else (1, 1)
    token = _token_at(query, error.positions[0] if error.positions else len(query))
    return graphql_error(
        f"Invalid Syntax : offending token '{token}' at line {line} column {column}",
        error_type=INVALID_SYNTAX,
        locations=[(line, column)],
    )


def _token_at(query: str, position: int) -> str:
    rest = query[position:].lstrip()
    if not rest:
        return "<EOF>"
    if rest[0].isalnum() or rest[0] == "_":
        return "".join(_takewhile(lambda c: c.isalnum() or c == "_", rest))
    return rest[0]


def _takewhile(keep: Callable[[str], bool], text: str) -> Iterator[str]:
    for character in text:
        if not keep(character):
            return
        yield character


def _validation_error(
    rule: str, error: GraphQLError, paths: dict[int, str], arguments: dict[int, str]
) -> dict[str, Any]:
    error_type = _ERROR_TYPES.get(rule, "ValidationError")
    node = (error.nodes or [None])[0]
    if rule == "ScalarLeafsRule" and "must not have a selection" in error.message:
        error_type = "SubSelectionNotAllowed"
    detail = _detail(error_type, error, node, arguments.get(id(node)) if node else None)
    where = paths.get(id(node)) if node is not None else None
    message = f"Validation error of type {error_type}: {detail}"
    if where:
        message += f" @ '{where}'"
    locations = [(loc.line, loc.column) for loc in error.locations or ()]
    return graphql_error(message, error_type=VALIDATION_ERROR, locations=locations)


def _detail(error_type: str, error: GraphQLError, node: Node | None, argument: str | None) -> str:
    """graphql-java's wording for the errors clients meet most; graphql-core's for the rest."""
    message = error.message.rstrip(".")
    if error_type == "FieldUndefined" and isinstance(node, FieldNode):
        parent = message.split(" on type ")[-1].split(" ")[0].strip("'\"")
        return f"Field '{node.name.value}' in type '{parent}' is undefined"
    if error_type == "WrongType" and isinstance(node, nodes.ValueNode) and argument:
        return (
            f"argument '{argument}' with value '{_java_value(node)}' is not a valid "
            f"'{_expected_type(message)}'"
        )
    if error_type == "MissingFieldArgument":
        quoted = re.findall(r"\((\w+):\)", message)
    else:
        quoted = [name.lstrip("$") for name in re.findall(r"'([^']*)'", message)]
    template = _TEMPLATES.get(error_type)
    if template and len(quoted) >= template[0]:
        return template[1].format(*quoted)
    return message


# graphql-java's wording, filled from the names graphql-core's message quotes: (how many
# names it must quote, the template).
_TEMPLATES = {
    "MissingFieldArgument": (1, "Missing field argument {0}"),
    "UnknownArgument": (1, "Unknown field argument {0}"),
    "UndefinedVariable": (1, "Undefined variable {0}"),
    "UnusedVariable": (1, "Unused variable {0}"),
    "UnknownType": (1, "Unknown type {0}"),
    "SubSelectionRequired": (2, "Sub selection required for type {1} of field {0}"),
    "SubSelectionNotAllowed": (2, "Sub selection not allowed on leaf type {1} of field {0}"),
    "VariableTypeMismatch": (3, "Variable type '{1}' doesn't match expected type '{2}'"),
}


def _expected_type(message: str) -> str:
    """The type a graphql-core ``ValuesOfCorrectTypeRule`` message names."""
    if message.startswith("Expected value of type"):
        return message.split("'")[1] if "'" in message else message.split('"')[1]
    return message.split(" cannot represent")[0]


def _java_value(node: nodes.ValueNode) -> str:
    """A value literal as graphql-java prints it (``IntValue{value=12}``)."""
    if isinstance(node, nodes.IntValueNode):
        return f"IntValue{{value={node.value}}}"
    if isinstance(node, nodes.FloatValueNode):
        return f"FloatValue{{value={node.value}}}"
    if isinstance(node, nodes.StringValueNode):
        return f"StringValue{{value='{node.value}'}}"
    if isinstance(node, nodes.BooleanValueNode):
        return f"BooleanValue{{value={str(node.value).lower()}}}"
    if isinstance(node, nodes.EnumValueNode):
        return f"EnumValue{{name='{node.value}'}}"
    if isinstance(node, nodes.NullValueNode):
        return "NullValue{}"
    if isinstance(node, nodes.VariableNode):
        return f"VariableReference{{name='{node.name.value}'}}"
    if isinstance(node, nodes.ListValueNode):
        return f"ArrayValue{{values=[{', '.join(_java_value(v) for v in node.values)}]}}"
    if isinstance(node, nodes.ObjectValueNode):
        fields = ", ".join(
            f"ObjectField{{name='{f.name.value}', value={_java_value(f.value)}}}"
            for f in node.fields
        )
        return f"ObjectValue{{objectFields=[{fields}]}}"
    return node.kind


def _field_paths(document: DocumentNode) -> tuple[dict[int, str], dict[int, str]]:
    """For every node inside a field (the field itself, its arguments and values), the field's
    path in the document (``square``, ``onChunk/text``); and for every value inside an
    argument, the argument's name. Keyed by node id."""
    paths: dict[int, str] = {}
    arguments: dict[int, str] = {}

    class Paths(Visitor):
        def __init__(self) -> None:
            super().__init__()
            self.fields: list[str] = []
            self.argument: str | None = None

        def enter(self, node: Node, *_args: Any) -> None:
            if isinstance(node, FragmentDefinitionNode | OperationDefinitionNode):
                self.fields = []
            if isinstance(node, FieldNode):
                self.fields.append(node.name.value)
            if isinstance(node, nodes.ArgumentNode):
                self.argument = node.name.value
            elif self.argument and isinstance(node, nodes.ValueNode):
                arguments[id(node)] = self.argument
            if self.fields:
                paths[id(node)] = "/".join(self.fields)

        def leave(self, node: Node, *_args: Any) -> None:
            if isinstance(node, FieldNode):
                self.fields.pop()
            if isinstance(node, nodes.ArgumentNode):
                self.argument = None

    visit(document, Paths())
    return paths, arguments


def _check_resolver_count(
    schema: GraphQLSchema,
    document: DocumentNode,
    fragments: dict[str, FragmentDefinitionNode],
    resolver_count_limit: int,
    has_resolver: Callable[[str, str], bool],
) -> None:
    limit = resolver_count_limit or DEFAULT_RESOLVER_COUNT_LIMIT
    for operation in _operations(document):
        root = schema.get_root_type(operation.operation)
        selected = collect_fields([operation.selection_set], fragments)
        try:
            count = _resolver_count(
                schema, root.name if root else "", selected, fragments, has_resolver
            )
        except RecursionError:  # fragments nested too deep for Python: validation refuses them
            continue
        if count > limit:
            # AppSync documents the limit (10,000 unless the API sets one), not its wording.
            raise DocumentError(
                [
                    graphql_error(
                        f"The query would invoke {count} resolvers, over the limit of {limit}.",
                        error_type="ResolverCountLimitExceeded",
                    )
                ]
            )


def _check_depth(
    document: DocumentNode, fragments: dict[str, FragmentDefinitionNode], depth_limit: int
) -> None:
    if not depth_limit:
        return
    for operation in _operations(document):
        depth = _depth(collect_fields([operation.selection_set], fragments), fragments)
        if depth > depth_limit:
            # AppSync's wording for this limit is not documented (unconfirmed).
            raise DocumentError(
                [
                    graphql_error(
                        f"Query depth {depth} exceeds the maximum allowed depth of {depth_limit}.",
                        error_type="QueryDepthLimitExceeded",
                    )
                ]
            )


def _operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def _depth(
    selected: dict[str, list[FieldNode]], fragments: dict[str, FragmentDefinitionNode]
) -> int:
    """How deep the selections nest (validation bounded how deep fragments may nest)."""
    deepest = 0
    for group in selected.values():
        if not group[0].name.value.startswith("__"):
            deepest = max(deepest, 1 + _depth(subfields(group, fragments), fragments))
    return deepest


def _resolver_count(
    schema: GraphQLSchema,
    type_name: str,
    selected: dict[str, list[FieldNode]],
    fragments: dict[str, FragmentDefinitionNode],
    has_resolver: Callable[[str, str], bool],
) -> int:
    """Resolvers the document invokes: one per response name (each alias counts) whose field
    has a resolver, at every level."""
    parent = schema.get_type(type_name)
    fields = getattr(parent, "fields", {}) or {}
    count = 0
    for group in selected.values():
        definition = fields.get(group[0].name.value)
        if definition is None:
            continue
        count += has_resolver(type_name, group[0].name.value)
        inner = definition.type
        while hasattr(inner, "of_type"):
            inner = inner.of_type
        count += _resolver_count(
            schema, inner.name, subfields(group, fragments), fragments, has_resolver
        )
    return count

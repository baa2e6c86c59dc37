"""Executing GraphQL operations against one API as AppSync does.

graphql-core runs the operation against the deployed schema; every field goes through
:meth:`Executor._resolve_field`, which checks the caller may use the field (directives, and
IAM policies on top-level fields), then runs the field's resolver, or reads the field from its
parent's value when it has none (AppSync's default). The answer is AppSync's: ``data`` and
``errors`` in its shape. A mutation named by an ``@aws_subscribe`` is published, as the caller
received it, to the subscription hub; a subscription is checked and its resolver run here,
then registered with the hub by the real-time endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from inspect import isawaitable
from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    default_field_resolver,
    execute,
    get_operation_ast,
    print_ast,
)
from graphql.execution.values import get_argument_values, get_variable_values

from local.appsync.directives import field_access
from local.appsync.errors import (
    BAD_REQUEST,
    EXECUTION_TIMEOUT,
    OPERATION_NOT_SUPPORTED,
    AppSyncRequestError,
    FieldError,
    graphql_error,
    unauthorized_field,
)
from local.appsync.filters import FilterError, check_filter
from local.appsync.resolvers import Effects, ResolverRunner
from local.appsync.selections import collect_fields, subfields
from local.appsync.validation import VALIDATION_ERROR, DocumentError, parse_document

if TYPE_CHECKING:
    from local.appsync.auth import Authenticator, Caller
    from local.appsync.model import GraphQLApi
    from local.appsync.subscriptions import SubscriptionHub

__all__ = ["EXECUTION_SECONDS", "Executor", "GraphQLRequest", "SubscriptionRequest"]

log = logging.getLogger(__name__)

EXECUTION_SECONDS = 30.0
"""AppSync's hard limit on a request's execution time."""
DOCUMENT_CACHE = 512
"""Checked documents kept, by query text, oldest out first (a refused one is not kept)."""

_NON_NULL = re.compile(r"^Cannot return null for non-nullable field (\w+)\.(\w+)\.$")
_BAD_VARIABLE = re.compile(
    r"""^Variable ['"]\$(\w+)['"] (?:got invalid value .*?; |has invalid value: )?(.*)$""",
    re.DOTALL,
)


@dataclass(frozen=True)
class GraphQLRequest:
    """A request's ``query``, ``variables`` and ``operationName``."""

    query: str
    variables: Mapping[str, Any] | None = None
    operation_name: str | None = None


@dataclass(frozen=True)
class SubscriptionRequest:
    """A checked subscription, ready for the hub: what to match and how to render events."""

    field_name: str
    arguments: dict[str, Any]
    document: DocumentNode
    operation_name: str | None
    variables: Mapping[str, Any]
    filter_groups: list[list[dict[str, Any]]] | None
    invalidation_groups: list[list[dict[str, Any]]] | None


@dataclass
class _Request:
    """One operation's state, shared by its field resolutions (graphql-core's context)."""

    caller: Caller
    variables: Mapping[str, Any]
    fragments: Mapping[str, FragmentDefinitionNode]
    effects: Effects = field(default_factory=Effects)


class Executor:
    """Runs queries and mutations, and checks subscriptions, for one API."""

    def __init__(
        self,
        api: GraphQLApi,
        authenticator: Authenticator,
        resolvers: ResolverRunner,
        hub: SubscriptionHub,
        *,
        timeout_seconds: float = EXECUTION_SECONDS,
    ) -> None:
        self.api = api
        self._authenticator = authenticator
        self._resolvers = resolvers
        self._hub = hub
        self._timeout = timeout_seconds
        self._access = field_access(api.schema, api.default_auth.mode)
        self._documents: dict[str, DocumentNode] = {}
        self._roots = {
            root.name
            for root in (
                api.schema.query_type,
                api.schema.mutation_type,
                api.schema.subscription_type,
            )
            if root is not None
        }

    # -- queries and mutations ---------------------------------------------------------------

    async def execute(self, request: GraphQLRequest, caller: Caller) -> dict[str, Any]:
        """AppSync's answer to a query or mutation; raises :class:`DocumentError` (400) for a
        document that does not parse or validate, :class:`AppSyncRequestError` for one that
        cannot run over HTTP."""
        document = await self._document(request.query)
        operation = self._operation(document, request.operation_name)
        if operation.operation == OperationType.SUBSCRIPTION:
            raise AppSyncRequestError(
                400,
                OPERATION_NOT_SUPPORTED,
                "Subscriptions are not supported over HTTP: use the real-time endpoint.",
            )
        self._variables(operation, request.variables or {})  # a bad value is a 400 here
        state = _Request(caller, request.variables or {}, _fragments(document))
        outcome = execute(
            self.api.schema,
            document,
            context_value=state,
            variable_values=dict(request.variables or {}),
            operation_name=request.operation_name,
            field_resolver=self._resolve_field,
        )
        try:
            result = (
                await asyncio.wait_for(outcome, self._timeout) if isawaitable(outcome) else outcome
            )
        except TimeoutError:
            return {
                "data": None,
                "errors": [graphql_error("Execution timed out.", error_type=EXECUTION_TIMEOUT)],
            }
        errors = [self._error(e) for e in result.errors or ()]
        errors += [
            graphql_error(
                e.get("message") or "",
                error_type=e.get("errorType"),
                path=path,
                data=e.get("data"),
                error_info=e.get("errorInfo"),
            )
            for path, e in state.effects.appended_errors
        ]
        if operation.operation == OperationType.MUTATION:
            self._publish(operation, state, result.data or {})
        answer: dict[str, Any] = {"data": result.data}
        if errors:
            answer["errors"] = errors
        return answer

    # -- subscriptions -----------------------------------------------------------------------

    async def subscribe(self, request: GraphQLRequest, caller: Caller) -> SubscriptionRequest:
        """Check a subscription and run its resolver; raises :class:`DocumentError` or
        :class:`FieldError` (the real-time endpoint answers both with an ``error``)."""
        document = await self._document(request.query)
        operation = self._operation(document, request.operation_name)
        if operation.operation != OperationType.SUBSCRIPTION:
            raise AppSyncRequestError(
                400,
                OPERATION_NOT_SUPPORTED,
                "Only subscriptions are supported over the real-time endpoint.",
            )
        subscription = self.api.schema.subscription_type
        assert subscription is not None  # validation found the field on it
        fragments = _fragments(document)
        (group,) = collect_fields([operation.selection_set], fragments).values()  # validated
        node = group[0]
        name = node.name.value
        variables = self._variables(operation, request.variables or {})
        arguments = get_argument_values(subscription.fields[name], node, variables)
        self._authorize(caller, subscription.name, name)
        effects = Effects()
        resolver = self.api.resolvers.get((subscription.name, name))
        if resolver is not None:
            ctx = self._ctx(
                None, name, subscription.name, arguments, caller, request.variables, node, fragments
            )
            await self._resolvers.resolve(resolver, ctx, effects, [name])
        try:
            filters = _checked(effects.subscription_filter)
            invalidation = _checked(effects.invalidation_filter)
        except FilterError as error:
            raise FieldError(str(error), "FilterValidationError") from None
        return SubscriptionRequest(
            field_name=name,
            arguments=arguments,
            document=document,
            operation_name=request.operation_name,
            variables=dict(request.variables or {}),
            filter_groups=filters,
            invalidation_groups=invalidation,
        )

    # -- fields ------------------------------------------------------------------------------

    def _resolve_field(self, source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        state: _Request = info.context
        type_name, field_name = info.parent_type.name, info.field_name
        self._authorize(state.caller, type_name, field_name)
        resolver = self.api.resolvers.get((type_name, field_name))
        if resolver is None:
            return default_field_resolver(source, info, **args)
        root = type_name in self._roots
        ctx = self._ctx(
            None if root else source,
            field_name,
            type_name,
            args,
            state.caller,
            state.variables,
            info.field_nodes[0],
            state.fragments,
        )
        return self._resolvers.resolve(resolver, ctx, state.effects, info.path.as_list())

    def _authorize(self, caller: Caller, type_name: str, field_name: str) -> None:
        access = self._access.get((type_name, field_name))
        allowed = access is None or access.allows(caller)
        if allowed and type_name in self._roots:
            allowed = self._authenticator.allows_iam(caller, type_name, field_name)
        if not allowed:
            raise unauthorized_field(field_name, type_name)

    def _ctx(
        self,
        source: Any,
        field_name: str,
        type_name: str,
        arguments: Mapping[str, Any],
        caller: Caller,
        variables: Mapping[str, Any] | None,
        node: FieldNode,
        fragments: Mapping[str, FragmentDefinitionNode],
    ) -> dict[str, Any]:
        """The ``ctx`` AppSync hands a resolver's handlers."""
        return {
            "arguments": dict(arguments),
            "args": dict(arguments),
            "identity": caller.identity,
            "source": source,
            "stash": {},
            "prev": None,
            "request": {"headers": dict(caller.headers), "domainName": None},
            "info": {
                "fieldName": field_name,
                "parentTypeName": type_name,
                "variables": dict(variables or {}),
                "selectionSetList": _selection_list(node.selection_set, fragments),
                "selectionSetGraphQL": print_ast(node.selection_set) if node.selection_set else "",
            },
        }

    # -- the steps around execution ----------------------------------------------------------

    async def _document(self, query: str) -> DocumentNode:
        """The parsed, validated document. The same query text is checked once (its AST is never
        changed; clients send the same few operations again and again); a new one is checked in
        a worker thread, as a large document takes seconds of CPU and the other requests must
        keep being served meanwhile."""
        document = self._documents.get(query)
        if document is None:
            document = await asyncio.to_thread(self._check_document, query)
            if len(self._documents) >= DOCUMENT_CACHE:
                self._documents.pop(next(iter(self._documents)))
            self._documents[query] = document
        return document

    def _check_document(self, query: str) -> DocumentNode:
        return parse_document(
            self.api.schema,
            query,
            depth_limit=self.api.query_depth_limit,
            resolver_count_limit=self.api.resolver_count_limit,
            has_resolver=lambda t, f: (t, f) in self.api.resolvers,
        )

    def _operation(self, document: DocumentNode, name: str | None) -> OperationDefinitionNode:
        operation = get_operation_ast(document, name)
        if operation is None:
            message = f"Unknown operation named '{name}'." if name else "Missing operation name."
            raise AppSyncRequestError(400, BAD_REQUEST, message)
        return operation

    def _variables(self, operation: OperationDefinitionNode, inputs: Mapping[str, Any]) -> Any:
        """The coerced variables, or a 400 with graphql-java's wording for a bad value."""
        if not isinstance(inputs, Mapping):
            raise DocumentError(
                [graphql_error("Variables must be a JSON object.", error_type=VALIDATION_ERROR)]
            )
        coerced = get_variable_values(
            self.api.schema, operation.variable_definitions or (), dict(inputs)
        )
        if isinstance(coerced, list):
            raise DocumentError([_variable_error(error) for error in coerced])
        return coerced

    def _publish(
        self, operation: OperationDefinitionNode, state: _Request, data: Mapping[str, Any]
    ) -> None:
        selected = collect_fields([operation.selection_set], state.fragments)
        for response_name, group in selected.items():
            value = data.get(response_name)
            if value is not None:
                self._hub.publish(group[0].name.value, value)
        for invalidation in state.effects.invalidations:
            self._hub.invalidate(
                str(invalidation.get("subscriptionField")), invalidation.get("payload") or {}
            )

    def _error(self, error: GraphQLError) -> dict[str, Any]:
        original = error.original_error
        locations = [(loc.line, loc.column) for loc in error.locations or ()]
        if isinstance(original, FieldError):
            return graphql_error(
                original.message,
                error_type=original.error_type,
                path=error.path,
                locations=locations,
                data=original.data,
                error_info=original.error_info,
            )
        if original is not None:
            log.exception("resolver failure at %s", error.path, exc_info=original)
        return graphql_error(
            self._non_null_message(error.message, error.path) or error.message,
            path=error.path,
            locations=locations,
        )

    def _non_null_message(self, message: str, path: list[str | int] | None) -> str | None:
        """graphql-java's wording of a non-null field that resolved to null."""
        match = _NON_NULL.match(message)
        parent = self.api.schema.get_type(match[1]) if match else None
        if not match or not isinstance(parent, GraphQLObjectType):
            return None
        field_type = parent.fields[match[2]].type
        inner = getattr(field_type, "of_type", field_type)
        where = "/".join(str(p) for p in path or ())
        return (
            f"Cannot return null for non-nullable type: '{inner}' within parent "
            f"'{match[1]}' (/{where})"
        )


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _selection_list(
    selection_set: SelectionSetNode | None, fragments: Mapping[str, FragmentDefinitionNode]
) -> list[str]:
    """AppSync's ``ctx.info.selectionSetList``: every selected field, nested as ``a/b``."""
    listed: dict[str, None] = {}

    def walk(selected: dict[str, list[FieldNode]], prefix: str) -> None:
        for group in selected.values():
            name = group[0].name.value
            if name.startswith("__"):
                continue
            listed.setdefault(f"{prefix}{name}")
            walk(subfields(group, fragments), f"{prefix}{name}/")

    walk(collect_fields([selection_set], fragments), "")
    return list(listed)


def _checked(document: dict[str, Any] | None) -> list[list[dict[str, Any]]] | None:
    return None if document is None else check_filter(document)


def _variable_error(error: GraphQLError) -> dict[str, Any]:
    match = _BAD_VARIABLE.match(error.message)
    message = f"Variable '{match[1]}' has an invalid value: {match[2]}" if match else error.message
    locations = [(loc.line, loc.column) for loc in error.locations or ()]
    return graphql_error(message, error_type=VALIDATION_ERROR, locations=locations)

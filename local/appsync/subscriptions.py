"""The subscription hub: who is subscribed to what, and the fan-out of published mutations.

A mutation named in a subscription field's ``@aws_subscribe(mutations: [...])`` is published
with the value its caller received. Each subscriber of that field gets it when the enhanced
filter its subscription resolver set passes, or, without one, when its arguments match the
value's top-level fields; what it gets is its own selection of the value (a field the
mutation did not select is null, as on AppSync). A message over 240 KB is dropped, as AppSync
drops it, but unlike AppSync the drop is logged with the field and the size.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from inspect import isawaitable
from typing import TYPE_CHECKING, Any, Protocol

from graphql import GraphQLResolveInfo, default_field_resolver, execute

from local.appsync.filters import arguments_match, filter_matches

if TYPE_CHECKING:
    from local.appsync.execution import SubscriptionRequest
    from local.appsync.model import GraphQLApi

__all__ = ["MAX_MESSAGE_BYTES", "Connection", "Subscription", "SubscriptionHub"]

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 240 * 1024
"""AppSync drops a subscription message larger than this, its envelope included."""


class Connection(Protocol):
    """Where a subscriber's messages go (a real-time WebSocket connection)."""

    def enqueue(self, message: str) -> None: ...


@dataclass(eq=False)
class Subscription:
    """One ``start`` of one connection."""

    id: str
    request: SubscriptionRequest
    connection: Connection


class SubscriptionHub:
    """The live subscriptions of one API."""

    def __init__(self, api: GraphQLApi) -> None:
        self._api = api
        self._subscribers_of = _subscribers_of(api)
        self._by_field: dict[str, list[Subscription]] = defaultdict(list)
        self.dropped = 0
        """Messages dropped for being over :data:`MAX_MESSAGE_BYTES` (AppSync's
        ``InboundMessageError`` count)."""

    def add(self, subscription: Subscription) -> None:
        self._by_field[subscription.request.field_name].append(subscription)

    def remove(self, subscription: Subscription) -> None:
        subscribers = self._by_field.get(subscription.request.field_name, [])
        if subscription in subscribers:
            subscribers.remove(subscription)

    def count(self) -> int:
        return sum(len(subscribers) for subscribers in self._by_field.values())

    def publish(self, mutation_field: str, value: Any) -> int:
        """Deliver ``value`` (a mutation's result) to its matching subscribers; returns how many
        got it."""
        delivered = 0
        for field_name in self._subscribers_of.get(mutation_field, ()):
            for subscription in list(self._by_field.get(field_name, ())):
                if self._matches(subscription.request, value):
                    delivered += self._send(subscription, value)
        return delivered

    def invalidate(self, field_name: str, payload: Mapping[str, Any]) -> int:
        """``extensions.invalidateSubscriptions``: end the subscriptions of ``field_name`` whose
        invalidation filter matches ``payload``; returns how many ended."""
        ended = 0
        for subscription in list(self._by_field.get(field_name, ())):
            groups = subscription.request.invalidation_groups
            if groups is not None and filter_matches(groups, payload):
                self.remove(subscription)
                # What the client receives is not documented; a `complete` ends it cleanly.
                subscription.connection.enqueue(
                    json.dumps({"type": "complete", "id": subscription.id})
                )
                ended += 1
        return ended

    def _matches(self, request: SubscriptionRequest, value: Any) -> bool:
        """An enhanced filter, when the resolver set one, decides alone (AWS's examples repeat
        the arguments inside it); else the arguments must match the value's fields."""
        event = value if isinstance(value, Mapping) else {}
        if request.filter_groups is not None:
            return filter_matches(request.filter_groups, event)
        return arguments_match(request.arguments, event)

    def _send(self, subscription: Subscription, value: Any) -> int:
        data = self._render(subscription.request, value)
        message = json.dumps(
            {"id": subscription.id, "type": "data", "payload": {"data": data}},
            separators=(",", ":"),
            ensure_ascii=False,
        )
        size = len(message.encode())
        if size > MAX_MESSAGE_BYTES:
            self.dropped += 1
            log.warning(
                "dropped a %s message of %d bytes (over AppSync's %d-byte limit): AppSync drops "
                "it silently and the subscriber never sees it",
                subscription.request.field_name,
                size,
                MAX_MESSAGE_BYTES,
            )
            return 0
        subscription.connection.enqueue(message)
        return 1

    def _render(self, request: SubscriptionRequest, event: Any) -> Any:
        """The subscriber's selection of the published value."""
        subscription_type = self._api.schema.subscription_type

        def from_event(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
            if info.parent_type is subscription_type:
                return event
            return default_field_resolver(source, info, **args)

        result = execute(
            self._api.schema,
            request.document,
            variable_values=dict(request.variables),
            operation_name=request.operation_name,
            field_resolver=from_event,
        )
        assert not isawaitable(result)
        return result.data


def _subscribers_of(api: GraphQLApi) -> dict[str, list[str]]:
    """Mutation field → the subscription fields whose ``@aws_subscribe`` names it."""
    subscription = api.schema.subscription_type
    found: dict[str, list[str]] = defaultdict(list)
    for name, definition in (subscription.fields if subscription else {}).items():
        for directive in getattr(definition.ast_node, "directives", None) or ():
            if directive.name.value != "aws_subscribe":
                continue
            for argument in directive.arguments or ():
                for value in getattr(argument.value, "values", None) or ():
                    found[value.value].append(name)
    return dict(found)

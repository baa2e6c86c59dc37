"""AsyncResolverApi: the GraphQL and REST fronts of a stack, acknowledging at once."""

from __future__ import annotations

import pulumi

from components.api_args import AsyncResolverApiArgs
from components.graphql_front import GraphQLFront
from components.rest_front import RestFront

__all__ = ["AsyncResolverApi"]


class AsyncResolverApi(pulumi.ComponentResource):
    """One per stack: an AppSync API for the GraphQL operations and the stream channel, and
    an API Gateway REST API for the HTTP routes (each made only when something uses it)."""

    graphql: GraphQLFront | None
    rest: RestFront | None

    def __init__(
        self, name: str, args: AsyncResolverApiArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ackflow:index:AsyncResolverApi", name, None, opts)
        wants_graphql = bool(args.graphql or args.streaming_targets)
        self.graphql = GraphQLFront(self, f"{name}-graphql", args) if wants_graphql else None
        self.rest = RestFront(self, f"{name}-rest", args) if args.routes else None
        self.register_outputs(
            {
                "graphqlUrl": self.graphql.graphql_url if self.graphql else None,
                "realtimeUrl": self.graphql.realtime_url if self.graphql else None,
                "apiKey": self.graphql.api_key if self.graphql else None,
                "restUrl": self.rest.url if self.rest else None,
            }
        )

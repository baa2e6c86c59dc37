"""The local AppSync: the GraphQL APIs of a stack (:func:`~local.appsync.model.appsync_model`),
each with its HTTP and real-time endpoints, resolvers in V8, authentication and subscription
hub."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from local.appsync.auth import Authenticator, CognitoPools
from local.appsync.execution import EXECUTION_SECONDS, Executor
from local.appsync.gateway import create_graphql_app
from local.appsync.model import GraphQLApi
from local.appsync.realtime import KEEP_ALIVE_SECONDS, RealtimeEndpoint
from local.appsync.resolvers import ResolverRunner
from local.appsync.subscriptions import SubscriptionHub

if TYPE_CHECKING:
    from aiohttp import web

    from local.iam.credentials import LocalCredentials
    from local.iam.policies import RolePolicies
    from local.lambda_.invocation import Invoker

__all__ = ["AppSyncService", "ServedApi"]


@dataclass
class ServedApi:
    """One API and the parts that serve it."""

    api: GraphQLApi
    executor: Executor
    hub: SubscriptionHub
    app: web.Application
    resolvers: ResolverRunner


class AppSyncService:
    """Serves the stack's GraphQL APIs; functions are invoked through ``invoker``."""

    def __init__(
        self,
        apis: list[GraphQLApi],
        invoker: Invoker,
        credentials: LocalCredentials,
        policies: RolePolicies,
        *,
        cognito: CognitoPools | None = None,
        timeout_seconds: float = EXECUTION_SECONDS,
        keep_alive_seconds: float = KEEP_ALIVE_SECONDS,
    ) -> None:
        self.apis: list[ServedApi] = []
        for api in apis:
            authenticator = Authenticator(api, credentials, policies, cognito)
            resolvers = ResolverRunner(api, invoker)
            hub = SubscriptionHub(api)
            executor = Executor(api, authenticator, resolvers, hub, timeout_seconds=timeout_seconds)
            realtime = RealtimeEndpoint(
                executor, authenticator, hub, keep_alive_seconds=keep_alive_seconds
            )
            app = create_graphql_app(executor, authenticator, realtime)
            self.apis.append(ServedApi(api, executor, hub, app, resolvers))

    def close(self) -> None:
        for served in self.apis:
            served.resolvers.close()

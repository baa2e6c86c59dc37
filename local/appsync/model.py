"""The GraphQL APIs a stack declares, rebuilt from the capture: what the local AppSync serves.

Resources are joined by the API id the fake cloud synthesized (``apiId`` on data sources,
resolvers, functions and keys) and by data source name. Nothing here knows HTTP: the model holds
the schema as deployed, who may call it, and what runs for each field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from graphql import GraphQLSchema

from components.schema import build_appsync_schema
from local.appsync.scalars import install_appsync_scalars

if TYPE_CHECKING:
    from local.cloud.capture import Capture
    from local.cloud.fake_cloud import RecordedResource

__all__ = [
    "API_KEY",
    "AWS_IAM",
    "COGNITO",
    "ApiKey",
    "AppSyncModelError",
    "AuthProvider",
    "DataSource",
    "GraphQLApi",
    "PipelineFunction",
    "Resolver",
    "appsync_model",
]

GRAPHQL_API = "aws:appsync/graphQLApi:GraphQLApi"
DATA_SOURCE = "aws:appsync/dataSource:DataSource"
RESOLVER = "aws:appsync/resolver:Resolver"
FUNCTION = "aws:appsync/function:Function"
API_KEY_RESOURCE = "aws:appsync/apiKey:ApiKey"

API_KEY = "API_KEY"
AWS_IAM = "AWS_IAM"
COGNITO = "AMAZON_COGNITO_USER_POOLS"
OIDC = "OPENID_CONNECT"
LAMBDA_AUTHORIZER = "AWS_LAMBDA"
APPSYNC_JS = "APPSYNC_JS"


class AppSyncModelError(Exception):
    """The captured API cannot be served (a resolver names a missing data source, VTL, …)."""


@dataclass(frozen=True)
class AuthProvider:
    """One authorization mode of the API, with the user pool it trusts when it is Cognito's."""

    mode: str
    user_pool_id: str | None = None
    user_pool_region: str | None = None
    app_id_client_regex: str | None = None


@dataclass(frozen=True)
class ApiKey:
    key: str
    expires: datetime


@dataclass(frozen=True)
class DataSource:
    name: str
    type: str
    """``AWS_LAMBDA`` or ``NONE`` (the kinds served here)."""
    function_arn: str | None = None


@dataclass(frozen=True)
class PipelineFunction:
    """An AppSync function of a pipeline resolver: its own code against its own data source."""

    id: str
    name: str
    data_source: str
    code: str


@dataclass(frozen=True)
class Resolver:
    type_name: str
    field_name: str
    kind: Literal["UNIT", "PIPELINE"]
    code: str
    data_source: str | None = None
    functions: tuple[str, ...] = ()
    """Pipeline function ids, in order."""


@dataclass
class GraphQLApi:
    """One GraphQL API: its deployed schema, auth modes, keys, data sources and resolvers."""

    id: str
    name: str
    arn: str
    region: str
    sdl: str
    schema: GraphQLSchema
    default_auth: AuthProvider
    additional_auth: tuple[AuthProvider, ...]
    api_keys: tuple[ApiKey, ...]
    data_sources: Mapping[str, DataSource]
    resolvers: Mapping[tuple[str, str], Resolver]
    functions: Mapping[str, PipelineFunction] = field(default_factory=dict)
    query_depth_limit: int = 0
    """0: no limit (AppSync's default)."""
    resolver_count_limit: int = 0
    """0: AppSync's default of 10,000 resolvers per request."""
    aws_graphql_url: str | None = None
    aws_realtime_url: str | None = None

    @property
    def modes(self) -> tuple[str, ...]:
        return (self.default_auth.mode, *(p.mode for p in self.additional_auth))

    def provider(self, mode: str) -> AuthProvider | None:
        return next((p for p in (self.default_auth, *self.additional_auth) if p.mode == mode), None)

    def field_arn(self, type_name: str, field_name: str) -> str:
        """What IAM policies grant ``appsync:GraphQL`` on."""
        return f"{self.arn}/types/{type_name}/fields/{field_name}"


def appsync_model(capture: Capture) -> list[GraphQLApi]:
    """Every GraphQL API the stack declares, with its parts joined to it."""
    by_api: dict[str, dict[str, list[RecordedResource]]] = {}
    for resource in capture.resources:
        if resource.type in (DATA_SOURCE, RESOLVER, FUNCTION, API_KEY_RESOURCE):
            api_id = resource.inputs.get("apiId", "")
            by_api.setdefault(api_id, {}).setdefault(resource.type, []).append(resource)
    return [
        _api(api, capture.region, by_api.get(api.id, {})) for api in capture.of_type(GRAPHQL_API)
    ]


def _api(
    api: RecordedResource, region: str, parts: Mapping[str, list[RecordedResource]]
) -> GraphQLApi:
    inputs = api.inputs
    sdl = inputs.get("schema") or ""
    schema = install_appsync_scalars(build_appsync_schema(sdl))
    data_sources = {r.inputs["name"]: _data_source(r) for r in parts.get(DATA_SOURCE, [])}
    functions = {f.id: f for f in (_function(r, data_sources) for r in parts.get(FUNCTION, []))}
    resolvers = {}
    for resource in parts.get(RESOLVER, []):
        resolver = _resolver(resource, data_sources, functions)
        resolvers[(resolver.type_name, resolver.field_name)] = resolver
    uris = api.outputs.get("uris") or {}
    return GraphQLApi(
        id=api.id,
        name=inputs.get("name") or api.name,
        arn=api.outputs.get("arn", ""),
        region=region,
        sdl=sdl,
        schema=schema,
        default_auth=_provider(inputs, region),
        additional_auth=tuple(
            _provider(p, region) for p in inputs.get("additionalAuthenticationProviders") or ()
        ),
        api_keys=tuple(_api_key(r) for r in parts.get(API_KEY_RESOURCE, [])),
        data_sources=data_sources,
        resolvers=resolvers,
        functions=functions,
        query_depth_limit=int(inputs.get("queryDepthLimit") or 0),
        resolver_count_limit=int(inputs.get("resolverCountLimit") or 0),
        aws_graphql_url=uris.get("GRAPHQL"),
        aws_realtime_url=uris.get("REALTIME"),
    )


def _provider(inputs: Mapping[str, Any], region: str) -> AuthProvider:
    pool = inputs.get("userPoolConfig") or {}
    return AuthProvider(
        mode=inputs.get("authenticationType") or API_KEY,
        user_pool_id=pool.get("userPoolId"),
        user_pool_region=pool.get("awsRegion") or region,
        app_id_client_regex=pool.get("appIdClientRegex"),
    )


def _api_key(resource: RecordedResource) -> ApiKey:
    expires = resource.inputs.get("expires")
    if not expires:
        # AppSync's default for a key made without an expiry: 7 days (rounded to the hour).
        raise AppSyncModelError(f"API key {resource.name} has no expiry; declare `expires`")
    return ApiKey(
        key=resource.outputs["key"],
        expires=datetime.fromisoformat(str(expires).replace("Z", "+00:00")),
    )


def _data_source(resource: RecordedResource) -> DataSource:
    inputs = resource.inputs
    kind = inputs.get("type", "")
    if kind not in ("AWS_LAMBDA", "NONE"):
        raise AppSyncModelError(
            f"data source {inputs.get('name')!r}: type {kind} is not emulated locally "
            "(AWS_LAMBDA and NONE are)"
        )
    return DataSource(
        name=inputs["name"],
        type=kind,
        function_arn=(inputs.get("lambdaConfig") or {}).get("functionArn"),
    )


def _function(
    resource: RecordedResource, data_sources: Mapping[str, DataSource]
) -> PipelineFunction:
    inputs = resource.inputs
    _require_js(resource, inputs)
    source = inputs.get("dataSource", "")
    if source not in data_sources:
        raise AppSyncModelError(f"function {inputs.get('name')!r} names no data source {source!r}")
    return PipelineFunction(
        id=resource.outputs.get("functionId") or resource.id,
        name=inputs.get("name") or resource.name,
        data_source=source,
        code=inputs["code"],
    )


def _resolver(
    resource: RecordedResource,
    data_sources: Mapping[str, DataSource],
    functions: Mapping[str, PipelineFunction],
) -> Resolver:
    inputs = resource.inputs
    where = f"resolver {inputs.get('type')}.{inputs.get('field')}"
    _require_js(resource, inputs)
    kind = inputs.get("kind") or "UNIT"
    pipeline = tuple((inputs.get("pipelineConfig") or {}).get("functions") or ())
    source = inputs.get("dataSource")
    if kind == "UNIT" and source not in data_sources:
        raise AppSyncModelError(f"{where} names no data source {source!r}")
    for function_id in pipeline:
        if function_id not in functions:
            raise AppSyncModelError(f"{where}: its pipeline names no function {function_id!r}")
    return Resolver(
        type_name=inputs["type"],
        field_name=inputs["field"],
        kind=kind,
        code=inputs["code"],
        data_source=source if kind == "UNIT" else None,
        functions=pipeline if kind == "PIPELINE" else (),
    )


def _require_js(resource: RecordedResource, inputs: Mapping[str, Any]) -> None:
    runtime = (inputs.get("runtime") or {}).get("name")
    if runtime != APPSYNC_JS or not inputs.get("code"):
        raise AppSyncModelError(
            f"{resource.name}: only APPSYNC_JS resolvers run locally (got {runtime or 'VTL'})"
        )

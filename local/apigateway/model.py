"""The REST APIs a stack declares, rebuilt from the capture: what the local gateway serves.

Resources are joined by the ids the fake cloud synthesized (``restApi``, ``resourceId``,
``parentId``, ``rootResourceId``, ``requestValidatorId``; models by name). Nothing here knows
HTTP: the model answers "which route is this?" and "may API Gateway invoke this function?".
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote

if TYPE_CHECKING:
    from local.cloud.capture import Capture
    from local.cloud.fake_cloud import RecordedResource

__all__ = [
    "APIGATEWAY_PRINCIPAL",
    "Integration",
    "IntegrationResponse",
    "LambdaPermission",
    "Method",
    "RequestParameter",
    "Resource",
    "RestApi",
    "RestModel",
    "RestModelError",
    "Route",
    "arn_like",
    "function_name_of",
    "rest_model",
]

REST_API = "aws:apigateway/restApi:RestApi"
RESOURCE = "aws:apigateway/resource:Resource"
METHOD = "aws:apigateway/method:Method"
METHOD_RESPONSE = "aws:apigateway/methodResponse:MethodResponse"
INTEGRATION = "aws:apigateway/integration:Integration"
INTEGRATION_RESPONSE = "aws:apigateway/integrationResponse:IntegrationResponse"
MODEL = "aws:apigateway/model:Model"
VALIDATOR = "aws:apigateway/requestValidator:RequestValidator"
DEPLOYMENT = "aws:apigateway/deployment:Deployment"
STAGE = "aws:apigateway/stage:Stage"
PERMISSION = "aws:lambda/permission:Permission"

APIGATEWAY_PRINCIPAL = "apigateway.amazonaws.com"
_INVOKE_ACTIONS = {"lambda:InvokeFunction", "lambda:*", "*"}
_DEFAULT_TIMEOUT_MS = 29_000
# Models every REST API has without declaring them.
_BUILT_IN_MODELS = {"Empty": {"type": "object"}, "Error": {"type": "object"}}
_LAMBDA_URI = re.compile(
    r"^arn:[^:]+:apigateway:[^:]*:lambda:path/2015-03-31/functions/(?P<arn>.+)/invocations$"
)
_PARAMETER = re.compile(r"^method\.request\.(path|querystring|header)\.(.+)$")


class RestModelError(Exception):
    """The captured REST API cannot be served (a dangling id, an unknown model)."""


@dataclass(frozen=True, kw_only=True)
class RequestParameter:
    """A method request parameter (``method.request.<location>.<name>``)."""

    location: Literal["path", "querystring", "header"]
    name: str
    required: bool


@dataclass(frozen=True, kw_only=True)
class IntegrationResponse:
    """How one kind of integration result becomes the method response."""

    status: int
    selection_pattern: str | None
    """``None`` (or empty) marks the default response."""
    templates: Mapping[str, str] = field(default_factory=dict)

    def matches(self, selection_value: str) -> bool:
        """Whether the pattern matches ``selection_value`` (a Lambda ``errorMessage``).

        API Gateway matches the *whole* value, like Java's ``String.matches``; Python's
        ``re.fullmatch`` agrees except that Java's ``.`` also refuses ``\\r``, ``\\u0085``,
        ``\\u2028`` and ``\\u2029``. An invalid pattern matches nothing.
        """
        if not self.selection_pattern:
            return False
        pattern = _regex(self.selection_pattern)
        return pattern is not None and pattern.fullmatch(selection_value) is not None


@dataclass(frozen=True, kw_only=True)
class Integration:
    type: str
    """``AWS`` or ``AWS_PROXY`` for Lambda; other types are declared but not served."""
    uri: str
    function_name: str | None
    """The Lambda function of a Lambda invoke URI, else ``None``."""
    request_parameters: Mapping[str, str] = field(default_factory=dict)
    request_templates: Mapping[str, str] = field(default_factory=dict)
    passthrough_behavior: str = "WHEN_NO_MATCH"
    timeout_ms: int = _DEFAULT_TIMEOUT_MS
    credentials: str | None = None
    """A role API Gateway assumes to invoke; then no resource policy on the function is needed."""
    responses: tuple[IntegrationResponse, ...] = ()

    def response_for(self, selection_value: str) -> IntegrationResponse | None:
        """The first response whose pattern matches, else the default one, else ``None``."""
        for response in self.responses:
            if response.matches(selection_value):
                return response
        return next((r for r in self.responses if not r.selection_pattern), None)


@dataclass(frozen=True, kw_only=True)
class Method:
    http_method: str
    """``GET``, ``POST``… or ``ANY``."""
    authorization: str = "NONE"
    parameters: tuple[RequestParameter, ...] = ()
    validate_body: bool = False
    validate_parameters: bool = False
    request_models: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Content type → JSON schema (draft 4) of the request body."""
    integration: Integration | None = None
    response_statuses: tuple[int, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Resource:
    id: str
    path: str
    """The full resource path, e.g. ``/square/{number}``."""
    methods: Mapping[str, Method] = field(default_factory=dict)

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(part for part in self.path.split("/") if part)


@dataclass(frozen=True)
class Route:
    """A request matched to a declared method."""

    resource: Resource
    method: Method
    path_parameters: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class RestApi:
    id: str
    name: str
    region: str
    account_id: str
    execution_arn: str
    stages: Mapping[str, Mapping[str, str]]
    """Stage name → its stage variables."""
    resources: tuple[Resource, ...]

    def route(self, http_method: str, raw_path: str) -> Route | None:
        """The most specific declared method for ``http_method`` on ``raw_path``.

        ``raw_path`` is the URL-encoded path after the stage; a trailing slash is ignored,
        as API Gateway does. Static segments win over ``{param}``, which wins over a greedy
        ``{proxy+}``. ``ANY`` serves every method not declared on its own.
        """
        segments = [unquote(part) for part in raw_path.strip("/").split("/")]
        if segments == [""]:
            segments = []
        best: tuple[tuple[int, ...], Route] | None = None
        for resource in self.resources:
            method = resource.methods.get(http_method) or resource.methods.get("ANY")
            if method is None:
                continue
            matched = _match(resource.parts, segments)
            if matched is None:
                continue
            rank, parameters = matched
            if best is None or rank > best[0]:
                best = (rank, Route(resource, method, parameters))
        return best[1] if best else None

    def source_arn(self, stage: str, http_method: str, path: str) -> str:
        """The ARN API Gateway presents to Lambda for a request."""
        return f"{self.execution_arn}/{stage}/{http_method}/{path.lstrip('/')}"


@dataclass(frozen=True, kw_only=True)
class LambdaPermission:
    """One ``lambda:AddPermission`` statement on a function."""

    function_name: str
    principal: str
    action: str
    source_arn: str | None = None
    source_account: str | None = None

    def allows(self, function_name: str, source_arn: str, source_account: str) -> bool:
        return (
            self.function_name == function_name
            and self.principal in (APIGATEWAY_PRINCIPAL, "*")
            and self.action in _INVOKE_ACTIONS
            and (self.source_account is None or self.source_account == source_account)
            and (self.source_arn is None or arn_like(self.source_arn, source_arn))
        )


@dataclass(frozen=True, kw_only=True)
class RestModel:
    apis: tuple[RestApi, ...]
    permissions: tuple[LambdaPermission, ...]

    def api_for_stage(self, stage: str) -> RestApi | None:
        return next((api for api in self.apis if stage in api.stages), None)

    def may_invoke(self, function_name: str, source_arn: str, source_account: str) -> bool:
        """Whether a resource policy statement lets API Gateway invoke the function."""
        return any(p.allows(function_name, source_arn, source_account) for p in self.permissions)


def rest_model(capture: Capture) -> RestModel:
    """Every captured REST API with its stages, resource tree and methods, and the permissions.

    Raises :class:`RestModelError` when two APIs share a stage name (the local gateway serves
    ``/<stage>/…`` from one port) or a method names a model or validator that does not exist.
    """
    by_type: dict[str, list[RecordedResource]] = defaultdict(list)
    for recorded in capture.resources:
        by_type[recorded.type].append(recorded)
    apis = tuple(_api(api, by_type) for api in by_type[REST_API])
    seen: dict[str, str] = {}
    for api in apis:
        for stage in api.stages:
            if stage in seen:
                raise RestModelError(
                    f"stage {stage!r} is declared by REST APIs {seen[stage]} and {api.name}"
                )
            seen[stage] = api.name
    permissions = tuple(_permission(p.inputs) for p in by_type[PERMISSION])
    return RestModel(apis=apis, permissions=permissions)


def function_name_of(reference: str) -> str:
    """``fn``, ``fn:alias``, ``123:function:fn`` or a full ARN → ``fn``."""
    _, marker, rest = reference.partition("function:")
    return (rest if marker else reference).split(":")[0]


def arn_like(pattern: str, arn: str) -> bool:
    """IAM's ``ArnLike``: each of the six ``:``-separated parts matched with ``*`` and ``?``."""
    pattern_parts, arn_parts = pattern.split(":", 5), arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return pattern == arn
    return all(_glob(p).fullmatch(a) for p, a in zip(pattern_parts, arn_parts, strict=True))


def _api(api: RecordedResource, by_type: Mapping[str, list[RecordedResource]]) -> RestApi:
    def mine(type_token: str) -> list[RecordedResource]:
        return [r for r in by_type.get(type_token, []) if r.inputs.get("restApi") == api.id]

    execution_arn = str(api.outputs.get("executionArn", ""))
    arn_parts = execution_arn.split(":")
    region, account = (arn_parts[3], arn_parts[4]) if len(arn_parts) >= 6 else ("", "")
    models = {m.inputs.get("name"): _schema(m) for m in mine(MODEL)}
    validators = {v.id: v.inputs for v in mine(VALIDATOR)}
    integrations = _by_method(mine(INTEGRATION))
    integration_responses = _grouped_by_method(mine(INTEGRATION_RESPONSE))
    method_responses = _grouped_by_method(mine(METHOD_RESPONSE))
    methods: dict[str, dict[str, Method]] = defaultdict(dict)
    for method in mine(METHOD):
        key = _method_key(method)
        methods[key[0]][key[1]] = _method(
            method,
            models,
            validators,
            integration=integrations.get(key),
            integration_responses=integration_responses.get(key, []),
            method_responses=method_responses.get(key, []),
        )
    paths = _resource_paths(str(api.outputs.get("rootResourceId", "")), mine(RESOURCE))
    resources = tuple(
        Resource(id=resource_id, path=path, methods=methods.get(resource_id, {}))
        for resource_id, path in paths.items()
    )
    return RestApi(
        id=api.id,
        name=str(api.inputs.get("name") or api.name),
        region=region,
        account_id=account,
        execution_arn=execution_arn,
        stages=_stages(mine(STAGE), mine(DEPLOYMENT)),
        resources=resources,
    )


def _resource_paths(root_id: str, resources: list[RecordedResource]) -> dict[str, str]:
    parents = {r.id: (r.inputs.get("parentId"), r.inputs.get("pathPart", "")) for r in resources}
    paths = {root_id: "/"}

    def path_of(resource_id: str, seen: frozenset[str] = frozenset()) -> str:
        if resource_id in paths:
            return paths[resource_id]
        if resource_id not in parents or resource_id in seen:
            raise RestModelError(f"resource {resource_id} does not lead to the API's root")
        parent_id, part = parents[resource_id]
        parent = path_of(str(parent_id), seen | {resource_id})
        paths[resource_id] = f"{parent.rstrip('/')}/{part}"
        return paths[resource_id]

    for resource_id in parents:
        path_of(resource_id)
    return paths


def _method(
    method: RecordedResource,
    models: Mapping[str, Mapping[str, Any]],
    validators: Mapping[str, Mapping[str, Any]],
    *,
    integration: RecordedResource | None,
    integration_responses: list[RecordedResource],
    method_responses: list[RecordedResource],
) -> Method:
    inputs = method.inputs
    validator_id = inputs.get("requestValidatorId")
    if validator_id and validator_id not in validators:
        raise RestModelError(f"method {method.name}: no request validator {validator_id}")
    validator = validators.get(validator_id or "", {})
    request_models = {}
    for content_type, model_name in (inputs.get("requestModels") or {}).items():
        schema = models.get(model_name) or _BUILT_IN_MODELS.get(model_name)
        if schema is None:
            raise RestModelError(f"method {method.name}: no model named {model_name!r}")
        request_models[content_type.lower()] = schema
    return Method(
        http_method=str(inputs.get("httpMethod", "")).upper(),
        authorization=str(inputs.get("authorization", "NONE")),
        parameters=tuple(
            _parameter(name, required)
            for name, required in (inputs.get("requestParameters") or {}).items()
            if _PARAMETER.match(name)
        ),
        validate_body=bool(validator.get("validateRequestBody", False)),
        validate_parameters=bool(validator.get("validateRequestParameters", False)),
        request_models=request_models,
        integration=_integration(integration, integration_responses) if integration else None,
        response_statuses=tuple(int(r.inputs["statusCode"]) for r in method_responses),
    )


def _parameter(name: str, required: Any) -> RequestParameter:
    matched = _PARAMETER.match(name)
    assert matched is not None
    location, parameter = matched.groups()
    return RequestParameter(location=location, name=parameter, required=bool(required))  # type: ignore[arg-type]


def _integration(integration: RecordedResource, responses: list[RecordedResource]) -> Integration:
    inputs = integration.inputs
    uri = str(inputs.get("uri", ""))
    lambda_uri = _LAMBDA_URI.match(uri)
    return Integration(
        type=str(inputs.get("type", "")),
        uri=uri,
        function_name=function_name_of(lambda_uri["arn"]) if lambda_uri else None,
        request_parameters=dict(inputs.get("requestParameters") or {}),
        request_templates={k.lower(): v for k, v in (inputs.get("requestTemplates") or {}).items()},
        passthrough_behavior=str(inputs.get("passthroughBehavior") or "WHEN_NO_MATCH"),
        timeout_ms=int(inputs.get("timeoutMilliseconds") or _DEFAULT_TIMEOUT_MS),
        credentials=inputs.get("credentials") or None,
        responses=tuple(
            IntegrationResponse(
                status=int(r.inputs["statusCode"]),
                selection_pattern=r.inputs.get("selectionPattern") or None,
                templates={
                    k.lower(): v for k, v in (r.inputs.get("responseTemplates") or {}).items()
                },
            )
            # Captured in no particular order; by status, so overlapping patterns resolve the
            # same way on every run (AWS does not document which of several matches wins).
            for r in sorted(responses, key=lambda r: int(r.inputs["statusCode"]))
        ),
    )


def _schema(model: RecordedResource) -> Mapping[str, Any]:
    text = model.inputs.get("schema")
    if not text:
        return {}
    try:
        schema = json.loads(text)
    except ValueError as error:
        raise RestModelError(f"model {model.name}: its schema is not JSON ({error})") from None
    return schema if isinstance(schema, dict) else {}


def _stages(
    stages: list[RecordedResource], deployments: list[RecordedResource]
) -> dict[str, Mapping[str, str]]:
    found: dict[str, Mapping[str, str]] = {}
    # A deployment given a stage name makes that stage too (an older way to declare one).
    for deployment in deployments:
        if deployment.inputs.get("stageName"):
            found[deployment.inputs["stageName"]] = dict(deployment.inputs.get("variables") or {})
    for stage in stages:
        found[stage.inputs["stageName"]] = dict(stage.inputs.get("variables") or {})
    return found


def _permission(inputs: Mapping[str, Any]) -> LambdaPermission:
    return LambdaPermission(
        function_name=function_name_of(str(inputs.get("function", ""))),
        principal=str(inputs.get("principal", "")),
        action=str(inputs.get("action", "")),
        source_arn=inputs.get("sourceArn") or None,
        source_account=inputs.get("sourceAccount") or None,
    )


def _method_key(resource: RecordedResource) -> tuple[str, str]:
    return str(resource.inputs.get("resourceId")), str(resource.inputs.get("httpMethod")).upper()


def _by_method(resources: list[RecordedResource]) -> dict[tuple[str, str], RecordedResource]:
    return {_method_key(r): r for r in resources}


def _grouped_by_method(
    resources: list[RecordedResource],
) -> dict[tuple[str, str], list[RecordedResource]]:
    grouped: dict[tuple[str, str], list[RecordedResource]] = defaultdict(list)
    for resource in resources:
        grouped[_method_key(resource)].append(resource)
    return grouped


_STATIC, _PARAM, _GREEDY = 2, 1, 0


def _match(
    parts: tuple[str, ...], segments: list[str]
) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """(rank, path parameters) when a resource's parts match the request's segments."""
    rank: list[int] = []
    parameters: dict[str, str] = {}
    for index, part in enumerate(parts):
        if part.startswith("{") and part.endswith("+}"):
            if index != len(parts) - 1 or index >= len(segments):
                return None
            parameters[part[1:-2]] = "/".join(segments[index:])
            return (*rank, _GREEDY), parameters
        if index >= len(segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            if not segments[index]:
                return None
            parameters[part[1:-1]] = segments[index]
            rank.append(_PARAM)
        elif part == segments[index]:
            rank.append(_STATIC)
        else:
            return None
    return (tuple(rank), parameters) if len(parts) == len(segments) else None


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


@lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), re.DOTALL)

"""The REST front: API Gateway routes that invoke Lambda, asynchronously where asked.

Non-proxy ``AWS`` integrations set ``X-Amz-Invocation-Type`` (static ``'Event'``, or mapped
from the caller's ``InvocationType`` header), answer 202 with an acknowledgement for
asynchronous calls, and map worker errors to 400/500 by selection pattern. Front functions
get ``AWS_PROXY`` integrations and answer for themselves.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict

import pulumi
import pulumi_aws as aws

from components.api_args import AsyncResolverApiArgs, RestRoute

__all__ = [
    "ACCEPTED_TEMPLATE",
    "CLIENT_ERROR_PATTERN",
    "INVOCATION_HEADER",
    "SERVER_ERROR_PATTERN",
    "RestFront",
]

INVOCATION_HEADER = "InvocationType"
"""The method request header a caller sets to ``Event`` to go asynchronous (seed 004)."""
LAMBDA_INVOCATION_HEADER = "integration.request.header.X-Amz-Invocation-Type"

CLIENT_ERROR_PATTERN = r"^[A-Za-z0-9_.]*ValidationError: (\n|.)*"
"""Worker errors whose message starts with a ``…ValidationError`` type are the caller's fault."""
SERVER_ERROR_PATTERN = r"^(?![A-Za-z0-9_.]*ValidationError: )(\n|.)+"
"""Any other worker error (including timeouts): a generic 500, never the stack trace."""

ACCEPTED_TEMPLATE = '{"requestId": "$context.requestId", "status": "ACCEPTED"}'
CLIENT_ERROR_TEMPLATE = "{\"message\": $input.json('$.errorMessage')}"
SERVER_ERROR_TEMPLATE = '{"message": "Internal server error"}'
JSON = "application/json"


class RestFront:
    """API Gateway REST API, stage and routes for ``args.routes``, children of ``parent``."""

    def __init__(self, parent: pulumi.Resource, name: str, args: AsyncResolverApiArgs) -> None:
        self._parent = parent
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=parent)
        self.api = aws.apigateway.RestApi(
            name,
            description="ackflow: answer now, work later",
            endpoint_configuration={"types": "REGIONAL"},
            opts=self._child,
        )
        self._resources: dict[str, pulumi.Output[str]] = {"/": self.api.root_resource_id}
        self._validator: aws.apigateway.RequestValidator | None = None
        routed = [self._route(route) for route in args.routes]
        self.stage = self._deploy(routed)
        self.execution_arn = self.api.execution_arn
        self.url = self.stage.invoke_url

    def _route(self, route: RestRoute) -> list[pulumi.Resource]:
        label = _route_label(route)
        target = self._args.target(route.target)
        resource_id = self._resource_for(route.path)
        proxy = route.invocation == "proxy"
        method = aws.apigateway.Method(
            label,
            rest_api=self.api.id,
            resource_id=resource_id,
            http_method=route.method,
            authorization=_authorization(self._args.auth, proxy),
            request_parameters=_method_parameters(route),
            request_validator_id=self._body_validator().id if route.body_schema else None,
            request_models={JSON: self._model(label, route).name} if route.body_schema else None,
            opts=self._child,
        )
        integration = aws.apigateway.Integration(
            label,
            rest_api=self.api.id,
            resource_id=resource_id,
            http_method=method.http_method,
            type="AWS_PROXY" if proxy else "AWS",
            integration_http_method="POST",
            uri=target.invoke_arn,
            request_parameters=None if proxy else _invocation_mapping(route),
            request_templates=None
            if proxy
            else {JSON: route.request_template or "$input.json('$')"},
            passthrough_behavior=None if proxy else "NEVER",
            opts=self._child,
        )
        aws.lambda_.Permission(
            label,
            action="lambda:InvokeFunction",
            function=target.function_name,
            principal="apigateway.amazonaws.com",
            source_arn=self.api.execution_arn.apply(
                lambda arn: f"{arn}/*/{route.method}{_arn_path(route.path)}"
            ),
            opts=self._child,
        )
        if proxy:
            return [method, integration]
        return [method, integration, *self._responses(label, route, method, integration)]

    def _responses(
        self,
        label: str,
        route: RestRoute,
        method: aws.apigateway.Method,
        integration: aws.apigateway.Integration,
    ) -> list[pulumi.Resource]:
        made: list[pulumi.Resource] = []
        for status, pattern, template in _integration_responses(route):
            method_response = aws.apigateway.MethodResponse(
                f"{label}-{status}",
                rest_api=self.api.id,
                resource_id=method.resource_id,
                http_method=method.http_method,
                status_code=status,
                response_models={JSON: "Empty"},
                opts=self._child,
            )
            made.append(method_response)
            if template is None:  # a status the default response switches to (202 for client)
                continue
            made.append(
                aws.apigateway.IntegrationResponse(
                    f"{label}-{status}",
                    rest_api=self.api.id,
                    resource_id=method.resource_id,
                    http_method=method.http_method,
                    status_code=status,
                    selection_pattern=pattern,
                    response_templates={JSON: template},
                    opts=pulumi.ResourceOptions(
                        parent=self._parent, depends_on=[integration, method_response]
                    ),
                )
            )
        return made

    def _resource_for(self, path: str) -> pulumi.Output[str]:
        """The id of the resource for ``path``, making each missing segment once."""
        if path in self._resources:
            return self._resources[path]
        parent_path, _, segment = path.rstrip("/").rpartition("/")
        parent_id = self._resource_for(parent_path or "/")
        resource = aws.apigateway.Resource(
            f"{self._name}{_slug(path)}",
            rest_api=self.api.id,
            parent_id=parent_id,
            path_part=segment,
            opts=self._child,
        )
        self._resources[path] = resource.id
        return resource.id

    def _body_validator(self) -> aws.apigateway.RequestValidator:
        if self._validator is None:
            self._validator = aws.apigateway.RequestValidator(
                f"{self._name}-body",
                rest_api=self.api.id,
                name="body-and-parameters",
                validate_request_body=True,
                validate_request_parameters=True,
                opts=self._child,
            )
        return self._validator

    def _model(self, label: str, route: RestRoute) -> aws.apigateway.Model:
        return aws.apigateway.Model(
            label,
            rest_api=self.api.id,
            name="".join(part.capitalize() for part in _slug(label).split("-") if part),
            content_type=JSON,
            schema=json.dumps(route.body_schema, sort_keys=True),
            opts=self._child,
        )

    def _deploy(self, routed: list[list[pulumi.Resource]]) -> aws.apigateway.Stage:
        args = self._args
        deployment = aws.apigateway.Deployment(
            self._name,
            rest_api=self.api.id,
            triggers={"routes": _routes_digest(args.routes)},
            opts=pulumi.ResourceOptions(
                parent=self._parent, depends_on=[r for made in routed for r in made]
            ),
        )
        access_logs = aws.cloudwatch.LogGroup(
            f"{self._name}-access",
            retention_in_days=args.log_retention_days,
            opts=self._child,
        )
        stage = aws.apigateway.Stage(
            self._name,
            rest_api=self.api.id,
            deployment=deployment.id,
            stage_name=args.stage_name,
            xray_tracing_enabled=args.xray,
            access_log_settings={
                "destination_arn": access_logs.arn,
                "format": json.dumps(_ACCESS_LOG_FORMAT, sort_keys=True),
            },
            opts=self._child,
        )
        aws.apigateway.MethodSettings(
            self._name,
            rest_api=self.api.id,
            stage_name=stage.stage_name,
            method_path="*/*",
            settings={
                "throttling_burst_limit": args.throttling.burst_limit,
                "throttling_rate_limit": args.throttling.rate_limit,
                "metrics_enabled": True,
            },
            opts=self._child,
        )
        return stage


_ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "method": "$context.httpMethod",
    "path": "$context.resourcePath",
    "status": "$context.status",
    "latencyMs": "$context.responseLatency",
    "integrationStatus": "$context.integration.status",
    "integrationError": "$context.integrationErrorMessage",
}


def _integration_responses(route: RestRoute) -> list[tuple[str, str | None, str | None]]:
    """(status, selection pattern, template) for each answer the route can give."""
    accepted = route.accepted_template or ACCEPTED_TEMPLATE
    synchronous = route.response_template or "$input.json('$')"
    if route.invocation == "Event":
        default = [("202", None, accepted)]
    elif route.invocation == "RequestResponse":
        default = [("200", None, synchronous)]
    else:  # client: the caller's header picks, so the default answer switches its own status
        switch = (
            f"#if($input.params('{INVOCATION_HEADER}') == 'Event')\n"
            "#set($context.responseOverride.status = 202)\n"
            f"{accepted}\n#else\n{synchronous}\n#end"
        )
        default = [("200", None, switch), ("202", None, None)]
    return [
        *default,
        ("400", CLIENT_ERROR_PATTERN, CLIENT_ERROR_TEMPLATE),
        ("500", SERVER_ERROR_PATTERN, SERVER_ERROR_TEMPLATE),
    ]


def _invocation_mapping(route: RestRoute) -> dict[str, str]:
    if route.invocation == "client":
        return {LAMBDA_INVOCATION_HEADER: f"method.request.header.{INVOCATION_HEADER}"}
    return {LAMBDA_INVOCATION_HEADER: f"'{route.invocation}'"}


def _method_parameters(route: RestRoute) -> dict[str, bool] | None:
    parameters = {
        f"method.request.path.{segment[1:-1]}": True
        for segment in route.path.split("/")
        if segment.startswith("{") and segment.endswith("}")
    }
    if route.invocation == "client":
        parameters[f"method.request.header.{INVOCATION_HEADER}"] = False
    return parameters or None


def _authorization(auth: str, proxy: bool) -> str:
    # Front functions authenticate their callers themselves (Slack signs its requests).
    return "AWS_IAM" if auth == "iam" and not proxy else "NONE"


def _route_label(route: RestRoute) -> str:
    return f"{route.workload}-{route.method.lower()}{_slug(route.path)}"


def _slug(path: str) -> str:
    return "".join(
        f"-{part.strip('{}')}" for part in path.replace("_", "-").split("/") if part
    ).lower()


def _arn_path(path: str) -> str:
    """``/square/{number}`` → ``/square/*``: execute-api ARNs match path parameters by ``*``."""
    return "/".join("*" if part.startswith("{") else part for part in path.split("/"))


def _routes_digest(routes: Sequence[RestRoute]) -> str:
    """Changes whenever a route changes, so the stage is redeployed with it."""
    described = json.dumps([asdict(route) for route in routes], sort_keys=True)
    return hashlib.sha256(described.encode()).hexdigest()

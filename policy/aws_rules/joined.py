"""AWS rules that join two resources: an integration maps only what its method declares.

API Gateway refuses an integration whose ``requestParameters`` map a method request parameter
(``method.request.header.InvocationType``) that the method does not declare in its own
``requestParameters`` ("The method request parameter names defined here are available in
Integration to be mapped", botocore's apigateway model at ``PutMethod.requestParameters``). The
method and the integration are separate resources, so this needs the whole stack.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from policy.aws_rules.request_parameters import METHOD_PARAMETER
from policy.props import resource_label

__all__ = ["INTEGRATION", "METHOD", "undeclared_parameters", "validate"]

METHOD = "aws:apigateway/method:Method"
INTEGRATION = "aws:apigateway/integration:Integration"
SOURCE = "documented in botocore's apigateway model at PutMethod.requestParameters"


def undeclared_parameters(resources: list[PolicyResource]) -> Iterator[tuple[PolicyResource, str]]:
    """``(integration, parameter)`` for each mapped method parameter its method lacks."""
    declared = {
        _route(method.props): set(method.props.get("requestParameters") or {})
        for method in resources
        if method.resource_type == METHOD
    }
    for integration in (r for r in resources if r.resource_type == INTEGRATION):
        method_parameters = declared.get(_route(integration.props))
        if method_parameters is None:
            continue  # the method is not in this stack: nothing to join
        for source in map(str, (integration.props.get("requestParameters") or {}).values()):
            if METHOD_PARAMETER.fullmatch(source) and source not in method_parameters:
                yield integration, source


def _route(props: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(props.get("restApi")), str(props.get("resourceId")), str(props.get("httpMethod")))


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for integration, parameter in undeclared_parameters(args.resources):
        report_violation(
            f"{resource_label(integration.resource_type, integration.name)}: requestParameters "
            f"maps {parameter}, which its method does not declare in its requestParameters "
            f"({SOURCE})",
            integration.urn,
        )

"""Advisory: AppSync field logs are not ``ALL`` on a production stack.

``ALL`` logs every field's resolution with the request and response data in it: fine while
debugging a dev stack, a flood of personal data and log cost in production. ``ERROR`` (or
``INFO``) keeps what one needs. What makes a stack production is in :mod:`policy.production`.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs

from policy.production import is_production
from policy.props import at_path, resource_label, stack_of

__all__ = ["GRAPHQL_API", "validate"]

GRAPHQL_API = "aws:appsync/graphQLApi:GraphQLApi"
ALL = "ALL"


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != GRAPHQL_API:
        return
    if at_path(args.props, "logConfig.fieldLogLevel") != ALL:
        return
    stack = stack_of(args.urn)
    if is_production(stack, args.get_config(), args.stack_tags):
        report_violation(
            f"{resource_label(args.resource_type, args.name)}: field logs are ALL on production "
            f"stack {stack!r}, which logs every request's and response's data; use ERROR "
            "(ackflow:api.fieldLogLevel)"
        )

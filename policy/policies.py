"""Every policy of the pack, with its name, description and enforcement level.

Mandatory policies stop ``pulumi up``; advisory ones print a warning. The validate functions
live in one module per concern; this list is what ``__main__.py`` hands to ``PolicyPack``.
"""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from policy import (
    api_keys,
    async_workers,
    aws_rules,
    encryption,
    field_logs,
    iam,
    log_retention,
    production,
    secrets,
)
from policy.aws_rules import joined

__all__ = ["PACK_NAME", "POLICIES"]

PACK_NAME = "ackflow"
MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

POLICIES: list[Policy] = [
    ResourceValidationPolicy(
        name="iam-no-wildcard-resource",
        description='No IAM statement allows an action on "*" unless AWS cannot scope it.',
        validate=iam.validate,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        name="queues-and-topics-encrypted",
        description="Every SQS queue and SNS topic is encrypted at rest.",
        validate=encryption.validate,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        name="log-groups-have-retention",
        description="Every CloudWatch log group has a retention (retentionInDays above 0).",
        validate=log_retention.validate,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        name="lambda-environment-no-secrets",
        description="No secret in a Lambda environment variable: pass a parameter's name.",
        validate=secrets.validate_environment,
        enforcement_level=MANDATORY,
    ),
    StackValidationPolicy(
        name="secrets-stay-in-their-store",
        description=(
            "No environment variable or stack output carries a value the stack keeps in SSM "
            "SecureString or Secrets Manager, and no output carries a credential."
        ),
        validate=secrets.validate_stored_secrets,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        name="appsync-api-key-expiry",
        description="AppSync API keys expire between 1 and 365 days ahead.",
        validate=api_keys.validate,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        name="aws-api-rules",
        description="Inputs follow AWS's own rules (botocore's service models and their docs).",
        validate=aws_rules.validate,
        enforcement_level=MANDATORY,
    ),
    StackValidationPolicy(
        name="apigateway-mapped-parameters-declared",
        description="An integration maps only method request parameters its method declares.",
        validate=joined.validate,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        name="appsync-field-logs-not-all-in-production",
        description="AppSync field logs are not ALL on a production stack.",
        validate=field_logs.validate,
        enforcement_level=ADVISORY,
        config_schema=PolicyConfigSchema(properties=dict(production.PRODUCTION_CONFIG_SCHEMA)),
    ),
    StackValidationPolicy(
        name="async-workers-have-failure-destination",
        description="Every asynchronously invoked worker has an on-failure destination or a DLQ.",
        validate=async_workers.validate,
        enforcement_level=ADVISORY,
    ),
]

"""No secret in a Lambda environment variable or in a stack output.

Anyone who may read a function's configuration (``lambda:GetFunctionConfiguration``, the
console) reads its environment in the clear, and stack outputs are printed by ``pulumi stack
output``. A secret belongs in SSM Parameter Store (SecureString) or Secrets Manager; the
function gets the parameter's *name* and reads the value at run time (as the Slack front does).

The rule, decided on what a policy can see:

- A variable whose name looks like a secret (``SECRET``, ``TOKEN``, ``PASSWORD``, ``PASSWD``,
  ``API_KEY``, ``APIKEY``, ``PRIVATE_KEY``, ``CREDENTIAL`` anywhere in it, any case) must hold a
  reference: a parameter name in a hierarchy (starting with ``/``) or the ARN of an SSM
  parameter, a Secrets Manager secret or a KMS key. ``SLACK_SIGNING_SECRET_PARAMETER=
  /ackflow/dev/slack-front/slack-signing-secret`` passes; ``SLACK_TOKEN=xoxb-…`` does not.
- No variable, whatever its name, holds a credential-shaped value (a PEM private key, an AWS
  access key id, a Slack token).
- Across the stack: no variable and no stack output holds the value of a SecureString parameter
  or a Secrets Manager secret the stack stores (values of 8 characters or more, so that a short
  value such as ``true`` is not taken for a leak), and no output holds a credential-shaped value.

Why values and not Pulumi's secret marks: pulumi-policy's Python analyzer hands policies
secrets already decrypted and unmarked (pulumi/pulumi-policy#241), so a policy cannot tell a
secret output from a plain one. A value the stack keeps in a secret store is a secret whatever
its mark, and exporting one (even marked secret) is a leak: export the parameter's name instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
)

from policy.props import at_path, resource_label

__all__ = [
    "FUNCTION",
    "SECRET_NAME",
    "STACK",
    "credential_kind",
    "environment_problems",
    "is_reference",
    "stored_secrets",
    "validate_environment",
    "validate_stored_secrets",
]

FUNCTION = "aws:lambda/function:Function"
STACK = "pulumi:pulumi:Stack"
PARAMETER = "aws:ssm/parameter:Parameter"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
SECURE_STRING = "SecureString"
MIN_MATCHED_LENGTH = 8

SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|API_?KEY|PRIVATE_?KEY|CREDENTIAL", re.I)
_REFERENCE = re.compile(r"/[\w.\-/]+|arn:aws[\w-]*:(ssm|secretsmanager|kms):\S+")
_CREDENTIALS = {
    "a PEM private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "an AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "a Slack token": re.compile(r"\bxox[abposr]-[0-9A-Za-z-]{10,}"),
}


def is_reference(value: str) -> bool:
    """A parameter name in a hierarchy, or an SSM / Secrets Manager / KMS ARN."""
    return bool(_REFERENCE.fullmatch(value))


def credential_kind(value: str) -> str | None:
    """What kind of credential ``value`` looks like, or None."""
    return next((kind for kind, shape in _CREDENTIALS.items() if shape.search(value)), None)


def _is_a_limit(text: str) -> bool:
    """A plain number (``BEDROCK_MAX_TOKENS=1024``) is a setting, not a credential."""
    return bool(re.fullmatch(r"\d{1,9}", text))


def environment_problems(variables: Mapping[str, Any]) -> list[str]:
    """What in one function's environment variables breaks the rule."""
    problems = []
    for name, value in variables.items():
        text = str(value)
        kind = credential_kind(text)
        if kind:
            problems.append(f"environment variable {name} holds {kind}")
        elif SECRET_NAME.search(name) and not is_reference(text) and not _is_a_limit(text):
            problems.append(
                f"environment variable {name} is named like a secret but holds a value, not a "
                "parameter name (/…) or an SSM / Secrets Manager ARN"
            )
    return problems


def validate_environment(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != FUNCTION:
        return
    variables = at_path(args.props, "environment.variables") or {}
    for problem in environment_problems(variables):
        report_violation(
            f"{resource_label(args.resource_type, args.name)}: {problem}; keep the secret in "
            "SSM Parameter Store (SecureString) or Secrets Manager and pass its name"
        )


def stored_secrets(resources: list[PolicyResource]) -> dict[str, str]:
    """Secret value → the resource that stores it (SecureString parameters, secret versions)."""
    stored: dict[str, str] = {}
    for resource in resources:
        if resource.resource_type == PARAMETER and resource.props.get("type") == SECURE_STRING:
            value = resource.props.get("value")
        elif resource.resource_type == SECRET_VERSION:
            value = resource.props.get("secretString")
        else:
            continue
        if isinstance(value, str) and len(value) >= MIN_MATCHED_LENGTH:
            stored[value] = resource_label(resource.resource_type, resource.name)
    return stored


def validate_stored_secrets(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    stored = stored_secrets(args.resources)
    for resource, where, value in _exposed_values(args.resources):
        label = resource_label(resource.resource_type, resource.name)
        if value in stored:
            report_violation(
                f"{label}: {where} holds the value stored in {stored[value]}; pass or export the "
                "parameter's name instead",
                resource.urn,
            )
        elif resource.resource_type == STACK and credential_kind(value):
            report_violation(f"{label}: {where} holds {credential_kind(value)}", resource.urn)


def _exposed_values(resources: list[PolicyResource]) -> Iterator[tuple[PolicyResource, str, str]]:
    """``(resource, where, value)`` for every environment variable and every stack output."""
    for resource in resources:
        if resource.resource_type == FUNCTION:
            variables = at_path(resource.props, "environment.variables") or {}
            for name, value in variables.items():
                yield resource, f"environment variable {name}", str(value)
        elif resource.resource_type == STACK:
            for name, value in resource.props.items():
                if isinstance(value, str):
                    yield resource, f"stack output {name}", value

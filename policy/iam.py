"""No IAM statement allows anything on ``"*"`` except the actions AWS cannot scope to a resource.

Checked wherever a permission policy document appears: inline role policies
(``aws:iam/rolePolicy:RolePolicy``, whose ``policy`` is a JSON string), managed policies, user
and group policies, and a role's ``inlinePolicies``. Trust policies (``assumeRolePolicy``) name
principals, not resources, and are not checked here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from policy.props import as_list, resource_label

__all__ = ["UNSCOPABLE_ACTIONS", "policy_documents", "validate", "wildcard_problems"]

WILDCARD = "*"

_NO_RESOURCE_TYPE = (
    "the Service Authorization Reference lists no resource type for it, and AWS then requires "
    '"Resource": "*"'
)
UNSCOPABLE_ACTIONS: Mapping[str, str] = {
    "xray:PutTraceSegments": f"X-Ray segments (Lambda active tracing): {_NO_RESOURCE_TYPE}",
    "xray:PutTelemetryRecords": f"X-Ray telemetry (Lambda active tracing): {_NO_RESOURCE_TYPE}",
}
"""The actions that may be allowed on ``"*"``, each with why (IAM action names ignore case)."""

_UNSCOPABLE = {action.lower() for action in UNSCOPABLE_ACTIONS}

_DOCUMENT_PROPERTY = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
ROLE = "aws:iam/role:Role"


def policy_documents(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """``(property, document)`` for each permission policy a resource carries."""
    if resource_type in _DOCUMENT_PROPERTY:
        key = _DOCUMENT_PROPERTY[resource_type]
        if props.get(key) is not None:
            yield key, props[key]
    elif resource_type == ROLE:
        for index, inline in enumerate(as_list(props.get("inlinePolicies"))):
            if isinstance(inline, Mapping) and inline.get("policy") is not None:
                yield f"inlinePolicies[{index}].policy", inline["policy"]


def wildcard_problems(document: Any) -> list[str]:
    """What in one policy document (a JSON string or a mapping) is allowed on ``"*"``."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as error:
            return [f"is not valid JSON ({error.msg})"]
    if not isinstance(document, Mapping):
        return [f"is not a policy document: {document!r:.60}"]
    problems = []
    for index, statement in enumerate(as_list(document.get("Statement"))):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        where = f"statement {statement['Sid']!r}" if statement.get("Sid") else f"Statement[{index}]"
        if "NotResource" in statement:
            problems.append(f"{where} allows on every resource but its NotResource")
        if WILDCARD not in as_list(statement.get("Resource")):
            continue
        if "NotAction" in statement:
            problems.append(f'{where} allows every action but its NotAction on "*"')
        scoped = [a for a in as_list(statement.get("Action")) if str(a).lower() not in _UNSCOPABLE]
        if scoped:
            problems.append(f'{where} allows {", ".join(map(str, scoped))} on "*"')
    return problems


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    allowed = ", ".join(UNSCOPABLE_ACTIONS)
    for prop, document in policy_documents(args.resource_type, args.props):
        for problem in wildcard_problems(document):
            report_violation(
                f"{resource_label(args.resource_type, args.name)}: {prop} {problem}; scope it to "
                f"the resources' ARNs (only {allowed} may use {WILDCARD!r}, because AWS offers "
                "no resource-level permission for them)"
            )

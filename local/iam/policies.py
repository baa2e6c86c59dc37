"""What each role of the stack may do: its inline policies, evaluated with moto's IAM engine.

Explicit denies win, then any allow; nothing allowed is an implicit deny, as in IAM. Only the
identity policies the stack declares on its roles count (inline role policies and a role's
``inlinePolicies``); AWS-managed policies attached by ARN grant nothing here, since none of
them is about the services the local runtime checks.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from moto.iam.access_control import IAMPolicy, PermissionResult

if TYPE_CHECKING:
    from local.cloud.capture import Capture

__all__ = ["RolePolicies"]

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


class RolePolicies:
    """The identity policies of every role a stack declares, by role ARN."""

    def __init__(self, documents_by_role_arn: dict[str, list[str]]) -> None:
        self._policies = {
            arn: [IAMPolicy(document) for document in documents]
            for arn, documents in documents_by_role_arn.items()
        }

    @classmethod
    def from_capture(cls, capture: Capture) -> RolePolicies:
        arn_of: dict[str, str] = {}
        documents: dict[str, list[str]] = defaultdict(list)
        for role in capture.of_type(ROLE):
            arn = role.outputs["arn"]
            arn_of[role.id] = arn_of[role.outputs.get("name", role.id)] = arn
            for inline in role.inputs.get("inlinePolicies") or ():
                if inline.get("policy"):
                    documents[arn].append(_document(inline["policy"]))
        for policy in capture.of_type(ROLE_POLICY):
            arn = arn_of.get(str(policy.inputs.get("role", "")))
            if arn is not None:
                documents[arn].append(_document(policy.inputs["policy"]))
        return cls(dict(documents))

    def allows(self, role_arn: str, action: str, resource: str) -> bool:
        """Whether the role's policies allow ``action`` on ``resource`` (no explicit deny)."""
        results = [
            p.is_action_permitted(action, resource) for p in self._policies.get(role_arn, [])
        ]
        if PermissionResult.DENIED in results:
            return False
        return PermissionResult.PERMITTED in results


def _document(policy: Any) -> str:
    return policy if isinstance(policy, str) else json.dumps(policy)

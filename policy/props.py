"""Reading what Pulumi hands a policy: mappings and sequences (proxies, not dicts), and URNs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["as_list", "at_path", "resource_label", "stack_of"]


def as_list(value: Any) -> list[Any]:
    """A policy element that may be one value or a list of them (IAM's ``Action``, ``Resource``)."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [value]
    return list(value)


def at_path(props: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` (``"logConfig.fieldLogLevel"``), or None."""
    value: Any = props
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def stack_of(urn: str) -> str:
    """``urn:pulumi:<stack>::<project>::<type>::<name>`` → ``<stack>``."""
    return urn.split("::", 1)[0].removeprefix("urn:pulumi:")


def resource_label(resource_type: str, name: str) -> str:
    """How violation messages name a resource: its type token and logical name."""
    return f"{resource_type} {name}"

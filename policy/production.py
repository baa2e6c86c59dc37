"""What marks a stack as production, for the checks that hold only there.

A stack is production when its name is in the policy's ``productionStacks`` config (default
``["prod", "production"]``), or when it carries the stack tag ``environment: production``
(``pulumi stack tag set environment production``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "CONFIG_KEY",
    "DEFAULT_PRODUCTION_STACKS",
    "PRODUCTION_CONFIG_SCHEMA",
    "TAG",
    "TAG_VALUE",
    "is_production",
]

DEFAULT_PRODUCTION_STACKS = ("prod", "production")
TAG = "environment"
TAG_VALUE = "production"
CONFIG_KEY = "productionStacks"

PRODUCTION_CONFIG_SCHEMA: Mapping[str, Any] = {
    CONFIG_KEY: {
        "type": "array",
        "items": {"type": "string"},
        "default": list(DEFAULT_PRODUCTION_STACKS),
        "description": "Stack names treated as production (or tag environment=production).",
    }
}


def is_production(stack: str, config: Mapping[str, Any], tags: Mapping[str, str]) -> bool:
    """Whether ``stack`` (with its policy config and stack tags) is marked production."""
    names = config.get(CONFIG_KEY, DEFAULT_PRODUCTION_STACKS)
    return stack in names or tags.get(TAG) == TAG_VALUE

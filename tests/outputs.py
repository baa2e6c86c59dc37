"""Reading recorded inputs in tests: a missing value fails loudly instead of reading as None."""

from __future__ import annotations

from typing import Any


def known(mapping: dict[str, Any], *path: str) -> Any:
    """The value at ``path``, asserted to be present (a missing output reads as None)."""
    value: Any = mapping
    for key in path:
        assert isinstance(value, dict), f"{'.'.join(path)}: {key!r} is under a {value!r}"
        value = value.get(key)
        assert value is not None, f"{'.'.join(path)}: {key!r} is not set in {mapping!r}"
    return value

"""Subscription filters: AppSync's argument filtering and its enhanced filters.

An enhanced filter is ``{"filterGroup": [{"filters": [{"fieldName", "operator", "value"}]}]}``:
an event passes when every filter of at least one group holds (OR across groups, AND within
one). ``fieldName`` may reach into nested objects with dots (``ticket.severity``). A field
the event lacks is null: it fails every operator but ``ne``, ``notContains`` and ``notIn``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "MAX_FILTERS_PER_GROUP",
    "MAX_GROUPS",
    "OPERATORS",
    "FilterError",
    "arguments_match",
    "check_filter",
    "filter_matches",
]

MAX_GROUPS = 10
MAX_FILTERS_PER_GROUP = 5
MAX_IN_VALUES = 5
MAX_CONTAINS_ANY_VALUES = 20
# These limits are those one implementation encodes (unconfirmed in AWS text).


class FilterError(ValueError):
    """A filter AppSync would refuse: unknown operator, wrong value shape, over the limits."""


def _ordered(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def check(field: Any, value: Any) -> bool:
        try:
            return field is not None and compare(field, value)
        except TypeError:
            return False

    return check


def _contains(field: Any, value: Any) -> bool:
    if isinstance(field, str):
        return isinstance(value, str) and value in field
    if isinstance(field, list):
        return value in field
    return False


def _contains_any(field: Any, values: Any) -> bool:
    if isinstance(field, list):
        return any(value in field for value in values)
    return isinstance(field, str) and any(isinstance(v, str) and v in field for v in values)


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda field, value: field == value,
    "ne": lambda field, value: field != value,
    "lt": _ordered(lambda field, value: field < value),
    "le": _ordered(lambda field, value: field <= value),
    "gt": _ordered(lambda field, value: field > value),
    "ge": _ordered(lambda field, value: field >= value),
    "contains": _contains,
    "notContains": lambda field, value: not _contains(field, value),
    "beginsWith": lambda field, value: isinstance(field, str) and field.startswith(value),
    "in": lambda field, values: field in values,
    "notIn": lambda field, values: field not in values,
    "between": _ordered(lambda field, bounds: bounds[0] <= field <= bounds[1]),
    "containsAny": _contains_any,
}


def check_filter(document: Any) -> list[list[dict[str, Any]]]:
    """The groups of a filter document, or :class:`FilterError` saying what is wrong with it."""
    if not isinstance(document, Mapping) or not isinstance(document.get("filterGroup"), list):
        raise FilterError("a subscription filter is {filterGroup: [{filters: [...]}, ...]}")
    groups = document["filterGroup"]
    if len(groups) > MAX_GROUPS:
        raise FilterError(f"a subscription filter may have at most {MAX_GROUPS} filter groups")
    checked = []
    for group in groups:
        filters = group.get("filters") if isinstance(group, Mapping) else None
        if not isinstance(filters, list) or not filters:
            raise FilterError("each filter group holds a non-empty list of filters")
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise FilterError(f"a filter group may hold at most {MAX_FILTERS_PER_GROUP} filters")
        for one in filters:
            _check_one(one)
        checked.append(filters)
    return checked


def _check_one(one: Any) -> None:
    if not isinstance(one, Mapping) or not isinstance(one.get("fieldName"), str):
        raise FilterError("each filter is {fieldName, operator, value}")
    operator, value = one.get("operator"), one.get("value")
    if operator not in OPERATORS:
        raise FilterError(f"unknown subscription filter operator {operator!r}")
    if operator in ("in", "notIn") and not (
        isinstance(value, list) and len(value) <= MAX_IN_VALUES
    ):
        raise FilterError(f"{operator} takes a list of at most {MAX_IN_VALUES} values")
    if operator == "containsAny" and not (
        isinstance(value, list) and len(value) <= MAX_CONTAINS_ANY_VALUES
    ):
        raise FilterError(f"containsAny takes a list of at most {MAX_CONTAINS_ANY_VALUES} values")
    if operator == "between" and not (isinstance(value, list) and len(value) == 2):
        raise FilterError("between takes a list of two values: [low, high]")


def filter_matches(groups: list[list[dict[str, Any]]], event: Mapping[str, Any]) -> bool:
    """Whether ``event`` passes the (checked) filter groups."""
    return any(
        all(OPERATORS[f["operator"]](_field(event, f["fieldName"]), f["value"]) for f in group)
        for group in groups
    )


def arguments_match(arguments: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """AppSync's basic filtering: each argument the subscriber gave (not null) must equal the
    event's top-level field of that name."""
    return all(value is None or _same(event.get(name), value) for name, value in arguments.items())


def _same(field: Any, argument: Any) -> bool:
    # IDs are strings in GraphQL but may be numbers in the event: compare as AppSync renders them.
    if isinstance(field, bool) or isinstance(argument, bool):
        return field == argument
    if isinstance(field, int | float) and isinstance(argument, str):
        return str(field) == argument
    return field == argument


def _field(event: Mapping[str, Any], path: str) -> Any:
    value: Any = event
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value

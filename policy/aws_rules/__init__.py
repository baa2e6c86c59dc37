"""A resource's inputs checked against AWS's own rules before ``pulumi up`` sends them.

Two sources, both published by AWS: botocore's service models (ranges, lengths, enums,
patterns, required members), reached through the mapping in :mod:`.table`, and the rules the
models state only in their documentation, or AWS's pages state, in :mod:`.documented`. Each
message names the resource, the input, the value, the rule it breaks and where the rule is from:

    aws:lambda/function:Function squaring-worker: memorySize 100 is below CreateFunction's
    MemorySize minimum 128 (botocore lambda model)

Values that are unknown during a preview are skipped (they are checked at ``pulumi up``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs
from pulumi_policy.proxy import UnknownValueError

from policy.aws_rules.documented import DOCUMENTED
from policy.aws_rules.model import shape_at, violations
from policy.aws_rules.table import RULES, SKIP, Call, Mapped
from policy.props import resource_label

__all__ = ["CHECKED_TYPES", "check", "validate"]

CHECKED_TYPES = frozenset(RULES) | frozenset(DOCUMENTED)


def check(
    resource_type: str, name: str, props: Mapping[str, Any], today: date | None = None
) -> list[str]:
    """Every AWS rule ``props`` (a resource's inputs) break, one message each."""
    today = today or datetime.now(UTC).date()
    label = resource_label(resource_type, name)
    problems: list[str] = []
    mapped = RULES.get(resource_type)
    for call in mapped.calls if mapped else ():
        problems += [f"{label}: {p} ({call.target.source})" for p in _call(call, mapped, props)]
    for rule in DOCUMENTED.get(resource_type, ()):
        try:
            problems += [f"{label}: {p} ({rule.source})" for p in rule.check(props, today)]
        except UnknownValueError:
            continue
    return problems


def _call(call: Call, mapped: Mapped, props: Mapping[str, Any]) -> Iterator[str]:
    root = call.target.root()
    for prop, member in call.fields.items():
        where = f"{call.target.name}'s {member}"
        try:
            found = list(_values(props, prop))
        except UnknownValueError:
            continue
        top_level = "." not in member and "[]" not in member
        if not found and top_level and not call.only_when_set and call.target.required(member):
            if prop not in mapped.autonamed:
                yield f"{prop} is not set; {where} is required"
            continue
        for label, value in found:
            converted = call.convert.get(prop, _same)
            try:
                value = converted(value)
            except ValueError as error:
                yield f"{label} {value!r} {error}"
                continue
            if value is not SKIP:
                yield from violations(value, shape_at(root, member), label, where)


def _values(props: Any, path: str) -> Iterator[tuple[str, Any]]:
    """``(label, value)`` for each value at ``path``; ``[]`` steps into each list item."""
    head, _, rest = path.partition(".")
    key, items = head.removesuffix("[]"), head.endswith("[]")
    if not isinstance(props, Mapping) or props.get(key) is None:
        return
    value = props[key]
    entries = [(f"{key}[{i}]", item) for i, item in enumerate(value)] if items else [(key, value)]
    for label, entry in entries:
        if not rest:
            yield label, entry
        else:
            yield from ((f"{label}.{sub}", v) for sub, v in _values(entry, rest))


def _same(value: Any) -> Any:
    return value


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    for message in check(args.resource_type, args.name, args.props):
        report_violation(message)
